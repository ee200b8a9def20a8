package gallery.connect.elasticsearch;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.Width;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/** Configuration of {@link ElasticsearchSinkConnector} and its tasks. */
public final class ElasticsearchSinkConfig extends AbstractConfig {

    // Keys in the order of their groups in the ConfigDef: Connection, Writes, Error handling.
    public static final String CONNECTION_URL = "connection.url";
    public static final String CONNECTION_USERNAME = "connection.username";
    public static final String CONNECTION_PASSWORD = "connection.password";
    public static final String CONNECTION_TIMEOUT_MS = "connection.timeout.ms";
    public static final String READ_TIMEOUT_MS = "read.timeout.ms";
    public static final String INDEX = "index";
    public static final String BATCH_SIZE = "batch.size";
    public static final String BEHAVIOR_ON_NULL_VALUES = "behavior.on.null.values";

    /** The values of {@value #BEHAVIOR_ON_NULL_VALUES}: what to do with a record whose value is null (a tombstone). */
    public enum NullValueBehavior { DELETE, IGNORE, FAIL }

    public static final String MAX_RETRIES = "max.retries";
    public static final String RETRY_BACKOFF_MS = "retry.backoff.ms";
    public static final String RETRY_BACKOFF_MAX_MS = "retry.backoff.max.ms";
    public static final String BEHAVIOR_ON_MALFORMED_DOCUMENTS = "behavior.on.malformed.documents";

    /**
     * The values of {@value #BEHAVIOR_ON_MALFORMED_DOCUMENTS}: what to do with a record Elasticsearch (or the
     * converter) rejects as a bad document.
     */
    public enum MalformedDocumentBehavior { FAIL, WARN, REPORT }

    private static final String GROUP_CONNECTION = "Connection";
    private static final String GROUP_WRITES = "Writes";
    private static final String GROUP_ERRORS = "Error handling";

    public static final ConfigDef CONFIG_DEF = buildConfigDef();

