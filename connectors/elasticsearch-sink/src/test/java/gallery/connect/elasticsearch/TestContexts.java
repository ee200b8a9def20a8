package gallery.connect.elasticsearch;

import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTaskContext;

/**
 * A {@link SinkTaskContext} for tests, built as a dynamic proxy so it compiles against any Connect API version
 * (4.1 added an abstract pluginMetrics()).
 */
final class TestContexts {

    record Reported(SinkRecord record, Throwable error) {
    }

    static final class Context {
        final List<Reported> reported = new CopyOnWriteArrayList<>();
        final AtomicLong timeout = new AtomicLong(-1);
        final boolean withReporter;
        final SinkTaskContext proxy;

        Context(Map<String, String> configs, boolean withReporter) {
            this.withReporter = withReporter;
            ErrantRecordReporter reporter = (record, error) -> {
                reported.add(new Reported(record, error));
                return CompletableFuture.completedFuture(null);
            };
            this.proxy = (SinkTaskContext) Proxy.newProxyInstance(TestContexts.class.getClassLoader(),
                    new Class<?>[] {SinkTaskContext.class}, (p, method, args) -> {
                        switch (method.getName()) {
                            case "configs":
                                return configs;
                            case "errantRecordReporter":
                                return withReporter ? reporter : null;
                            case "timeout":
                                timeout.set((Long) args[0]);
                                return null;
                            case "assignment":
                                return Set.of();
                            case "toString":
                                return "TestSinkTaskContext";
                            case "hashCode":
                                return System.identityHashCode(p);
                            case "equals":
                                return p == args[0];
                            default:
                                return null;
                        }
                    });
        }
    }

    private TestContexts() {
    }

    static Context withReporter(Map<String, String> configs) {
        return new Context(configs, true);
    }

    static Context withoutReporter(Map<String, String> configs) {
        return new Context(configs, false);
    }
}
