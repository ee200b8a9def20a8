package gallery.elasticsearch.vectorscore;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.ScriptPlugin;
import org.elasticsearch.script.ScriptContext;
import org.elasticsearch.script.ScriptEngine;

import java.util.Collection;

/**
 * Registers the {@code gallery_vector} script language.
 *
 * <p>Usage, inside a {@code script_score} query:
 * <pre>{@code
 * "script": {"lang": "gallery_vector", "source": "cosine",
 *            "params": {"field": "embedding", "query_vector": [0.1, 0.2, ...]}}
 * }</pre>
 */
public final class GalleryVectorScorePlugin extends Plugin implements ScriptPlugin {

    @Override
    public ScriptEngine getScriptEngine(Settings settings, Collection<ScriptContext<?>> contexts) {
        return new GalleryVectorScriptEngine();
    }
}
