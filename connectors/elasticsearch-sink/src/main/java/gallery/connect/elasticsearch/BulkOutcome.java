package gallery.connect.elasticsearch;

import java.util.List;

/**
 * A _bulk response sorted into what succeeded, what may be retried, what is malformed and what is fatal.
 *
 * @param succeeded number of items Elasticsearch applied (a delete of a missing document counts here)
 * @param retryable items rejected with 429 or 5xx: send again after a backoff
 * @param malformed items rejected with another 4xx: the document itself is bad, no retry helps
 * @param fatal     items that show the whole sink is misconfigured (missing index, no permission): stop
 */
public record BulkOutcome(int succeeded, List<ItemFailure> retryable, List<ItemFailure> malformed,
                          List<ItemFailure> fatal) {

    public BulkOutcome {
        retryable = List.copyOf(retryable);
        malformed = List.copyOf(malformed);
        fatal = List.copyOf(fatal);
    }

    public boolean allSucceeded() {
        return retryable.isEmpty() && malformed.isEmpty() && fatal.isEmpty();
    }

    /**
     * One rejected bulk item.
     *
     * @param action the action that was sent
     * @param status the item's HTTP status
     * @param type   Elasticsearch error type, e.g. mapper_parsing_exception (may be null)
     * @param reason Elasticsearch error reason, with its caused_by chain appended (may be null)
     */
    public record ItemFailure(BulkAction action, int status, String type, String reason) {

        /** "status 400 mapper_parsing_exception: reason" */
        public String describe() {
            StringBuilder sb = new StringBuilder("status ").append(status);
            if (type != null) {
                sb.append(' ').append(type);
            }
            if (reason != null) {
                sb.append(": ").append(reason);
            }
            return sb.toString();
        }
    }
}
