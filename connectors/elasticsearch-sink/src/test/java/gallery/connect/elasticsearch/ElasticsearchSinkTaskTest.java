package gallery.connect.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The task against a scripted HTTP stub: retries, failure classes, malformed handling. */
class ElasticsearchSinkTaskTest {

    private StubElasticsearch es;
    private ElasticsearchSinkTask task;
    private TestContexts.Context context;
    private long offset;

    @BeforeEach
    void setUp() throws IOException {
        es = new StubElasticsearch();
    }

    @AfterEach
    void tearDown() {
        if (task != null) {
            task.stop();
        }
        es.close();
    }

    private Map<String, String> props(String... overrides) {
        Map<String, String> props = new HashMap<>();
        props.put("connection.url", es.url());
        props.put("index", "sinktest-stub");
        props.put("max.retries", "3");
        props.put("retry.backoff.ms", "1");
        props.put("retry.backoff.max.ms", "5");
        for (int i = 0; i < overrides.length; i += 2) {
            props.put(overrides[i], overrides[i + 1]);
        }
        return props;
    }

    private void start(Map<String, String> props, boolean withReporter) {
        context = withReporter ? TestContexts.withReporter(props) : TestContexts.withoutReporter(props);
        task = new ElasticsearchSinkTask();
        task.initialize(context.proxy);
        task.start(props);
    }

    private SinkRecord record(Object key, Object value) {
        return new SinkRecord("paintings.vectors", 0, null, key, null, value, offset++);
    }

    private static Map<String, Object> doc(int v) {
        return Map.of("title", "t" + v, "vector", List.of(v, v, v, v));
    }

    @Test
    void sendsLastActionPerKeyInOneBulkRequest() {
        start(props("connection.username", "elastic", "connection.password", "pw"), true);
        task.put(List.of(record("a", doc(1)), record("b", doc(1)), record("a", doc(2)), record("b", null)));
        List<StubElasticsearch.Request> bulks = es.bulkRequests();
        assertEquals(1, bulks.size());
        assertEquals(List.of("index:a", "delete:b"), bulks.get(0).actions());
        assertTrue(bulks.get(0).body().contains("\"t2\""));
        assertFalse(bulks.get(0).body().contains("\"t1\""));
        assertNotNull(bulks.get(0).authorization());
        assertTrue(bulks.get(0).authorization().startsWith("Basic "));
        assertEquals("HEAD", es.requests.get(0).method());
        assertEquals("/sinktest-stub", es.requests.get(0).path());
        assertTrue(context.reported.isEmpty());
    }

    @Test
    void retriesWholeRequestOnServerErrorAndTooManyRequests() {
        es.thenBulk(503, "{\"error\":{\"type\":\"unavailable\",\"reason\":\"down\"},\"status\":503}")
                .thenBulk(429, "{\"error\":{\"type\":\"es_rejected_execution_exception\",\"reason\":\"busy\"}}");
        start(props(), true);
        task.put(List.of(record("a", doc(1))));
        assertEquals(3, es.bulkRequests().size());
        assertEquals(-1, context.timeout.get());
    }

    @Test
    void givesUpWithRetriableExceptionWhenElasticsearchStaysUnavailable() {
        for (int i = 0; i < 10; i++) {
            es.thenBulk(503, "{}");
        }
        start(props("max.retries", "2"), true);
        RetriableException e = assertThrows(RetriableException.class, () -> task.put(List.of(record("a", doc(1)))));
        assertTrue(e.getMessage().contains("HTTP 503"), e.getMessage());
        assertEquals(3, es.bulkRequests().size());
        assertTrue(context.timeout.get() > 0);
    }

