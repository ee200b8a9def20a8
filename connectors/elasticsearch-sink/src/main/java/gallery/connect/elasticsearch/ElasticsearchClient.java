package gallery.connect.elasticsearch;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The few Elasticsearch HTTP calls the sink needs, over the JDK's {@link HttpClient}.
 *
 * <p>Requests stay on one configured URL until a transport failure (connection refused, timeout) moves them
 * to the next one, so a retry after such a failure goes to another node.
 * Transport failures surface as {@link IOException} (connection refused, {@code HttpTimeoutException}, ...).
 */
final class ElasticsearchClient {

    /** Status and body of one HTTP response. */
    record Response(int status, String body) {
        boolean isSuccess() {
            return status >= 200 && status < 300;
        }
    }

    private final List<String> baseUrls;
    private final String authorization;
    private final Duration readTimeout;
    private final HttpClient http;
    /** Index of the node in use; requests stay on it until a transport failure moves them to the next one. */
    private final AtomicInteger current = new AtomicInteger();

    ElasticsearchClient(List<String> baseUrls, String username, String password, Duration connectTimeout,
                        Duration readTimeout) {
        if (baseUrls.isEmpty()) {
            throw new IllegalArgumentException("no Elasticsearch URL");
        }
        this.baseUrls = List.copyOf(baseUrls);
        this.authorization = username == null ? null : "Basic " + Base64.getEncoder().encodeToString(
                (username + ":" + (password == null ? "" : password)).getBytes(StandardCharsets.UTF_8));
        this.readTimeout = readTimeout;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(connectTimeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /** POST /_bulk with an NDJSON body. */
    Response bulk(String ndjson) throws IOException, InterruptedException {
        HttpRequest.Builder request = request("/_bulk")
                .header("Content-Type", "application/x-ndjson")
                .POST(HttpRequest.BodyPublishers.ofString(ndjson, StandardCharsets.UTF_8));
        return send(request);
    }

    /** HEAD /{index}: 200 if the index or alias exists, 404 if not. */
    Response indexExists(String index) throws IOException, InterruptedException {
        String path = "/" + URLEncoder.encode(index, StandardCharsets.UTF_8).replace("+", "%20");
        return send(request(path).method("HEAD", HttpRequest.BodyPublishers.noBody()));
    }

    /** The URL the next request will go to (for log messages). */
    String nextUrl() {
        return baseUrls.get(Math.floorMod(current.get(), baseUrls.size()));
    }

    private HttpRequest.Builder request(String path) {
        String base = nextUrl();
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(base + path))
                .timeout(readTimeout)
                .header("Accept", "application/json");
        if (authorization != null) {
            builder.header("Authorization", authorization);
        }
        return builder;
    }

    private Response send(HttpRequest.Builder request) throws IOException, InterruptedException {
        int node = current.get();
        HttpRequest built = request.build();
        try {
            HttpResponse<String> response = http.send(built, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            return new Response(response.statusCode(), response.body());
        } catch (IOException e) {
            if (baseUrls.size() > 1) {
                current.compareAndSet(node, node + 1); // fail over: the next attempt goes to the next node
            }
            throw new IOException(built.method() + " " + built.uri() + " failed: " + describe(e), e);
        }
    }

    /** "HttpConnectTimeoutException: HTTP connect timed out", or the class name when nothing says more. */
    static String describe(Throwable e) {
        String message = null;
        for (Throwable t = e; t != null && message == null; t = t.getCause()) {
            message = t.getMessage();
        }
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }
}
