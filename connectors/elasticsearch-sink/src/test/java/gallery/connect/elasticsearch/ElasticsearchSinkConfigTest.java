package gallery.connect.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigValue;
import org.junit.jupiter.api.Test;

import gallery.connect.elasticsearch.ElasticsearchSinkConfig.MalformedDocumentBehavior;
import gallery.connect.elasticsearch.ElasticsearchSinkConfig.NullValueBehavior;

class ElasticsearchSinkConfigTest {

    private static Map<String, String> minimal() {
        Map<String, String> props = new HashMap<>();
        props.put("connection.url", "http://es1:9200/, https://es2:9200");
        props.put("index", "paintings");
        return props;
    }

    @Test
    void defaults() {
        ElasticsearchSinkConfig config = new ElasticsearchSinkConfig(minimal());
        assertEquals(List.of("http://es1:9200", "https://es2:9200"), config.connectionUrls());
        assertEquals("paintings", config.index());
        assertEquals(500, config.batchSize());
        assertEquals(8, config.maxRetries());
        assertEquals(200, config.retryBackoffMs());
        assertEquals(10_000, config.retryBackoffMaxMs());
        assertEquals(NullValueBehavior.DELETE, config.nullValueBehavior());
        assertEquals(MalformedDocumentBehavior.REPORT, config.malformedDocumentBehavior());
        assertNull(config.username());
    }

    @Test
    void behaviorsAreCaseInsensitive() {
        Map<String, String> props = minimal();
        props.put("behavior.on.null.values", "IGNORE");
        props.put("behavior.on.malformed.documents", "Warn");
        ElasticsearchSinkConfig config = new ElasticsearchSinkConfig(props);
        assertEquals(NullValueBehavior.IGNORE, config.nullValueBehavior());
        assertEquals(MalformedDocumentBehavior.WARN, config.malformedDocumentBehavior());
    }

    @Test
    void rejectsBadValues() {
        for (String[] bad : new String[][] {
                {"connection.url", ""},
                {"connection.url", "es1:9200"},
                {"connection.url", "ftp://es1"},
                {"index", ""},
                {"index", "Paintings"},
                {"index", "paint*"},
                {"batch.size", "0"},
                {"max.retries", "-1"},
                {"behavior.on.null.values", "drop"},
                {"behavior.on.malformed.documents", "ignore"},
                {"retry.backoff.max.ms", "10"}}) {
            Map<String, String> props = minimal();
            props.put(bad[0], bad[1]);
            assertThrows(ConfigException.class, () -> new ElasticsearchSinkConfig(props), bad[0] + "=" + bad[1]);
        }
        Map<String, String> missing = minimal();
        missing.remove("index");
        assertThrows(ConfigException.class, () -> new ElasticsearchSinkConfig(missing));
    }

    @Test
    void connectorValidatesAndCopiesConfigToTasks() {
        ElasticsearchSinkConnector connector = new ElasticsearchSinkConnector();
        Map<String, String> props = minimal();
        props.put("connection.password", "secret");
        props.put("connection.username", "elastic");
        Config validated = connector.validate(props);
        for (ConfigValue value : validated.configValues()) {
            assertTrue(value.errorMessages().isEmpty(), value.name() + ": " + value.errorMessages());
        }
        connector.start(props);
        List<Map<String, String>> tasks = connector.taskConfigs(3);
        assertEquals(3, tasks.size());
        assertEquals("paintings", tasks.get(2).get("index"));
        assertEquals(ElasticsearchSinkTask.class, connector.taskClass());
        assertTrue(connector.config().names().containsAll(List.of("connection.url", "connection.username",
                "connection.password", "index", "batch.size", "max.retries", "retry.backoff.ms",
                "read.timeout.ms", "connection.timeout.ms", "behavior.on.null.values",
                "behavior.on.malformed.documents")));
        assertTrue(!connector.version().isBlank());
    }
}
