package gallery.connect.elasticsearch;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import gallery.connect.elasticsearch.ElasticsearchSinkConfig.MalformedDocumentBehavior;
import gallery.connect.elasticsearch.ElasticsearchSinkConfig.NullValueBehavior;

/**
 * Writes each {@link #put} batch into Elasticsearch with synchronous _bulk requests.
 *
 * <ul>
 *   <li>{@code put()} returns only once Elasticsearch has accepted every write of the batch (or the record was
 *       handled as malformed), so the offsets Connect commits afterwards never run ahead of the index.</li>
 *   <li>Within a batch only the last action per document id is sent (index for a value, delete for a
 *       tombstone).</li>
 *   <li>Connection failures, timeouts, HTTP 429 and 5xx, and items rejected with 429/5xx are retried with
 *       exponential backoff up to {@code max.retries}; then a {@link RetriableException} makes Connect redeliver
 *       the same batch after {@code context.timeout(...)}, and the task stays RUNNING.</li>
 *   <li>Items rejected with another 4xx are malformed documents, handled per
 *       {@code behavior.on.malformed.documents}.</li>
 *   <li>401/403, a missing index, or any other unexpected response fails the task with a
 *       {@link ConnectException}.</li>
 * </ul>
 */
public class ElasticsearchSinkTask extends SinkTask {

    private static final Logger log = LoggerFactory.getLogger(ElasticsearchSinkTask.class);

    private ElasticsearchSinkConfig config;
    private ElasticsearchClient client;
    private ErrantRecordReporter reporter;
    private boolean indexVerified;
    /** Records already sent to the reporter during a batch that is being redelivered; cleared on success. */
    private final Set<String> reportedInFailedBatch = new HashSet<>();

    @Override
    public String version() {
        return Version.get();
    }

    @Override
    public void start(Map<String, String> props) {
        config = new ElasticsearchSinkConfig(props);
        Password password = config.password();
        client = new ElasticsearchClient(config.connectionUrls(), config.username(),
                password == null ? null : password.value(), config.connectionTimeout(), config.readTimeout());
        reporter = null;
        if (context != null) {
            try {
                reporter = context.errantRecordReporter();
            } catch (NoSuchMethodError | NoClassDefFoundError | UnsupportedOperationException e) {
                reporter = null;
            }
        }
        if (reporter == null && config.malformedDocumentBehavior() == MalformedDocumentBehavior.REPORT) {
            log.warn("behavior.on.malformed.documents=report but Connect gave no errant record reporter (set "
                    + "errors.tolerance=all and errors.deadletterqueue.topic.name on the connector); malformed "
                    + "records will be logged and skipped");
        }
        indexVerified = false;
        reportedInFailedBatch.clear();
        log.info("Elasticsearch sink task started: index={} urls={} batch.size={} max.retries={} "
                        + "behavior.on.null.values={} behavior.on.malformed.documents={}",
                config.index(), config.connectionUrls(), config.batchSize(), config.maxRetries(),
                config.nullValueBehavior(), config.malformedDocumentBehavior());
    }

    @Override
    public void put(Collection<SinkRecord> records) {
        if (records == null || records.isEmpty()) {
            return;
        }
        if (!indexVerified) {
            verifyIndex();
        }
        List<BulkAction> actions = new ArrayList<>(records.size());
        for (SinkRecord record : records) {
            BulkAction action = toAction(record);
            if (action != null) {
                actions.add(action);
            }
        }
        List<BulkAction> deduplicated = BulkRequests.lastActionPerId(actions);
        for (List<BulkAction> chunk : BulkRequests.chunks(deduplicated, config.batchSize())) {
            sendBulk(chunk);
        }
        reportedInFailedBatch.clear();
        log.debug("Wrote {} record(s) as {} bulk action(s) to index {}", records.size(), deduplicated.size(),
                config.index());
    }

