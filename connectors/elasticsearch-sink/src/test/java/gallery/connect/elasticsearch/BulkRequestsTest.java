package gallery.connect.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class BulkRequestsTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void keepsTheLastActionPerIdInOrderOfLastOccurrence() {
        List<BulkAction> actions = List.of(
                BulkAction.index("a", "{\"v\":1}", null),
                BulkAction.index("b", "{\"v\":1}", null),
                BulkAction.index("a", "{\"v\":2}", null),
                BulkAction.index("c", "{\"v\":1}", null),
                BulkAction.delete("b", null),
                BulkAction.index("c", "{\"v\":2}", null));
        List<BulkAction> out = BulkRequests.lastActionPerId(actions);
        assertEquals(List.of(
                BulkAction.index("a", "{\"v\":2}", null),
                BulkAction.delete("b", null),
                BulkAction.index("c", "{\"v\":2}", null)), out);
    }

    @Test
    void deleteThenIndexKeepsTheIndex() {
        List<BulkAction> out = BulkRequests.lastActionPerId(List.of(
                BulkAction.delete("a", null), BulkAction.index("a", "{}", null)));
        assertEquals(List.of(BulkAction.index("a", "{}", null)), out);
    }

    @Test
    void bodyHasIndexLinePlusDocumentAndBareDeleteLine() throws Exception {
        String body = BulkRequests.body("paintings", List.of(
                BulkAction.index("abc", "{\"title\":\"x\"}", null),
                BulkAction.delete("def", null)));
        assertTrue(body.endsWith("\n"));
        String[] lines = body.split("\n", -1);
        assertEquals(4, lines.length); // 3 lines + empty string after the final newline
        JsonNode first = MAPPER.readTree(lines[0]);
        assertEquals("paintings", first.path("index").path("_index").asText());
        assertEquals("abc", first.path("index").path("_id").asText());
        assertEquals("{\"title\":\"x\"}", lines[1]);
        JsonNode third = MAPPER.readTree(lines[2]);
        assertEquals("def", third.path("delete").path("_id").asText());
        assertEquals("paintings", third.path("delete").path("_index").asText());
        assertEquals("", lines[3]);
    }

    @Test
    void idIsJsonEscaped() throws Exception {
        String body = BulkRequests.body("i", List.of(BulkAction.delete("we\"ird\\id", null)));
        assertEquals("we\"ird\\id", MAPPER.readTree(body.trim()).path("delete").path("_id").asText());
    }

    @Test
    void refusesMultiLineDocuments() {
        assertThrows(IllegalArgumentException.class,
                () -> BulkRequests.body("i", List.of(BulkAction.index("a", "{\n}", null))));
    }

    @Test
    void chunksBySize() {
        List<BulkAction> actions = List.of(BulkAction.delete("1", null), BulkAction.delete("2", null),
                BulkAction.delete("3", null), BulkAction.delete("4", null), BulkAction.delete("5", null));
        List<List<BulkAction>> chunks = BulkRequests.chunks(actions, 2);
        assertEquals(3, chunks.size());
        assertEquals(2, chunks.get(0).size());
        assertEquals("5", chunks.get(2).get(0).id());
        assertEquals(1, BulkRequests.chunks(actions, 500).size());
        assertEquals(0, BulkRequests.chunks(List.of(), 500).size());
    }
}
