package gallery.elasticsearch.vectorscore;

import org.elasticsearch.index.mapper.MappedFieldType;
import org.elasticsearch.search.lookup.SearchLookup;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The validated script params.
 *
 * <ul>
 *   <li>{@code field} (required): name of a {@code dense_vector} field.</li>
 *   <li>{@code query_vector} (required): non-empty list of finite numbers, as many as the field's dims.</li>
 *   <li>{@code on_missing} (optional): what to do for a matched document without a vector:
 *       {@code zero} (default, score 0.0) or {@code error} (fail the search, which is what painless does).</li>
 * </ul>
 */
record VectorScoreParams(String field, List<Number> queryVector, OnMissing onMissing) {

    static final String FIELD = "field";
    static final String QUERY_VECTOR = "query_vector";
    static final String ON_MISSING = "on_missing";
    static final Set<String> KNOWN = Set.of(FIELD, QUERY_VECTOR, ON_MISSING);

    static final String DENSE_VECTOR_TYPE = "dense_vector";

    /** Behaviour for documents that have no value for the vector field. */
    enum OnMissing {
        /** Score 0.0 (the document still matches; exclude such documents with an {@code exists} filter or {@code min_score}). */
        ZERO,
        /** Throw, failing the shard, like painless's {@code cosineSimilarity} / {@code l2norm}. */
        ERROR;

        static OnMissing parse(Object value) {
            if (value == null) {
                return ZERO;
            }
            if (value instanceof String s) {
                for (OnMissing m : values()) {
                    if (m.name().toLowerCase(Locale.ROOT).equals(s.trim())) {
                        return m;
                    }
                }
            }
            throw new IllegalArgumentException(
                "[" + GalleryVectorScriptEngine.LANG + "] param [" + ON_MISSING + "] must be one of [zero, error], got [" + value + "]"
            );
        }
    }

    /**
     * Validates {@code params}. When {@code lookup} is given (always, inside Elasticsearch), the field must be mapped in the
     * index being searched and be a {@code dense_vector}. (An index that lacks the field is skipped before this point when the
     * inner query is an {@code exists} query on the field: the query is rewritten to match_none.)
     */
    static VectorScoreParams parse(VectorFunction function, Map<String, Object> params, SearchLookup lookup) {
        String lang = GalleryVectorScriptEngine.LANG;
        if (params == null) {
            params = Map.of();
        }
        Set<String> unknown = new TreeSet<>(params.keySet());
        unknown.removeAll(KNOWN);
        if (unknown.isEmpty() == false) {
            throw new IllegalArgumentException(
                "[" + lang + "] unknown script params " + unknown + "; allowed params are [" + FIELD + ", " + QUERY_VECTOR + ", " + ON_MISSING + "]"
            );
        }

        Object fieldValue = params.get(FIELD);
        if (fieldValue == null) {
            throw new IllegalArgumentException(
                "[" + lang + "] script [" + function.source() + "] requires param [" + FIELD + "] (the name of a dense_vector field)"
            );
        }
        if (fieldValue instanceof String == false || ((String) fieldValue).isBlank()) {
            throw new IllegalArgumentException("[" + lang + "] param [" + FIELD + "] must be a non-empty string, got [" + fieldValue + "]");
        }
        String field = (String) fieldValue;

        Object vectorValue = params.get(QUERY_VECTOR);
        if (vectorValue == null) {
            throw new IllegalArgumentException(
                "[" + lang + "] script [" + function.source() + "] requires param [" + QUERY_VECTOR + "] (a list of numbers)"
            );
        }
        if (vectorValue instanceof List<?> == false) {
            throw new IllegalArgumentException(
                "[" + lang + "] param [" + QUERY_VECTOR + "] must be a list of numbers, got [" + vectorValue + "]"
            );
        }
        List<?> list = (List<?>) vectorValue;
        if (list.isEmpty()) {
            throw new IllegalArgumentException("[" + lang + "] param [" + QUERY_VECTOR + "] must not be empty");
        }
        List<Number> queryVector = new ArrayList<>(list.size());
        double squaredMagnitude = 0;
        for (int i = 0; i < list.size(); i++) {
            Object element = list.get(i);
            if (element instanceof Number == false || Double.isFinite(((Number) element).doubleValue()) == false) {
                throw new IllegalArgumentException(
                    "[" + lang + "] param [" + QUERY_VECTOR + "] must contain only finite numbers, element [" + i + "] is [" + element + "]"
                );
            }
            Number number = (Number) element;
            queryVector.add(number);
            float f = number.floatValue();
            squaredMagnitude += f * f;
        }
        if (function == VectorFunction.COSINE && squaredMagnitude == 0) {
            // painless would divide by zero and the script_score query would reject the NaN score; fail early and clearly.
            throw new IllegalArgumentException(
                "[" + lang + "] param [" + QUERY_VECTOR + "] must not be the zero vector for [" + VectorFunction.COSINE.source() + "]"
            );
        }

        OnMissing onMissing = OnMissing.parse(params.get(ON_MISSING));

        if (lookup != null) {
            MappedFieldType fieldType = lookup.fieldType(field);
            if (fieldType == null) {
                throw new IllegalArgumentException(
                    "["
                        + lang
                        + "] field ["
                        + field
                        + "] is not mapped in this index; it must be a ["
                        + DENSE_VECTOR_TYPE
                        + "] field (filter with an [exists] query to skip indices without it)"
                );
            }
            if (DENSE_VECTOR_TYPE.equals(fieldType.typeName()) == false) {
                throw new IllegalArgumentException(
                    "[" + lang + "] field [" + field + "] is of type [" + fieldType.typeName() + "], expected [" + DENSE_VECTOR_TYPE + "]"
                );
            }
        }

        return new VectorScoreParams(field, List.copyOf(queryVector), onMissing);
    }
}
