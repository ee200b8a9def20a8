// One work: the large image, its metadata, identical copies, and the most similar works.
// Every similar work links to its own page with the same options: the rabbit hole.

import { api } from "../api.js";
import { h, clear, notice, announce } from "../dom.js";
import {
  altText,
  artHref,
  byline,
  card,
  displayTitle,
  grid,
  hitsGrid,
  loadPrefs,
  prefsQuery,
  savePrefs,
  similarityControls,
  skeletonGrid,
} from "../cards.js";

export async function render(ctx) {
  const { root, params, signal } = ctx;
  const id = ctx.match[1];
  let prefs = loadPrefs(params);

  const hero = h("div.artwork-hero", {}, h("div.artwork-figure.placeholder"), h("div.artwork-meta", {}, h("h1", { text: "Loading…" })));
  const dupes = h("div.dupes-area");
  const similarHead = h("p.subtle.took", { "aria-live": "polite" });
  const similarBody = h("div.grid-area", {}, skeletonGrid(prefs.k > 12 ? 12 : prefs.k));
  const controlsSlot = h("div.controls-slot");
  const section = h(
    "section.similar",
    { "aria-labelledby": "similar-heading" },
    h("div.section-head", {}, h("h2", { id: "similar-heading", text: "Similar works" }), similarHead),
    controlsSlot,
    similarBody,
  );
  clear(root).append(h("article.artwork", {}, hero, dupes, section));

  const similarParams = () => ({
    k: prefs.k,
    metric: prefs.metric,
    mode: prefs.mode,
    collection: prefs.collection || undefined,
  });
  const artP = api.artwork(id, { signal });
  const simP = api.similar(id, similarParams(), { signal });
  simP.catch(() => {}); // handled where it is awaited; never an unhandled rejection
  const collP = api.collections({ signal }).catch(() => ({ collections: [] }));

  let art;
  try {
    art = await artP;
  } catch (err) {
    if (err.name === "AbortError") throw err;
    ctx.setTitle(err.status === 404 ? "Not found" : "Error");
    clear(root).append(
      h("h1", { text: err.status === 404 ? "This work is not in the gallery" : "The work could not be loaded" }),
      notice(
        err.status === 404 ? "empty" : "error",
        err.status === 404 ? "It may have been removed from the watched folder." : err.title,
        err.status === 404 ? null : err.detail,
        h("p", {}, h("a.button", { href: "#/", text: "Back to the gallery" })),
      ),
    );
    ctx.ready();
    return;
  }
  ctx.setTitle(displayTitle(art));
  hero.replaceWith(renderHero(art));
  if (art.duplicates && art.duplicates.length) renderDuplicates(dupes, art, prefs, signal);
  ctx.ready();

  let latest = 0; // answers to earlier option changes that arrive late are dropped
  const showSimilar = async (promise) => {
    const mine = ++latest;
    similarBody.setAttribute("aria-busy", "true");
    similarBody.classList.add("is-loading");
    try {
      const result = await promise;
      if (mine !== latest) return;
      const hits = result.hits;
      similarHead.textContent = `${hits.length} ${hits.length === 1 ? "work" : "works"} · ${prefs.mode === "knn" ? "approximate" : "exact"} ${prefs.metric === "l2" ? "L2" : "cosine"} · ${Math.round(result.took_ms)} ms`;
      if (!hits.length) {
        clear(similarBody).append(
          notice(
            "empty",
            prefs.collection ? `No other works in “${prefs.collection}”.` : "No other works to compare with yet.",
            prefs.collection ? "Choose “All collections” to look everywhere." : "Add more images to the watched folder.",
          ),
        );
      } else {
        clear(similarBody).append(hitsGrid(hits, { prefs, queryHash: art.content_sha256, label: `Works similar to ${displayTitle(art)}` }));
      }
    } catch (err) {
      if (err.name === "AbortError" || mine !== latest) return;
      similarHead.textContent = "";
      clear(similarBody).append(notice("error", err.title, err.detail));
    } finally {
      if (mine === latest) {
        similarBody.removeAttribute("aria-busy");
        similarBody.classList.remove("is-loading");
      }
    }
  };

  const onChange = (next) => {
    prefs = next;
    savePrefs(prefs);
    ctx.replaceParams(new URLSearchParams(prefsQuery(prefs).slice(1)));
    announce("Updating similar works");
    showSimilar(api.similar(id, similarParams(), { signal }));
  };
  collP.then((c) => controlsSlot.append(similarityControls(prefs, c.collections || [], onChange)));
  await showSimilar(simP);
}

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function metaRow(label, value, { mono = false, title = null } = {}) {
  if (value === null || value === undefined || value === "") return null;
  return [h("dt", { text: label }), h(mono ? "dd.mono" : "dd", { text: String(value), title })];
}

