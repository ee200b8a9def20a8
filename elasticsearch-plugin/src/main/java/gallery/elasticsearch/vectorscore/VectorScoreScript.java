package gallery.elasticsearch.vectorscore;

import org.elasticsearch.script.DocReader;
import org.elasticsearch.script.ScoreScript;
import org.elasticsearch.script.field.EmptyField;
import org.elasticsearch.script.field.vectors.DenseVectorDocValuesField;
import org.elasticsearch.search.lookup.SearchLookup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.function.DoubleSupplier;

/**
 * One instance per segment (leaf). Like a painless class binding, the server-side vector function is created on the
 * first scored document of the segment that has a vector, and reused for the rest of the segment.
 */
final class VectorScoreScript extends ScoreScript {

    private final VectorFunction function;
    private final VectorScoreParams params;

    /** The field's doc values for this segment, resolved on the first document. */
    private DenseVectorDocValuesField docValues;
    /** The bound server-side function, created on the first document with a vector. */
    private DoubleSupplier scorer;

    VectorScoreScript(VectorFunction function, VectorScoreParams params, Map<String, Object> rawParams, SearchLookup lookup, DocReader docReader) {
        super(rawParams, lookup, docReader);
        this.function = function;
        this.params = params;
    }

    @Override
    public double execute(ExplanationHolder explanation) {
        DenseVectorDocValuesField values = docValues();
        try {
            values.setNextDocId(_getDocId());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (values.isEmpty()) {
            if (params.onMissing() == VectorScoreParams.OnMissing.ERROR) {
                throw new IllegalArgumentException(
                    "["
                        + GalleryVectorScriptEngine.LANG
                        + "] document has no value for dense_vector field ["
                        + params.field()
                        + "]; filter with an [exists] query or use on_missing=zero"
                );
            }
            if (explanation != null) {
                explanation.set("no value for [" + params.field() + "], score 0.0 (on_missing=zero)");
            }
            return 0.0;
        }
        if (scorer == null) {
            scorer = function.bind(this, params.queryVector(), params.field());
        }
        if (explanation != null) {
            explanation.set(function.painlessEquivalent(params.field()));
        }
        return scorer.getAsDouble();
    }

    private DenseVectorDocValuesField docValues() {
        if (docValues == null) {
            var field = field(params.field());
            if (field instanceof DenseVectorDocValuesField dense) {
                docValues = dense;
            } else {
                String found = field instanceof EmptyField ? "it is not mapped" : "found [" + field.getClass().getSimpleName() + "]";
                throw new IllegalArgumentException(
                    "[" + GalleryVectorScriptEngine.LANG + "] field [" + params.field() + "] is not a dense_vector field: " + found
                );
            }
        }
        return docValues;
    }

    /** Compiled form of a source: the function; params are bound per query in {@link #newFactory}. */
    record Factory(VectorFunction function) implements ScoreScript.Factory {
        @Override
        public boolean isResultDeterministic() {
            return true;
        }

        @Override
        public ScoreScript.LeafFactory newFactory(Map<String, Object> rawParams, SearchLookup lookup) {
            VectorScoreParams params = VectorScoreParams.parse(function, rawParams, lookup);
            return new LeafFactory(function, params, rawParams, lookup);
        }
    }

    /** One query's parsed params; creates the per-segment scripts. */
    record LeafFactory(VectorFunction function, VectorScoreParams params, Map<String, Object> rawParams, SearchLookup lookup)
        implements ScoreScript.LeafFactory {
        @Override
        public boolean needs_score() {
            return false;
        }

        @Override
        public boolean needs_termStats() {
            return false;
        }

        @Override
        public ScoreScript newInstance(DocReader docReader) {
            return new VectorScoreScript(function, params, rawParams, lookup, docReader);
        }
    }
}
