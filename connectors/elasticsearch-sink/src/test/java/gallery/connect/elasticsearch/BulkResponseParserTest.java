package gallery.connect.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class BulkResponseParserTest {

    private static final List<BulkAction> SENT = List.of(
            BulkAction.index("ok-created", "{}", null),
            BulkAction.index("ok-updated", "{}", null),
            BulkAction.delete("gone", null),
            BulkAction.index("busy", "{}", null),
            BulkAction.index("unavailable", "{}", null),
            BulkAction.index("bad-dims", "{}", null),
            BulkAction.delete("deleted", null));

    private static final String MIXED = """
            {"took":5,"errors":true,"items":[
              {"index":{"_index":"p","_id":"ok-created","_version":1,"result":"created","status":201}},
              {"index":{"_index":"p","_id":"ok-updated","_version":2,"result":"updated","status":200}},
              {"delete":{"_index":"p","_id":"gone","_version":1,"result":"not_found","status":404}},
              {"index":{"_index":"p","_id":"busy","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}}},
              {"index":{"_index":"p","_id":"unavailable","status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}},
              {"index":{"_index":"p","_id":"bad-dims","status":400,"error":{"type":"document_parsing_exception","reason":"[1:12] failed to parse","caused_by":{"type":"illegal_argument_exception","reason":"The [dense_vector] field [vector] in doc [document with id 'bad-dims'] has a different number of dimensions [3] than defined in the mapping [4]"}}}},
              {"delete":{"_index":"p","_id":"deleted","_version":3,"result":"deleted","status":200}}
            ]}""";

    @Test
    void sortsItemsIntoOkRetryableAndMalformed() {
        BulkOutcome outcome = BulkResponseParser.parse(MIXED, SENT);
        assertEquals(4, outcome.succeeded());
        assertEquals(List.of("busy", "unavailable"),
                outcome.retryable().stream().map(f -> f.action().id()).toList());
        assertEquals(429, outcome.retryable().get(0).status());
        assertEquals(1, outcome.malformed().size());
        BulkOutcome.ItemFailure bad = outcome.malformed().get(0);
        assertEquals("bad-dims", bad.action().id());
        assertEquals(400, bad.status());
        assertEquals("document_parsing_exception", bad.type());
        assertTrue(bad.describe().contains("different number of dimensions [3]"), bad.describe());
        assertTrue(bad.describe().contains("illegal_argument_exception"), bad.describe());
        assertTrue(outcome.fatal().isEmpty());
    }

    @Test
    void repeatedCauseIsNotDuplicated() throws Exception {
        JsonNode error = new ObjectMapper().readTree("""
                {"type":"document_parsing_exception","reason":"[1:37] failed to parse: dims [3] vs [4]",
                 "caused_by":{"type":"illegal_argument_exception","reason":"dims [3] vs [4]"}}""");
        assertEquals("[1:37] failed to parse: dims [3] vs [4]", BulkResponseParser.reason(error));
    }

    @Test
    void noErrorsMeansAllSucceeded() {
        String body = """
                {"took":1,"errors":false,"items":[
                  {"index":{"_id":"a","status":201}},{"delete":{"_id":"b","status":404,"result":"not_found"}}]}""";
        BulkOutcome outcome = BulkResponseParser.parse(body,
                List.of(BulkAction.index("a", "{}", null), BulkAction.delete("b", null)));
        assertTrue(outcome.allSucceeded());
        assertEquals(2, outcome.succeeded());
    }

    @Test
    void missingIndexAndSecurityErrorsAreFatal() {
        String body = """
                {"errors":true,"items":[
                  {"index":{"_id":"a","status":404,"error":{"type":"index_not_found_exception","reason":"no such index [p]"}}},
                  {"index":{"_id":"b","status":403,"error":{"type":"security_exception","reason":"action unauthorized"}}},
                  {"delete":{"_id":"c","status":404,"error":{"type":"index_not_found_exception","reason":"no such index [p]"}}}]}""";
        BulkOutcome outcome = BulkResponseParser.parse(body, List.of(BulkAction.index("a", "{}", null),
                BulkAction.index("b", "{}", null), BulkAction.delete("c", null)));
        assertEquals(3, outcome.fatal().size());
        assertEquals(0, outcome.succeeded());
    }

    @Test
    void otherClientErrorsAreMalformed() {
        String body = """
                {"errors":true,"items":[
                  {"index":{"_id":"a","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [year]"}}},
                  {"index":{"_id":"b","status":409,"error":{"type":"version_conflict_engine_exception","reason":"conflict"}}}]}""";
        BulkOutcome outcome = BulkResponseParser.parse(body,
                List.of(BulkAction.index("a", "{}", null), BulkAction.index("b", "{}", null)));
        assertEquals(2, outcome.malformed().size());
        assertEquals("mapper_parsing_exception", outcome.malformed().get(0).type());
    }

    @Test
    void itemCountMismatchIsRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> BulkResponseParser.parse("{\"errors\":false,\"items\":[]}", SENT));
        assertThrows(IllegalArgumentException.class, () -> BulkResponseParser.parse("<html>", SENT));
        assertThrows(IllegalArgumentException.class, () -> BulkResponseParser.parse("{\"took\":1}", SENT));
    }

    @Test
    void describesErrorBodies() {
        String body = "{\"error\":{\"root_cause\":[],\"type\":\"security_exception\",\"reason\":\"missing authentication "
                + "credentials\"},\"status\":401}";
        assertEquals("security_exception: missing authentication credentials",
                BulkResponseParser.describeErrorBody(body));
        assertEquals("security_exception", BulkResponseParser.errorType(body));
        assertEquals("Bad Gateway", BulkResponseParser.describeErrorBody("Bad Gateway"));
        assertEquals("(empty body)", BulkResponseParser.describeErrorBody(""));
    }
}
