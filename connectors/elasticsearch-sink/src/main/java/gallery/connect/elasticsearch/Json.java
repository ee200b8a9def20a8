package gallery.connect.elasticsearch;

import java.util.function.BiFunction;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Parsing of JSON text whose syntax errors each caller reports in its own exception type. */
final class Json {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    /**
     * The tree of {@code text}.
     *
     * @param notJson what is wrong when the text does not parse, e.g. "record value is not valid JSON"; the parser's
     *                message is appended after a colon
     * @param error   builds the exception to throw from that message and the parse error, e.g.
     *                {@code DataException::new}
     */
    static JsonNode readTree(String text, String notJson,
            BiFunction<String, Throwable, ? extends RuntimeException> error) {
        try {
            return MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw error.apply(notJson + ": " + e.getOriginalMessage(), e);
        }
    }
}
