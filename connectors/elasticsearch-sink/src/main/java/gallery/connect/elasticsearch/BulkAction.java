package gallery.connect.elasticsearch;

import java.util.Objects;

import org.apache.kafka.connect.sink.SinkRecord;

/**
 * One line (delete) or line pair (index) of a _bulk request, with the record it came from.
 *
 * @param op       index or delete
 * @param id       the document _id (the record key as a string)
 * @param document the document JSON on one line for {@link Op#INDEX}, null for {@link Op#DELETE}
 * @param record   the sink record this action was made from (for error reporting); may be null in tests
 */
public record BulkAction(Op op, String id, String document, SinkRecord record) {

    /** Bulk operation. */
    public enum Op { INDEX, DELETE }

    public BulkAction {
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(id, "id");
        if (op == Op.INDEX && document == null) {
            throw new IllegalArgumentException("an index action needs a document");
        }
        if (op == Op.DELETE && document != null) {
            throw new IllegalArgumentException("a delete action has no document");
        }
    }

    public static BulkAction index(String id, String document, SinkRecord record) {
        return new BulkAction(Op.INDEX, id, document, record);
    }

    public static BulkAction delete(String id, SinkRecord record) {
        return new BulkAction(Op.DELETE, id, null, record);
    }

    /** Where the record came from, for log and error messages. */
    public String describeRecord() {
        if (record == null) {
            return "_id=" + id;
        }
        return describe(record) + " _id=" + id;
    }

    static String describe(SinkRecord record) {
        return record.topic() + "-" + record.kafkaPartition() + "@" + record.kafkaOffset();
    }
}
