package gallery.connect.elasticsearch;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;

/**
 * Sink connector that writes records into one Elasticsearch index through the _bulk API.
 *
 * <p>The record key (a string) becomes the document {@code _id}, so replaying a topic overwrites documents
 * instead of duplicating them; a record with a null value (a tombstone) deletes the document. See
 * {@link ElasticsearchSinkTask} for the delivery semantics and {@link ElasticsearchSinkConfig} for the keys.
 */
public class ElasticsearchSinkConnector extends SinkConnector {

    private Map<String, String> props;

    @Override
    public void start(Map<String, String> props) {
        // Parse once so that a bad configuration fails the connector, not only its tasks.
        new ElasticsearchSinkConfig(props);
        this.props = new HashMap<>(props);
    }

    @Override
    public Class<? extends Task> taskClass() {
        return ElasticsearchSinkTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        List<Map<String, String>> configs = new ArrayList<>(maxTasks);
        for (int i = 0; i < maxTasks; i++) {
            configs.add(new HashMap<>(props));
        }
        return configs;
    }

    @Override
    public void stop() {
        // Nothing to release: tasks own their HTTP clients.
    }

    @Override
    public ConfigDef config() {
        return ElasticsearchSinkConfig.CONFIG_DEF;
    }

    @Override
    public String version() {
        return Version.get();
    }
}
