package gallery.elasticsearch.vectorscore;

import org.elasticsearch.script.ScoreScript;
import org.elasticsearch.script.ScriptContext;
import org.elasticsearch.script.ScriptEngine;
import org.elasticsearch.script.ScriptException;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Script engine for language {@value #LANG}. The script source is not code but the name of a
 * {@link VectorFunction} ({@code cosine}, {@code l2} or {@code dot_product}); the field and the query
 * vector come from the script params. Only the {@code score} context ({@code script_score}) is supported.
 */
public final class GalleryVectorScriptEngine implements ScriptEngine {

    public static final String LANG = "gallery_vector";

    @Override
    public String getType() {
        return LANG;
    }

    @Override
    public <T> T compile(String scriptName, String scriptSource, ScriptContext<T> context, Map<String, String> options) {
        if (context.equals(ScoreScript.CONTEXT) == false) {
            throw new IllegalArgumentException(
                "["
                    + LANG
                    + "] scripts can only be used in the ["
                    + ScoreScript.CONTEXT.name
                    + "] context (a script_score query), not in ["
                    + context.name
                    + "]"
            );
        }
        VectorFunction function;
        try {
            function = VectorFunction.fromSource(scriptSource);
        } catch (IllegalArgumentException e) {
            // Like painless compile errors: a ScriptException (HTTP 400) whose own reason is the readable message, so it is
            // what clients see as root_cause; the IllegalArgumentException naming the allowed sources is its cause.
            throw new ScriptException(e.getMessage(), e, List.of(), scriptSource, LANG);
        }
        ScoreScript.Factory factory = new VectorScoreScript.Factory(function);
        return context.factoryClazz.cast(factory);
    }

    @Override
    public Set<ScriptContext<?>> getSupportedContexts() {
        return Set.of(ScoreScript.CONTEXT);
    }
}
