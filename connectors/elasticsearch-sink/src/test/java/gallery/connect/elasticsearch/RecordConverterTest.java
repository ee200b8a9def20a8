package gallery.connect.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;
import org.junit.jupiter.api.Test;

class RecordConverterTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void stringKeysAreIds() {
        String sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assertEquals(sha, RecordConverter.documentId(sha));
        assertEquals("42", RecordConverter.documentId(42L));
        assertEquals("k", RecordConverter.documentId("k".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void nullEmptyOrStructuredKeysAreMalformed() {
        assertThrows(DataException.class, () -> RecordConverter.documentId(null));
        assertThrows(DataException.class, () -> RecordConverter.documentId(""));
        assertThrows(DataException.class, () -> RecordConverter.documentId("   "));
        assertThrows(DataException.class, () -> RecordConverter.documentId(Map.of("id", "x")));
        assertThrows(DataException.class, () -> RecordConverter.documentId("x".repeat(513)));
    }

    @Test
    void mapValueBecomesJson() throws Exception {
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("title", "Starry Night");
        value.put("vector", List.of(0.1, 0.2, 0.3));
        value.put("meta", Map.of("year", 1889));
        JsonNode doc = MAPPER.readTree(RecordConverter.documentJson(value));
        assertEquals("Starry Night", doc.path("title").asText());
        assertEquals(3, doc.path("vector").size());
        assertEquals(0.2, doc.path("vector").get(1).asDouble(), 1e-9);
        assertEquals(1889, doc.path("meta").path("year").asInt());
    }

    @Test
    void structValueBecomesJson() throws Exception {
        Schema inner = SchemaBuilder.struct().field("year", Schema.INT32_SCHEMA).build();
        Schema schema = SchemaBuilder.struct()
                .field("title", Schema.STRING_SCHEMA)
                .field("vector", SchemaBuilder.array(Schema.FLOAT32_SCHEMA).build())
                .field("meta", inner)
                .field("note", Schema.OPTIONAL_STRING_SCHEMA)
                .build();
        Struct struct = new Struct(schema)
                .put("title", "Irises")
                .put("vector", List.of(1.0f, 2.0f))
                .put("meta", new Struct(inner).put("year", 1889));
        JsonNode doc = MAPPER.readTree(RecordConverter.documentJson(struct));
        assertEquals("Irises", doc.path("title").asText());
        assertEquals(2.0, doc.path("vector").get(1).asDouble(), 1e-9);
        assertEquals(1889, doc.path("meta").path("year").asInt());
        assertEquals(true, doc.path("note").isNull());
    }

    @Test
    void jsonStringIsCompactedToOneLine() {
        String pretty = "{\n  \"title\" : \"x\",\n  \"vector\" : [ 1, 2 ]\n}";
        assertEquals("{\"title\":\"x\",\"vector\":[1,2]}", RecordConverter.documentJson(pretty));
        assertEquals("{\"a\":1}", RecordConverter.documentJson("{\"a\":1}".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void nonObjectValuesAreMalformed() {
        assertThrows(DataException.class, () -> RecordConverter.documentJson("[1,2]"));
        assertThrows(DataException.class, () -> RecordConverter.documentJson("not json"));
        assertThrows(DataException.class, () -> RecordConverter.documentJson("\"text\""));
        assertThrows(DataException.class, () -> RecordConverter.documentJson(42));
        assertThrows(DataException.class, () -> RecordConverter.documentJson(List.of(1)));
    }
}
