package gallery.connect.elasticsearch;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;

/**
 * Turns record keys into document ids and record values into single-line document JSON.
 *
 * <p>Every failure is a {@link DataException}: the record is malformed and no retry can fix it.
 */
public final class RecordConverter {

    /** Elasticsearch rejects an _id longer than 512 bytes. */
    static final int MAX_ID_BYTES = 512;

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private RecordConverter() {
    }

    /**
     * The document id for a record key: a string as is, a number in decimal, bytes as UTF-8.
     *
     * @throws DataException for a null, empty or blank key, a key of another type, or one over 512 bytes
     */
    public static String documentId(Object key) {
        String id;
        if (key == null) {
            throw new DataException("record key is null: a document without a stable _id would be duplicated on "
                    + "replay, so the record is rejected");
        } else if (key instanceof String s) {
            id = s;
        } else if (key instanceof byte[] bytes) {
            id = new String(bytes, StandardCharsets.UTF_8);
        } else if (key instanceof ByteBuffer buffer) {
            id = StandardCharsets.UTF_8.decode(buffer.duplicate()).toString();
        } else if (key instanceof Long || key instanceof Integer || key instanceof Short || key instanceof Byte
                || key instanceof java.math.BigInteger) {
            id = key.toString();
        } else {
            throw new DataException("record key must be a string (use StringConverter for keys), got "
                    + key.getClass().getName());
        }
        if (id.isBlank()) {
            throw new DataException("record key is empty: a document without a stable _id would be duplicated on "
                    + "replay, so the record is rejected");
        }
        if (id.getBytes(StandardCharsets.UTF_8).length > MAX_ID_BYTES) {
            throw new DataException("record key is longer than " + MAX_ID_BYTES + " bytes, the Elasticsearch _id "
                    + "limit");
        }
        return id;
    }

    /**
     * The document for a non-null record value, as compact JSON on a single line.
     *
     * <p>Accepted: a {@link Map} (JsonConverter with schemas.enable=false), a {@link Struct}, or a JSON
     * object as a {@link String} or UTF-8 bytes.
     *
     * @throws DataException when the value is not a JSON object or cannot be serialised
     */
    public static String documentJson(Object value) {
        if (value == null) {
            throw new IllegalArgumentException("null value: tombstones are handled by the task");
        }
        try {
            if (value instanceof Map<?, ?> || value instanceof Struct) {
                return MAPPER.writeValueAsString(toPlain(value));
            }
            if (value instanceof String s) {
                return parseObject(s);
            }
            if (value instanceof byte[] bytes) {
                return parseObject(new String(bytes, StandardCharsets.UTF_8));
            }
            if (value instanceof ByteBuffer buffer) {
                return parseObject(StandardCharsets.UTF_8.decode(buffer.duplicate()).toString());
            }
        } catch (JsonProcessingException e) {
            throw new DataException("record value could not be turned into JSON: " + e.getOriginalMessage(), e);
        }
        throw new DataException("record value must be a JSON object (a Map, a Struct or a JSON string), got "
                + value.getClass().getName());
    }

    private static String parseObject(String json) throws JsonProcessingException {
        JsonNode node = Json.readTree(json, "record value is not valid JSON", DataException::new);
        if (node == null || !node.isObject()) {
            throw new DataException("record value must be a JSON object, got "
                    + (node == null ? "nothing" : node.getNodeType().toString().toLowerCase()));
        }
        // Re-serialise: the bulk format needs the document on one line.
        return MAPPER.writeValueAsString(node);
    }

    /** Structs to maps (recursively), map keys to strings, ByteBuffers to byte arrays (base64 in JSON). */
    static Object toPlain(Object value) {
        if (value instanceof Struct struct) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Field field : struct.schema().fields()) {
                out.put(field.name(), toPlain(struct.get(field)));
            }
            return out;
        }
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                out.put(String.valueOf(e.getKey()), toPlain(e.getValue()));
            }
            return out;
        }
        if (value instanceof Collection<?> collection) {
            List<Object> out = new ArrayList<>(collection.size());
            for (Object item : collection) {
                out.add(toPlain(item));
            }
            return out;
        }
        if (value instanceof ByteBuffer buffer) {
            ByteBuffer copy = buffer.duplicate();
            byte[] bytes = new byte[copy.remaining()];
            copy.get(bytes);
            return bytes;
        }
        return value;
    }
}