    @Test
    void connectionRefusedIsRetriable() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        start(props("connection.url", "http://127.0.0.1:" + closedPort, "max.retries", "1"), true);
        assertThrows(RetriableException.class, () -> task.put(List.of(record("a", doc(1)))));
        assertTrue(context.timeout.get() > 0);
    }

    @Test
    void failsOverToTheNextUrl() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        start(props("connection.url", "http://127.0.0.1:" + closedPort + "," + es.url()), true);
        task.put(List.of(record("a", doc(1))));
        assertEquals(1, es.bulkRequests().size());
    }

    @Test
    void retriesOnlyTheItemsRejectedWith429Or5xx() {
        es.thenBulk(r -> StubElasticsearch.itemsResponse(r, Map.of("b", 429, "c", 503),
                Map.of("b", "es_rejected_execution_exception", "c", "unavailable_shards_exception")));
        start(props(), true);
        task.put(List.of(record("a", doc(1)), record("b", doc(1)), record("c", doc(1))));
        List<StubElasticsearch.Request> bulks = es.bulkRequests();
        assertEquals(2, bulks.size());
        assertEquals(List.of("index:a", "index:b", "index:c"), bulks.get(0).actions());
        assertEquals(List.of("index:b", "index:c"), bulks.get(1).actions());
    }

    @Test
    void rejectedDocumentIsReportedAndOthersAreWritten() {
        es.thenBulk(r -> StubElasticsearch.itemsResponse(r, Map.of("bad", 400),
                Map.of("bad", "mapper_parsing_exception")));
        start(props(), true);
        SinkRecord bad = record("bad", doc(9));
        task.put(List.of(record("a", doc(1)), bad, record("c", doc(1))));
        assertEquals(1, es.bulkRequests().size());
        assertEquals(1, context.reported.size());
        assertEquals(bad, context.reported.get(0).record());
        assertTrue(context.reported.get(0).error().getMessage().contains("mapper_parsing_exception"));
    }

    @Test
    void rejectedDocumentFailsTheTaskWhenConfigured() {
        es.thenBulk(r -> StubElasticsearch.itemsResponse(r, Map.of("bad", 400),
                Map.of("bad", "mapper_parsing_exception")));
        start(props("behavior.on.malformed.documents", "fail"), true);
        ConnectException e = assertThrows(ConnectException.class, () -> task.put(List.of(record("bad", doc(1)))));
        assertFalse(e instanceof RetriableException);
    }

    @Test
    void rejectedDocumentIsSkippedWithoutReporter() {
        es.thenBulk(r -> StubElasticsearch.itemsResponse(r, Map.of("bad", 400),
                Map.of("bad", "mapper_parsing_exception")));
        start(props(), false);
        task.put(List.of(record("bad", doc(1)), record("ok", doc(1))));
        assertEquals(1, es.bulkRequests().size());
    }

    @Test
    void nullOrEmptyKeyIsReportedNotSent() {
        start(props(), true);
        task.put(List.of(record(null, doc(1)), record("", doc(1)), record("ok", doc(1)), record("x", "[1,2]")));
        assertEquals(3, context.reported.size());
        assertInstanceOf(DataException.class, context.reported.get(0).error());
        assertEquals(List.of("index:ok"), es.bulkRequests().get(0).actions());
    }

    @Test
    void tombstonesCanBeIgnoredOrFail() {
        start(props("behavior.on.null.values", "ignore"), true);
        task.put(List.of(record("a", null)));
        assertEquals(0, es.bulkRequests().size());
        task.stop();

        start(props("behavior.on.null.values", "fail"), true);
        assertThrows(DataException.class, () -> task.put(List.of(record("a", null))));
    }

    @Test
    void unauthorizedFailsTheTask() {
        es.thenBulk(401, "{\"error\":{\"type\":\"security_exception\",\"reason\":\"missing authentication "
                + "credentials\"},\"status\":401}");
        start(props(), true);
        ConnectException e = assertThrows(ConnectException.class, () -> task.put(List.of(record("a", doc(1)))));
        assertFalse(e instanceof RetriableException);
        assertTrue(e.getMessage().contains("credentials"), e.getMessage());
        assertEquals(1, es.bulkRequests().size());
    }

    @Test
    void missingIndexFailsTheTask() {
        es.headStatus = 404;
        start(props(), true);
        ConnectException e = assertThrows(ConnectException.class, () -> task.put(List.of(record("a", doc(1)))));
        assertFalse(e instanceof RetriableException);
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        assertEquals(0, es.bulkRequests().size());
    }

    @Test
    void itemLevelIndexNotFoundFailsTheTask() {
        es.thenBulk(r -> StubElasticsearch.itemsResponse(r, Map.of("a", 404),
                Map.of("a", "index_not_found_exception")));
        start(props(), true);
        ConnectException e = assertThrows(ConnectException.class, () -> task.put(List.of(record("a", doc(1)))));
        assertFalse(e instanceof RetriableException);
    }

    @Test
    void largeBatchesAreSplitByBatchSize() {
        start(props("batch.size", "2"), true);
        task.put(List.of(record("1", doc(1)), record("2", doc(1)), record("3", doc(1)), record("4", doc(1)),
                record("5", doc(1))));
        assertEquals(3, es.bulkRequests().size());
    }

    @Test
    void redeliveredBatchDoesNotReportTheSameRecordTwice() {
        es.thenBulk(r -> StubElasticsearch.itemsResponse(r, Map.of("bad", 400, "busy", 503),
                Map.of("bad", "mapper_parsing_exception", "busy", "unavailable_shards_exception")));
        start(props("max.retries", "0"), true);
        List<SinkRecord> batch = List.of(record("bad", doc(1)), record("busy", doc(1)));
        assertThrows(RetriableException.class, () -> task.put(batch));
        es.thenBulk(r -> StubElasticsearch.itemsResponse(r, Map.of("bad", 400),
                Map.of("bad", "mapper_parsing_exception")));
        task.put(batch); // Connect redelivers the same records
        assertEquals(1, context.reported.size());
        assertEquals(2, es.bulkRequests().size());
    }
}