    /**
     * Nothing to do: {@link #put} writes synchronously, so by the time Connect calls flush (before committing
     * offsets) every record it handed over is already in Elasticsearch or was handled as malformed.
     */
    @Override
    public void flush(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
        // Writes are synchronous in put().
    }

    @Override
    public void stop() {
        client = null;
        log.info("Elasticsearch sink task stopped");
    }

    /** The action for one record, or null if the record is skipped (ignored tombstone, malformed). */
    BulkAction toAction(SinkRecord record) {
        String id;
        try {
            id = RecordConverter.documentId(record.key());
        } catch (DataException e) {
            handleMalformed(record, e);
            return null;
        }
        if (record.value() == null) {
            NullValueBehavior behavior = config.nullValueBehavior();
            switch (behavior) {
                case DELETE:
                    return BulkAction.delete(id, record);
                case IGNORE:
                    log.debug("Ignoring tombstone {} (behavior.on.null.values=ignore)", BulkAction.describe(record));
                    return null;
                case FAIL:
                default:
                    throw new DataException("Record " + BulkAction.describe(record) + " with key " + id
                            + " has a null value and behavior.on.null.values=fail");
            }
        }
        try {
            return BulkAction.index(id, RecordConverter.documentJson(record.value()), record);
        } catch (DataException e) {
            handleMalformed(record, e);
            return null;
        }
    }

    private void verifyIndex() {
        String index = config.index();
        runWithRetries("checking index " + index, () -> {
            ElasticsearchClient.Response response = client.indexExists(index);
            int status = response.status();
            if (status == 200) {
                return null;
            }
            if (status == 404) {
                throw new ConnectException("Elasticsearch index '" + index + "' does not exist. Create it with "
                        + "its mapping (dense_vector field) before starting the sink; the sink never creates "
                        + "indices.");
            }
            if (status == 401 || status == 403) {
                throw authFailure(status, response.body());
            }
            if (status == 429 || status >= 500) {
                return "HTTP " + status + " from HEAD /" + index;
            }
            throw new ConnectException("Unexpected HTTP " + status + " from HEAD /" + index);
        });
        indexVerified = true;
    }

    private void sendBulk(List<BulkAction> chunk) {
        String index = config.index();
        List<List<BulkAction>> pending = new ArrayList<>(List.of(chunk));
        runWithRetries("bulk request to index " + index, () -> {
            List<BulkAction> actions = pending.get(0);
            ElasticsearchClient.Response response = client.bulk(BulkRequests.body(index, actions));
            int status = response.status();
            if (response.isSuccess()) {
                BulkOutcome outcome;
                try {
                    outcome = BulkResponseParser.parse(response.body(), actions);
                } catch (IllegalArgumentException e) {
                    throw new ConnectException("Unexpected _bulk response from Elasticsearch: " + e.getMessage(), e);
                }
                if (!outcome.fatal().isEmpty()) {
                    BulkOutcome.ItemFailure first = outcome.fatal().get(0);
                    throw new ConnectException("Elasticsearch rejected writes to index '" + index + "' ("
                            + outcome.fatal().size() + " item(s)), first " + first.action().describeRecord() + ": "
                            + first.describe());
                }
                for (BulkOutcome.ItemFailure failure : outcome.malformed()) {
                    handleMalformed(failure.action().record(), new DataException(
                            "Elasticsearch rejected document " + failure.action().describeRecord() + " in index '"
                                    + index + "': " + failure.describe()));
                }
                if (outcome.retryable().isEmpty()) {
                    return null;
                }
                List<BulkAction> retry = new ArrayList<>(outcome.retryable().size());
                for (BulkOutcome.ItemFailure failure : outcome.retryable()) {
                    retry.add(failure.action());
                }
                pending.set(0, retry);
                return outcome.retryable().size() + " of " + actions.size() + " item(s) rejected, first "
                        + outcome.retryable().get(0).describe();
            }
            if (status == 429 || status >= 500) {
                return "HTTP " + status + " " + BulkResponseParser.describeErrorBody(response.body());
            }
            if (status == 401 || status == 403) {
                throw authFailure(status, response.body());
            }
            String type = BulkResponseParser.errorType(response.body());
            if (status == 404 || "index_not_found_exception".equals(type)) {
                throw new ConnectException("Elasticsearch index '" + index + "' does not exist (HTTP " + status
                        + "): " + BulkResponseParser.describeErrorBody(response.body()));
            }
            if (status == 413) {
                throw new ConnectException("Elasticsearch refused a _bulk request of " + actions.size()
                        + " action(s) as too large (HTTP 413); lower batch.size or raise http.max_content_length");
            }
            throw new ConnectException("Elasticsearch answered the _bulk request with HTTP " + status + ": "
                    + BulkResponseParser.describeErrorBody(response.body()));
        });
    }

