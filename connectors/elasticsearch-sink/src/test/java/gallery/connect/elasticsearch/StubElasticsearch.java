package gallery.connect.elasticsearch;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/** A scripted stand-in for Elasticsearch on a loopback port, for the task's error-path tests. */
final class StubElasticsearch implements AutoCloseable {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    record Request(String method, String path, String body, String authorization) {
        /** The action lines of a bulk body as (op, id) strings like "index:a". */
        List<String> actions() {
            List<String> out = new ArrayList<>();
            String[] lines = body.split("\n");
            for (int i = 0; i < lines.length; i++) {
                try {
                    JsonNode node = MAPPER.readTree(lines[i]);
                    String op = node.fieldNames().next();
                    out.add(op + ":" + node.get(op).path("_id").asText());
                    if (op.equals("index")) {
                        i++;
                    }
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
            return out;
        }
    }

    record Response(int status, String body) {
    }

    private final HttpServer server;
    final List<Request> requests = new CopyOnWriteArrayList<>();
    private final Deque<Function<Request, Response>> bulkScript = new ArrayDeque<>();
    volatile int headStatus = 200;

    StubElasticsearch() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** The next bulk requests get these answers, in order; after that every item succeeds. */
    synchronized StubElasticsearch thenBulk(Function<Request, Response> response) {
        bulkScript.addLast(response);
        return this;
    }

    synchronized StubElasticsearch thenBulk(int status, String body) {
        return thenBulk(r -> new Response(status, body));
    }

    List<Request> bulkRequests() {
        return requests.stream().filter(r -> r.path().equals("/_bulk")).toList();
    }

    /** A 200 bulk response: items per action, with the given per-id status and error type (others succeed). */
    static Response itemsResponse(Request request, java.util.Map<String, Integer> statusById,
                                  java.util.Map<String, String> errorTypeById) {
        StringBuilder sb = new StringBuilder("{\"took\":1,\"errors\":true,\"items\":[");
        boolean first = true;
        for (String action : request.actions()) {
            String op = action.substring(0, action.indexOf(':'));
            String id = action.substring(action.indexOf(':') + 1);
            int status = statusById.getOrDefault(id, op.equals("index") ? 201 : 200);
            sb.append(first ? "" : ",").append("{\"").append(op).append("\":{\"_index\":\"i\",\"_id\":\"")
                    .append(id).append("\",\"status\":").append(status);
            String type = errorTypeById.get(id);
            if (type != null) {
                sb.append(",\"error\":{\"type\":\"").append(type).append("\",\"reason\":\"stub ").append(type)
                        .append("\"}");
            } else {
                sb.append(",\"result\":\"created\"");
            }
            sb.append("}}");
            first = false;
        }
        return new Response(200, sb.append("]}").toString());
    }

    private void handle(HttpExchange exchange) throws IOException {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        Request request = new Request(exchange.getRequestMethod(), exchange.getRequestURI().getPath(), body,
                exchange.getRequestHeaders().getFirst("Authorization"));
        requests.add(request);
        Response response;
        if (request.method().equals("HEAD")) {
            exchange.sendResponseHeaders(headStatus, -1);
            exchange.close();
            return;
        } else if (request.path().equals("/_bulk")) {
            Function<Request, Response> scripted;
            synchronized (this) {
                scripted = bulkScript.pollFirst();
            }
            response = scripted != null ? scripted.apply(request)
                    : itemsResponse(request, java.util.Map.of(), java.util.Map.of());
        } else {
            response = new Response(404, "{}");
        }
        byte[] bytes = response.body().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(response.status(), bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
        exchange.close();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
