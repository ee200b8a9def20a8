package gallery.connect.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * End to end against a real Elasticsearch (system property es.test.url, default http://127.0.0.1:19200);
 * skipped when nothing answers there. Works only in a throw-away index named sinktest-*, deleted afterwards.
 */
class ElasticsearchLiveTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    private static final String URL = System.getProperty("es.test.url", "http://127.0.0.1:19200");
    private static final String INDEX = "sinktest-" + UUID.randomUUID().toString().substring(0, 8);
    private static boolean created;

    private long offset;

    @BeforeAll
    static void createIndex() throws Exception {
        boolean reachable;
        try {
            reachable = call("GET", "/_cluster/health", null).statusCode() == 200;
        } catch (IOException e) {
            reachable = false;
        }
        assumeTrue(reachable, "no Elasticsearch at " + URL);
        String mapping = """
                {"settings":{"number_of_shards":1,"number_of_replicas":0},
                 "mappings":{"dynamic":"strict","properties":{
                   "title":{"type":"keyword"},
                   "vector":{"type":"dense_vector","dims":4,"index":true,"similarity":"cosine"}}}}""";
        HttpResponse<String> response = call("PUT", "/" + INDEX, mapping);
        assertEquals(200, response.statusCode(), response.body());
        created = true;
    }

    @AfterAll
    static void deleteIndex() throws Exception {
        if (created) {
            call("DELETE", "/" + INDEX, null);
        }
    }

    private static HttpResponse<String> call(String method, String path, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(URL + path)).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private SinkRecord record(String key, Object value) {
        return new SinkRecord("paintings.vectors", 0, null, key, null, value, offset++);
    }

    private static Map<String, Object> doc(String title, double... vector) {
        List<Double> v = new ArrayList<>();
        for (double d : vector) {
            v.add(d);
        }
        return Map.of("title", title, "vector", v);
    }

    private static long count() throws Exception {
        call("POST", "/" + INDEX + "/_refresh", null);
        return MAPPER.readTree(call("GET", "/" + INDEX + "/_count", null).body()).path("count").asLong();
    }

    private static JsonNode source(String id) throws Exception {
        HttpResponse<String> response = call("GET", "/" + INDEX + "/_doc/" + id, null);
        JsonNode node = MAPPER.readTree(response.body());
        return node.path("found").asBoolean() ? node.path("_source") : null;
    }

    @Test
    void indexesOverwritesDeletesAndReportsWrongDimensions() throws Exception {
        Map<String, String> props = new HashMap<>();
        props.put("connection.url", URL);
        props.put("index", INDEX);
        props.put("max.retries", "2");
        TestContexts.Context context = TestContexts.withReporter(props);
        ElasticsearchSinkTask task = new ElasticsearchSinkTask();
        task.initialize(context.proxy);
        task.start(props);
        try {
            String a = "a".repeat(64);
            String b = "b".repeat(64);
            String c = "c".repeat(64);
            List<SinkRecord> first = List.of(
                    record(a, doc("one", 1, 0, 0, 0)),
                    record(b, doc("two", 0, 1, 0, 0)),
                    record(c, "{\"title\":\"three\",\"vector\":[0,0,1,0]}"));
            task.put(first);
            assertEquals(3, count());
            task.put(first); // a replay overwrites, it does not duplicate
            assertEquals(3, count());

            SinkRecord wrongDims = record("d".repeat(64), doc("bad", 1, 2, 3));
            task.put(List.of(
                    record(a, doc("one-v2", 0, 0, 0, 1)),
                    record(b, null),
                    wrongDims,
                    record("e".repeat(64), doc("five", 1, 1, 0, 0)),
                    record("never-existed", null)));

            assertEquals(3, count()); // a, c, e
            assertEquals("one-v2", source(a).path("title").asText());
            assertEquals(null, source(b));
            assertEquals("three", source(c).path("title").asText());
            assertEquals("five", source("e".repeat(64)).path("title").asText());
            assertEquals(null, source("d".repeat(64)));

            assertEquals(1, context.reported.size());
            assertEquals(wrongDims, context.reported.get(0).record());
            String message = context.reported.get(0).error().getMessage();
            assertTrue(message.contains("dimensions") && message.contains("status 400"), message);
        } finally {
            task.stop();
        }
    }
}