    /** One attempt: null when done, otherwise why it should be retried. ConnectExceptions propagate. */
    @FunctionalInterface
    interface Attempt {
        String run() throws IOException, InterruptedException;
    }

    /**
     * Runs {@code attempt} until it returns null, retrying transport failures and retryable answers with
     * exponential backoff; after {@code max.retries} retries throws {@link RetriableException} and asks Connect
     * to wait before redelivering the batch.
     */
    void runWithRetries(String operation, Attempt attempt) {
        int retries = 0;
        while (true) {
            String failure;
            try {
                failure = attempt.run();
            } catch (IOException e) {
                failure = e.getMessage() == null ? e.toString() : e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RetriableException("Interrupted during " + operation, e);
            }
            if (failure == null) {
                return;
            }
            retries++;
            if (retries > config.maxRetries()) {
                long wait = Math.max(config.retryBackoffMaxMs(), 1L);
                log.warn("Elasticsearch {} still failing after {} retries: {}. Connect will redeliver the batch "
                        + "in about {} ms; offsets are not committed past it.", operation, config.maxRetries(),
                        failure, wait);
                if (context != null) {
                    context.timeout(wait);
                }
                throw new RetriableException("Elasticsearch " + operation + " failed after " + config.maxRetries()
                        + " retries: " + failure);
            }
            long backoff = Backoff.compute(retries, config.retryBackoffMs(), config.retryBackoffMaxMs());
            log.warn("Elasticsearch {} failed (retry {}/{} in {} ms, next node {}): {}", operation, retries,
                    config.maxRetries(), backoff, client.nextUrl(), failure);
            sleep(backoff, operation);
        }
    }

    private static void sleep(long ms, String operation) {
        if (ms <= 0) {
            return;
        }
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RetriableException("Interrupted while backing off from " + operation, e);
        }
    }

    private ConnectException authFailure(int status, String body) {
        return new ConnectException("Elasticsearch refused the sink's credentials (HTTP " + status + "): "
                + BulkResponseParser.describeErrorBody(body) + ". Check connection.username/connection.password "
                + "and that the user may write to index '" + config.index() + "'.");
    }

    /** Applies behavior.on.malformed.documents to a record that can never be written. */
    void handleMalformed(SinkRecord record, DataException cause) {
        String where = record == null ? "(unknown record)" : BulkAction.describe(record);
        switch (config.malformedDocumentBehavior()) {
            case FAIL:
                throw new DataException("Malformed record " + where + " (behavior.on.malformed.documents=fail): "
                        + cause.getMessage(), cause);
            case REPORT:
                if (reporter != null && record != null) {
                    if (reportedInFailedBatch.add(where)) {
                        log.warn("Reporting malformed record {} to the errant record reporter: {}", where,
                                cause.getMessage());
                        reporter.report(record, cause);
                    }
                    return;
                }
                log.warn("Skipping malformed record {} (no errant record reporter configured): {}", where,
                        cause.getMessage());
                return;
            case WARN:
            default:
                log.warn("Skipping malformed record {}: {}", where, cause.getMessage());
        }
    }
}