function renderHero(art) {
  const ratio = art.width && art.height ? `${art.width} / ${art.height}` : null;
  const img = h("img.artwork-image", {
    src: art.image_url,
    alt: altText(art),
    width: art.width || null,
    height: art.height || null,
    decoding: "async",
    fetchpriority: "high",
    // the thumbnail is usually cached already: it shows while the large image loads
    style: { backgroundImage: `url("${art.thumbnail_url}")`, aspectRatio: ratio },
  });
  img.addEventListener(
    "error",
    () => img.replaceWith(notice("error", "The image file is missing.", "The work is indexed, but its display copy was not found.")),
    { once: true },
  );
  const extra = Object.entries(art.metadata || {}).filter(([, v]) => v !== null && v !== "");
  const by = byline(art);
  return h(
    "div.artwork-hero",
    {},
    h("figure.artwork-figure", {}, h("a.artwork-zoom", { href: art.image_url, target: "_blank", rel: "noopener", "aria-label": `Open the full image of ${displayTitle(art)} in a new tab` }, img)),
    h(
      "div.artwork-meta",
      {},
      art.collection ? h("p.eyebrow", {}, h("a", { href: `#/?collection=${encodeURIComponent(art.collection)}`, text: art.collection })) : null,
      h("h1.artwork-title", { class: displayTitle(art).length > 70 ? "is-long" : null, text: displayTitle(art) }),
      by ? h("p.byline", { text: by }) : null,
      h(
        "dl.meta-list",
        {},
        metaRow("Artist", art.artist),
        metaRow("Style", art.style),
        metaRow("Genre", art.genre),
        metaRow("Date", art.date || art.year),
        metaRow("Collection", art.collection),
        metaRow("File", art.path, { mono: true }),
        metaRow("Size", art.width && art.height ? `${art.width} × ${art.height} px${art.format ? `, ${art.format.toUpperCase()}` : ""}` : null),
        metaRow("Model", [art.model, art.model_version].filter(Boolean).join(" ")),
        metaRow("Content hash", art.content_sha256 ? `${art.content_sha256.slice(0, 16)}…` : null, { mono: true, title: art.content_sha256 }),
        extra.map(([k, v]) => metaRow(capitalise(k.replace(/_/g, " ")), typeof v === "object" ? JSON.stringify(v) : v)),
      ),
      h(
        "p.actions",
        {},
        h("a.button", { href: art.image_url, target: "_blank", rel: "noopener", text: "Full image" }),
        art.collection ? h("a.button", { href: `#/map?collection=${encodeURIComponent(art.collection)}&focus=${art.id}`, text: "Show on map" }) : null,
      ),
    ),
  );
}

async function renderDuplicates(slot, art, prefs, signal) {
  const ids = art.duplicates.slice(0, 12);
  const works = await Promise.all(ids.map((d) => api.artwork(d, { signal }).catch(() => null)));
  if (signal.aborted) return;
  const found = works.filter(Boolean);
  if (!found.length) return;
  const n = art.duplicates.length;
  slot.append(
    h(
      "section.dupes",
      { "aria-labelledby": "dupes-heading" },
      h("div.section-head", {}, h("h2", { id: "dupes-heading", text: `Identical copies (${n})` })),
      h("p.subtle", { text: `The same file content (SHA-256 ${art.content_sha256.slice(0, 12)}…) under ${n === 1 ? "another path" : "other paths"}.` }),
      grid(
        "Identical copies",
        found.map((d) =>
          card(d, { href: artHref(d.id, prefs), badges: [{ kind: "same", text: "Identical image" }] }),
        ),
      ),
    ),
  );
}