    private static ConfigDef buildConfigDef() {
        ConfigDef def = new ConfigDef();
        int order = 0;
        def.define(CONNECTION_URL, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, new UrlListValidator(), Importance.HIGH,
                "Comma-separated list of Elasticsearch HTTP base URLs, e.g. http://es1:9200,http://es2:9200. "
                        + "Requests stay on one node until it fails to answer (connection refused, timeout); the retry "
                        + "then goes to the next URL.",
                GROUP_CONNECTION, ++order, Width.LONG, "Elasticsearch URLs");
        def.define(CONNECTION_USERNAME, Type.STRING, null, Importance.MEDIUM,
                "Username for HTTP basic authentication. Basic auth is used only when this is set.",
                GROUP_CONNECTION, ++order, Width.SHORT, "Username");
        def.define(CONNECTION_PASSWORD, Type.PASSWORD, null, Importance.MEDIUM,
                "Password for HTTP basic authentication (used together with " + CONNECTION_USERNAME + ").",
                GROUP_CONNECTION, ++order, Width.SHORT, "Password");
        def.define(CONNECTION_TIMEOUT_MS, Type.INT, 2000, ConfigDef.Range.atLeast(1), Importance.LOW,
                "How long to wait, in milliseconds, for a TCP connection to an Elasticsearch node.",
                GROUP_CONNECTION, ++order, Width.SHORT, "Connection timeout (ms)");
        def.define(READ_TIMEOUT_MS, Type.INT, 15000, ConfigDef.Range.atLeast(1), Importance.LOW,
                "How long to wait, in milliseconds, for the response to one request (a whole _bulk call). "
                        + "A timeout counts as a retriable failure.",
                GROUP_CONNECTION, ++order, Width.SHORT, "Read timeout (ms)");

        order = 0;
        def.define(INDEX, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new IndexNameValidator(), Importance.HIGH,
                "Target index (or alias). It must already exist with its mapping: the sink never creates it, "
                        + "so a dense_vector field is never left to dynamic mapping. Documents get _id = record key.",
                GROUP_WRITES, ++order, Width.MEDIUM, "Index");
        def.define(BATCH_SIZE, Type.INT, 500, ConfigDef.Range.between(1, 100_000), Importance.MEDIUM,
                "Maximum number of actions in one _bulk request. A larger put() batch is sent as several "
                        + "requests, one after the other.",
                GROUP_WRITES, ++order, Width.SHORT, "Batch size");
        def.define(BEHAVIOR_ON_NULL_VALUES, Type.STRING, "delete",
                ConfigDef.CaseInsensitiveValidString.in("delete", "ignore", "fail"), Importance.MEDIUM,
                "What to do with a record whose value is null (a tombstone): 'delete' deletes the document whose "
                        + "_id is the record key (a missing document is not an error), 'ignore' skips the record, "
                        + "'fail' fails the task.",
                GROUP_WRITES, ++order, Width.SHORT, "Behavior on null values");

        order = 0;
        def.define(MAX_RETRIES, Type.INT, 8, ConfigDef.Range.atLeast(0), Importance.MEDIUM,
                "How many times put() retries a failed request (connection refused, timeout, HTTP 429 or 5xx) or "
                        + "the items Elasticsearch rejected with 429/5xx, before it gives up with a "
                        + "RetriableException so that Connect redelivers the same records later (the task stays "
                        + "RUNNING).",
                GROUP_ERRORS, ++order, Width.SHORT, "Max retries");
        def.define(RETRY_BACKOFF_MS, Type.LONG, 200L, ConfigDef.Range.atLeast(0), Importance.LOW,
                "Initial backoff in milliseconds before the first retry. It doubles on every further retry, "
                        + "with random jitter (between half and all of the doubled value), up to "
                        + RETRY_BACKOFF_MAX_MS + ".",
                GROUP_ERRORS, ++order, Width.SHORT, "Retry backoff (ms)");
        def.define(RETRY_BACKOFF_MAX_MS, Type.LONG, 10_000L, ConfigDef.Range.atLeast(0), Importance.LOW,
                "Upper bound, in milliseconds, of one retry backoff; also the timeout handed to Connect before it "
                        + "redelivers a batch that still failed after " + MAX_RETRIES + " retries.",
                GROUP_ERRORS, ++order, Width.SHORT, "Max retry backoff (ms)");
        def.define(BEHAVIOR_ON_MALFORMED_DOCUMENTS, Type.STRING, "report",
                ConfigDef.CaseInsensitiveValidString.in("fail", "warn", "report"), Importance.MEDIUM,
                "What to do with a record that cannot become a document: a null or empty key, a value that is not "
                        + "a JSON object, or an item Elasticsearch rejects with a 4xx status (e.g. "
                        + "mapper_parsing_exception for a vector with the wrong number of dimensions). "
                        + "'fail' fails the task; 'warn' logs and skips the record; 'report' hands the record to "
                        + "Connect's errant record reporter (the dead letter queue when the connector sets "
                        + "errors.tolerance=all and errors.deadletterqueue.topic.name) and keeps running, or "
                        + "logs and skips it like 'warn' when no reporter is configured.",
                GROUP_ERRORS, ++order, Width.SHORT, "Behavior on malformed documents");
        return def;
    }

    public ElasticsearchSinkConfig(Map<?, ?> originals) {
        super(CONFIG_DEF, originals);
        if (getLong(RETRY_BACKOFF_MAX_MS) < getLong(RETRY_BACKOFF_MS)) {
            throw new ConfigException(RETRY_BACKOFF_MAX_MS, getLong(RETRY_BACKOFF_MAX_MS),
                    "must be at least " + RETRY_BACKOFF_MS + " (" + getLong(RETRY_BACKOFF_MS) + ")");
        }
        String user = getString(CONNECTION_USERNAME);
        Password password = getPassword(CONNECTION_PASSWORD);
        if ((user == null || user.isEmpty()) && password != null && password.value() != null
                && !password.value().isEmpty()) {
            throw new ConfigException(CONNECTION_PASSWORD, "[hidden]",
                    CONNECTION_PASSWORD + " is set but " + CONNECTION_USERNAME + " is not");
        }
    }

    public List<String> connectionUrls() {
        return getList(CONNECTION_URL).stream().map(String::trim).filter(s -> !s.isEmpty())
                .map(ElasticsearchSinkConfig::stripTrailingSlash).toList();
    }

