package gallery.elasticsearch.vectorscore;

import org.elasticsearch.script.ScoreScript;
import org.elasticsearch.script.VectorScoreScriptUtils;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.DoubleSupplier;
import java.util.stream.Collectors;

/**
 * The scoring functions, each the exact equivalent of a documented painless {@code script_score} source.
 * They delegate to the same server classes that painless's {@code cosineSimilarity}, {@code l2norm} and
 * {@code dotProduct} bind to ({@link VectorScoreScriptUtils}), so scores are bit-for-bit what painless gives.
 */
public enum VectorFunction {

    /** {@code cosineSimilarity(params.query_vector, 'field') + 1.0}; range [0, 2]. */
    COSINE("cosine", "cosineSimilarity(params.query_vector, '%s') + 1.0") {
        @Override
        DoubleSupplier bind(ScoreScript script, List<Number> queryVector, String field) {
            VectorScoreScriptUtils.CosineSimilarity function = new VectorScoreScriptUtils.CosineSimilarity(script, queryVector, field);
            return () -> function.cosineSimilarity() + 1.0;
        }
    },

    /** {@code 1 / (1 + l2norm(params.query_vector, 'field'))}; range (0, 1]. */
    L2("l2", "1 / (1 + l2norm(params.query_vector, '%s'))") {
        @Override
        DoubleSupplier bind(ScoreScript script, List<Number> queryVector, String field) {
            VectorScoreScriptUtils.L2Norm function = new VectorScoreScriptUtils.L2Norm(script, queryVector, field);
            return () -> 1 / (1 + function.l2norm());
        }
    },

    /**
     * {@code (1 + dotProduct(params.query_vector, 'field')) / 2}; range [0, 1] only for unit-length vectors.
     * A negative result (non-normalised vectors) is rejected by Elasticsearch, exactly as with painless.
     */
    DOT_PRODUCT("dot_product", "(1 + dotProduct(params.query_vector, '%s')) / 2") {
        @Override
        DoubleSupplier bind(ScoreScript script, List<Number> queryVector, String field) {
            VectorScoreScriptUtils.DotProduct function = new VectorScoreScriptUtils.DotProduct(script, queryVector, field);
            return () -> (1 + function.dotProduct()) / 2;
        }
    };

    private final String source;
    private final String painlessTemplate;

    VectorFunction(String source, String painlessTemplate) {
        this.source = source;
        this.painlessTemplate = painlessTemplate;
    }

    /** The script {@code source} that selects this function. */
    public String source() {
        return source;
    }

    /** The painless script this function is equivalent to, for {@code field}. */
    public String painlessEquivalent(String field) {
        return String.format(Locale.ROOT, painlessTemplate, field);
    }

    /**
     * Builds the per-segment scorer. Must be called while the script is positioned on a document that has a
     * vector: the server classes read the document vector's dimensions to validate the query vector.
     */
    abstract DoubleSupplier bind(ScoreScript script, List<Number> queryVector, String field);

    /** Comma-separated list of the accepted script sources. */
    public static String allowedSources() {
        return Arrays.stream(values()).map(VectorFunction::source).collect(Collectors.joining(", "));
    }

    public static VectorFunction fromSource(String scriptSource) {
        String wanted = scriptSource == null ? "" : scriptSource.trim();
        for (VectorFunction function : values()) {
            if (function.source.equals(wanted)) {
                return function;
            }
        }
        throw new IllegalArgumentException(
            "unknown ["
                + GalleryVectorScriptEngine.LANG
                + "] script source ["
                + scriptSource
                + "]: the source must be one of ["
                + allowedSources()
                + "]"
        );
    }
}
