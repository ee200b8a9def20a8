package gallery.connect.elasticsearch;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Sorts the items of a successful (HTTP 2xx) _bulk response; pure, no I/O. */
public final class BulkResponseParser {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** Item error types that mean every write will fail the same way: stop the task instead of skipping. */
    static final Set<String> FATAL_TYPES = Set.of(
            "index_not_found_exception",
            "index_closed_exception",
            "security_exception",
            "invalid_index_name_exception");

    private BulkResponseParser() {
    }

    /**
     * @param responseBody the JSON body of a 2xx _bulk response
     * @param sent         the actions of the request, in request order (items come back in the same order)
     * @throws IllegalArgumentException if the body is not a bulk response for {@code sent}
     */
    public static BulkOutcome parse(String responseBody, List<BulkAction> sent) {
        JsonNode root = Json.readTree(responseBody, "bulk response is not JSON", IllegalArgumentException::new);
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("bulk response is not a JSON object");
        }
        JsonNode items = root.get("items");
        if (items == null || !items.isArray()) {
            throw new IllegalArgumentException("bulk response has no items array");
        }
        if (items.size() != sent.size()) {
            throw new IllegalArgumentException("bulk response has " + items.size() + " items for " + sent.size()
                    + " actions");
        }
        JsonNode errors = root.get("errors");
        if (errors != null && errors.isBoolean() && !errors.booleanValue()) {
            return new BulkOutcome(sent.size(), List.of(), List.of(), List.of());
        }

        int succeeded = 0;
        List<BulkOutcome.ItemFailure> retryable = new ArrayList<>();
        List<BulkOutcome.ItemFailure> malformed = new ArrayList<>();
        List<BulkOutcome.ItemFailure> fatal = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            BulkAction action = sent.get(i);
            JsonNode result = singleValue(items.get(i));
            int status = result.path("status").asInt(0);
            JsonNode error = result.get("error");
            boolean hasError = error != null && !error.isNull();

            if (!hasError && status >= 200 && status < 300) {
                succeeded++;
                continue;
            }
            if (!hasError && status == 404 && action.op() == BulkAction.Op.DELETE) {
                succeeded++; // result "not_found": the document is already gone, which is what we wanted
                continue;
            }
            String type = hasError ? text(error, "type") : null;
            String reason = hasError ? reason(error) : null;
            BulkOutcome.ItemFailure failure = new BulkOutcome.ItemFailure(action, status, type, reason);
            if (status == 401 || status == 403 || (type != null && FATAL_TYPES.contains(type))) {
                fatal.add(failure);
            } else if (status == 429 || status >= 500 || status == 0) {
                retryable.add(failure);
            } else {
                malformed.add(failure);
            }
        }
        return new BulkOutcome(succeeded, retryable, malformed, fatal);
    }

    /** {"index": {...}} or {"delete": {...}}: the inner object. */
    private static JsonNode singleValue(JsonNode item) {
        if (item != null && item.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> fields = item.fields();
            if (fields.hasNext()) {
                return fields.next().getValue();
            }
        }
        throw new IllegalArgumentException("malformed bulk response item: " + item);
    }

    /** reason, then " (caused by type: reason)" for each caused_by level. */
    static String reason(JsonNode error) {
        if (error.isTextual()) {
            return error.asText();
        }
        StringBuilder sb = new StringBuilder();
        String reason = text(error, "reason");
        if (reason != null) {
            sb.append(reason);
        }
        JsonNode cause = error.get("caused_by");
        int depth = 0;
        while (cause != null && cause.isObject() && depth++ < 5) {
            String causeReason = text(cause, "reason");
            // ES often repeats the cause's reason in the outer one; only add what is new.
            if (causeReason == null || sb.indexOf(causeReason) < 0) {
                sb.append(sb.length() > 0 ? " " : "").append("(caused by ").append(text(cause, "type"));
                if (causeReason != null) {
                    sb.append(": ").append(causeReason);
                }
                sb.append(')');
            }
            cause = cause.get("caused_by");
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    /** Short description of an error response body ({"error":{...},"status":N}), for logs and exceptions. */
    public static String describeErrorBody(String body) {
        if (body == null || body.isBlank()) {
            return "(empty body)";
        }
        try {
            JsonNode root = MAPPER.readTree(body);
            JsonNode error = root == null ? null : root.get("error");
            if (error != null && !error.isNull()) {
                String type = error.isObject() ? text(error, "type") : null;
                String reason = reason(error);
                return (type == null ? "" : type + ": ") + (reason == null ? "" : reason);
            }
        } catch (JsonProcessingException e) {
            // not JSON: fall through to the raw text
        }
        String trimmed = body.strip();
        return trimmed.length() > 300 ? trimmed.substring(0, 300) + "..." : trimmed;
    }

    /** The error type of an error response body, or null. */
    public static String errorType(String body) {
        if (body == null || body.isBlank()) {
            return null;
        }
        try {
            JsonNode root = MAPPER.readTree(body);
            JsonNode error = root == null ? null : root.get("error");
            return error != null && error.isObject() ? text(error, "type") : null;
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }
}