    public String username() {
        String user = getString(CONNECTION_USERNAME);
        return user == null || user.isEmpty() ? null : user;
    }

    public Password password() {
        return getPassword(CONNECTION_PASSWORD);
    }

    public String index() {
        return getString(INDEX).trim();
    }

    public int batchSize() {
        return getInt(BATCH_SIZE);
    }

    public int maxRetries() {
        return getInt(MAX_RETRIES);
    }

    public long retryBackoffMs() {
        return getLong(RETRY_BACKOFF_MS);
    }

    public long retryBackoffMaxMs() {
        return getLong(RETRY_BACKOFF_MAX_MS);
    }

    public Duration readTimeout() {
        return Duration.ofMillis(getInt(READ_TIMEOUT_MS));
    }

    public Duration connectionTimeout() {
        return Duration.ofMillis(getInt(CONNECTION_TIMEOUT_MS));
    }

    public NullValueBehavior nullValueBehavior() {
        return behavior(NullValueBehavior.class, BEHAVIOR_ON_NULL_VALUES);
    }

    public MalformedDocumentBehavior malformedDocumentBehavior() {
        return behavior(MalformedDocumentBehavior.class, BEHAVIOR_ON_MALFORMED_DOCUMENTS);
    }

    /** The constant a behavior.* setting names, in any case (its validator is case-insensitive). */
    private <E extends Enum<E>> E behavior(Class<E> type, String key) {
        return Enum.valueOf(type, getString(key).trim().toUpperCase(Locale.ROOT));
    }

    private static String stripTrailingSlash(String url) {
        String s = url;
        while (s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        return s;
    }

    /** Every entry must be an absolute http(s) URL with a host and no query or fragment. */
    static final class UrlListValidator implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            if (!(value instanceof List<?> list)) {
                throw new ConfigException(name, value, "must be a comma-separated list of URLs");
            }
            long nonEmpty = list.stream().filter(v -> v != null && !v.toString().isBlank()).count();
            if (nonEmpty == 0) {
                throw new ConfigException(name, value, "at least one Elasticsearch URL is required");
            }
            for (Object item : list) {
                String url = item == null ? "" : item.toString().trim();
                if (url.isEmpty()) {
                    continue;
                }
                URI uri;
                try {
                    uri = URI.create(url);
                } catch (IllegalArgumentException e) {
                    throw new ConfigException(name, url, "not a valid URL: " + e.getMessage());
                }
                String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
                if (!scheme.equals("http") && !scheme.equals("https")) {
                    throw new ConfigException(name, url, "URL must start with http:// or https://");
                }
                if (uri.getHost() == null) {
                    throw new ConfigException(name, url, "URL has no host");
                }
                if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
                    throw new ConfigException(name, url, "URL must not have a query or fragment");
                }
            }
        }

        @Override
        public String toString() {
            return "non-empty list of http:// or https:// URLs";
        }
    }

    /** A concrete Elasticsearch index or alias name: lowercase, no wildcards or separators. */
    static final class IndexNameValidator implements ConfigDef.Validator {
        private static final String FORBIDDEN = "\\/*?\"<>|,# :";

        @Override
        public void ensureValid(String name, Object value) {
            String index = value == null ? "" : value.toString().trim();
            if (index.isEmpty()) {
                throw new ConfigException(name, value, "an index name is required");
            }
            if (!index.equals(index.toLowerCase(Locale.ROOT))) {
                throw new ConfigException(name, value, "Elasticsearch index names must be lowercase");
            }
            if (index.startsWith("-") || index.startsWith("_") || index.startsWith("+")
                    || index.equals(".") || index.equals("..")) {
                throw new ConfigException(name, value, "index name must not start with '-', '_' or '+'");
            }
            for (char c : index.toCharArray()) {
                if (FORBIDDEN.indexOf(c) >= 0 || Character.isISOControl(c)) {
                    throw new ConfigException(name, value, "index name must not contain '" + c + "'");
                }
            }
        }

        @Override
        public String toString() {
            return "lowercase Elasticsearch index or alias name";
        }
    }
}
