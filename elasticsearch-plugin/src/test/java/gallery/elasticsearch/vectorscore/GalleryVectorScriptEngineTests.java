package gallery.elasticsearch.vectorscore;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.script.AggregationScript;
import org.elasticsearch.script.ScoreScript;
import org.elasticsearch.script.ScriptEngine;
import org.elasticsearch.script.ScriptException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Compile-time and parameter validation. The scoring itself needs a live shard (doc values of a dense_vector
 * field) and is checked end-to-end against numpy by verify.py.
 */
class GalleryVectorScriptEngineTests {

    private final ScriptEngine engine = new GalleryVectorScorePlugin().getScriptEngine(Settings.EMPTY, List.of(ScoreScript.CONTEXT));

    private static Map<String, Object> params(Object... kv) {
        Map<String, Object> map = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            map.put((String) kv[i], kv[i + 1]);
        }
        return map;
    }

    private ScoreScript.LeafFactory leaf(String source, Map<String, Object> params) {
        ScoreScript.Factory factory = engine.compile("test", source, ScoreScript.CONTEXT, Map.of());
        return factory.newFactory(params, null);
    }

    @Test
    void languageAndContexts() {
        assertEquals("gallery_vector", engine.getType());
        assertEquals(Set.of(ScoreScript.CONTEXT), engine.getSupportedContexts());
    }

    @ParameterizedTest
    @ValueSource(strings = { "cosine", "l2", "dot_product", " cosine\n" })
    void compilesKnownSources(String source) {
        ScoreScript.Factory factory = engine.compile("test", source, ScoreScript.CONTEXT, Map.of());
        assertInstanceOf(VectorScoreScript.Factory.class, factory);
        assertTrue(factory.isResultDeterministic());
        ScoreScript.LeafFactory leaf = factory.newFactory(params("field", "embedding", "query_vector", List.of(1, 0.5, -2.0)), null);
        assertFalse(leaf.needs_score());
        assertFalse(leaf.needs_termStats());
    }

    @ParameterizedTest
    @ValueSource(strings = { "cosineSimilarity(params.query_vector, 'embedding') + 1.0", "COSINE", "l1", "", "dotProduct" })
    void rejectsUnknownSource(String source) {
        ScriptException e = assertThrows(ScriptException.class, () -> engine.compile("test", source, ScoreScript.CONTEXT, Map.of()));
        assertTrue(e.getMessage().contains("must be one of [cosine, l2, dot_product]"), e.getMessage());
        assertInstanceOf(IllegalArgumentException.class, e.getCause());
        assertEquals(e.getMessage(), e.getCause().getMessage());
        assertEquals("gallery_vector", e.getLang());
    }

    @Test
    void rejectsOtherContexts() {
        IllegalArgumentException e = assertThrows(
            IllegalArgumentException.class,
            () -> engine.compile("test", "cosine", AggregationScript.CONTEXT, Map.of())
        );
        assertTrue(e.getMessage().contains("only be used in the [score] context"), e.getMessage());
    }

    @Test
    void requiresField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> leaf("cosine", params("query_vector", List.of(1, 2))));
        assertTrue(e.getMessage().contains("requires param [field]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> leaf("cosine", params("field", " ", "query_vector", List.of(1, 2))));
        assertTrue(e.getMessage().contains("param [field] must be a non-empty string"), e.getMessage());
    }

    @Test
    void requiresQueryVector() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> leaf("l2", params("field", "embedding")));
        assertTrue(e.getMessage().contains("requires param [query_vector]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> leaf("l2", params("field", "embedding", "query_vector", "0a0b")));
        assertTrue(e.getMessage().contains("must be a list of numbers"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> leaf("l2", params("field", "embedding", "query_vector", List.of())));
        assertTrue(e.getMessage().contains("must not be empty"), e.getMessage());
        e = assertThrows(
            IllegalArgumentException.class,
            () -> leaf("l2", params("field", "embedding", "query_vector", Arrays.asList(1.0, "x", 3.0)))
        );
        assertTrue(e.getMessage().contains("element [1] is [x]"), e.getMessage());
        e = assertThrows(
            IllegalArgumentException.class,
            () -> leaf("l2", params("field", "embedding", "query_vector", Arrays.asList(1.0, Double.NaN)))
        );
        assertTrue(e.getMessage().contains("finite numbers"), e.getMessage());
    }

    @Test
    void cosineRejectsZeroVectorButL2AcceptsIt() {
        IllegalArgumentException e = assertThrows(
            IllegalArgumentException.class,
            () -> leaf("cosine", params("field", "embedding", "query_vector", List.of(0, 0.0, 0)))
        );
        assertTrue(e.getMessage().contains("zero vector"), e.getMessage());
        leaf("l2", params("field", "embedding", "query_vector", List.of(0, 0.0, 0)));
    }

    @Test
    void onMissing() {
        VectorScoreScript.LeafFactory leaf = (VectorScoreScript.LeafFactory) leaf("cosine", params("field", "e", "query_vector", List.of(1)));
        assertEquals(VectorScoreParams.OnMissing.ZERO, leaf.params().onMissing());
        leaf = (VectorScoreScript.LeafFactory) leaf("cosine", params("field", "e", "query_vector", List.of(1), "on_missing", "error"));
        assertEquals(VectorScoreParams.OnMissing.ERROR, leaf.params().onMissing());
        IllegalArgumentException e = assertThrows(
            IllegalArgumentException.class,
            () -> leaf("cosine", params("field", "e", "query_vector", List.of(1), "on_missing", "skip"))
        );
        assertTrue(e.getMessage().contains("[on_missing] must be one of [zero, error]"), e.getMessage());
    }

    @Test
    void rejectsUnknownParams() {
        IllegalArgumentException e = assertThrows(
            IllegalArgumentException.class,
            () -> leaf("cosine", params("field", "e", "queryVector", List.of(1)))
        );
        assertTrue(e.getMessage().contains("unknown script params [queryVector]"), e.getMessage());
    }

    @Test
    void painlessEquivalents() {
        assertEquals("cosineSimilarity(params.query_vector, 'embedding') + 1.0", VectorFunction.COSINE.painlessEquivalent("embedding"));
        assertEquals("1 / (1 + l2norm(params.query_vector, 'embedding'))", VectorFunction.L2.painlessEquivalent("embedding"));
        assertEquals("(1 + dotProduct(params.query_vector, 'embedding')) / 2", VectorFunction.DOT_PRODUCT.painlessEquivalent("embedding"));
    }
}
