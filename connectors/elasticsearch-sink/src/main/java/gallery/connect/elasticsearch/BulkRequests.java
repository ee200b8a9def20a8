package gallery.connect.elasticsearch;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Pure helpers that shape a batch of actions into _bulk request bodies. */
public final class BulkRequests {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private BulkRequests() {
    }

    /**
     * Keeps only the last action for each document id. The survivors keep the relative order of their last
     * occurrences, so the outcome equals applying the whole batch in order.
     */
    public static List<BulkAction> lastActionPerId(List<BulkAction> actions) {
        Map<String, BulkAction> byId = new LinkedHashMap<>();
        for (BulkAction action : actions) {
            byId.remove(action.id());
            byId.put(action.id(), action);
        }
        return new ArrayList<>(byId.values());
    }

    /** Splits actions into consecutive chunks of at most {@code size}. */
    public static List<List<BulkAction>> chunks(List<BulkAction> actions, int size) {
        if (size < 1) {
            throw new IllegalArgumentException("chunk size must be positive");
        }
        List<List<BulkAction>> out = new ArrayList<>();
        for (int i = 0; i < actions.size(); i += size) {
            out.add(List.copyOf(actions.subList(i, Math.min(actions.size(), i + size))));
        }
        return out;
    }

    /**
     * The NDJSON body of a _bulk request against {@code index}: an {@code index} action line followed by the
     * document line for each {@link BulkAction.Op#INDEX}, a single {@code delete} line for each
     * {@link BulkAction.Op#DELETE}, every line ending in a newline.
     */
    public static String body(String index, List<BulkAction> actions) {
        StringBuilder sb = new StringBuilder(actions.size() * 256);
        for (BulkAction action : actions) {
            ObjectNode meta = MAPPER.createObjectNode();
            ObjectNode target = meta.putObject(action.op() == BulkAction.Op.INDEX ? "index" : "delete");
            target.put("_index", index);
            target.put("_id", action.id());
            sb.append(write(meta)).append('\n');
            if (action.op() == BulkAction.Op.INDEX) {
                String document = action.document();
                if (document.indexOf('\n') >= 0 || document.indexOf('\r') >= 0) {
                    throw new IllegalArgumentException("document for _id " + action.id() + " spans several lines");
                }
                sb.append(document).append('\n');
            }
        }
        return sb.toString();
    }

    private static String write(ObjectNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
