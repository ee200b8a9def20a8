// Artwork cards, result grids and the similarity controls shared by the artwork and search pages.

import { h, fmt } from "./dom.js";

/** A title to show: the metadata's, else the file name without its extension. */
export function displayTitle(art) {
  if (art.title && art.title.trim()) return art.title.trim();
  const name = (art.path || "").split("/").pop() || "";
  return name.replace(/\.[a-z0-9]+$/i, "") || "Untitled";
}

/** "Title, by Artist, 1889 (Style)": alt text from whatever metadata the work has. */
export function altText(art) {
  const parts = [displayTitle(art)];
  if (art.artist) parts.push(`by ${art.artist}`);
  const when = art.date || art.year;
  if (when) parts.push(String(when));
  let text = parts.join(", ");
  if (art.style) text += ` (${art.style})`;
  return text;
}

export function byline(art) {
  const when = art.date || art.year;
  return [art.artist, when].filter(Boolean).join(", ");
}

// ---- similarity parameters: URL first, then the last ones used, then defaults -------------

export const DEFAULTS = { metric: "cosine", mode: "exact", k: 12, collection: "" };
export const K_CHOICES = [6, 12, 24, 48, 100];
const PREFS_KEY = "gallery.similar";

export function loadPrefs(params) {
  let saved = {};
  try {
    saved = JSON.parse(localStorage.getItem(PREFS_KEY) || "{}");
  } catch {
    saved = {};
  }
  const pick = (key) => (params && params.has(key) ? params.get(key) : saved[key] ?? DEFAULTS[key]);
  const metric = ["cosine", "l2"].includes(pick("metric")) ? pick("metric") : DEFAULTS.metric;
  const mode = ["exact", "knn"].includes(pick("mode")) ? pick("mode") : DEFAULTS.mode;
  let k = Number.parseInt(pick("k"), 10);
  if (!Number.isFinite(k) || k < 1) k = DEFAULTS.k;
  k = Math.min(k, 100);
  const collection = String(pick("collection") || "");
  return { metric, mode, k, collection };
}

export function savePrefs(prefs) {
  try {
    localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
  } catch {
    // private mode: the URL still carries them
  }
}

export function prefsQuery(prefs) {
  const q = new URLSearchParams();
  if (prefs.metric !== DEFAULTS.metric) q.set("metric", prefs.metric);
  if (prefs.mode !== DEFAULTS.mode) q.set("mode", prefs.mode);
  if (Number(prefs.k) !== DEFAULTS.k) q.set("k", String(prefs.k));
  if (prefs.collection) q.set("collection", prefs.collection);
  const text = q.toString();
  return text ? `?${text}` : "";
}

export function artHref(id, prefs) {
  return `#/art/${id}${prefs ? prefsQuery(prefs) : ""}`;
}

// ---- cards ---------------------------------------------------------------------------------

/**
 * One work as a link tile: lazy thumbnail, title and artist in a caption shown on hover or
 * focus (always shown on touch screens). `eager` for the first screenful.
 */
/**
 * The outline of a matched region over a thumbnail shown with object-fit: contain in a
 * square frame: `region` is [x0, y0, x1, y1] as shares of the picture.
 */
function regionOutline(art, region) {
  if (!region || !art.width || !art.height) return null;
  const [x0, y0, x1, y1] = region;
  const wide = art.width >= art.height;
  const w = wide ? 1 : art.width / art.height;
  const hgt = wide ? art.height / art.width : 1;
  const left = (1 - w) / 2 + x0 * w;
  const top = (1 - hgt) / 2 + y0 * hgt;
  const pct = (v) => `${(v * 100).toFixed(2)}%`;
  return h("span.card-region", {
    "aria-hidden": "true",
    style: { left: pct(left), top: pct(top), width: pct((x1 - x0) * w), height: pct((y1 - y0) * hgt) },
  });
}

const VIEW_NAMES = { photo: "the whole photo", centre: "the photo's centre" };

/** What part of an uploaded photo matched: "the picture found in the photo", ... */
export function viewLabel(view) {
  return VIEW_NAMES[view] || (view.startsWith("picture") ? "the picture found in the photo" : view);
}

export function card(art, { href, eager = false, badges = [], score = null, metric = "cosine", region = null } = {}) {
  const img = h("img", {
    src: art.thumbnail_url,
    alt: altText(art),
    loading: eager ? "eager" : "lazy",
    decoding: "async",
    fetchpriority: eager ? "high" : null,
    width: 320,
    height: 320,
  });
  img.addEventListener("error", () => img.closest(".card")?.classList.add("card-broken"), { once: true });
  const by = byline(art);
  return h(
    "li.card",
    { dataset: { id: art.id } },
    h(
      "a.card-link",
      { href: href || artHref(art.id) },
      h("span.card-frame", {}, img, regionOutline(art, region)),
      h(
        "span.card-caption",
        {},
        h("span.card-title", { text: displayTitle(art) }),
        by ? h("span.card-artist", { text: by }) : null,
      ),
      badges.length ? h("span.card-badges", {}, badges.map((b) => h(`span.badge.badge-${b.kind}`, { text: b.text }))) : null,
    ),
    score !== null ? scoreLine(score, metric) : null,
  );
}

/** Score as text plus a bar; higher is more similar for every metric. */
export function scoreLine(score, metric) {
  // cosine scores are cos + 1 in [0, 2]; l2 scores are 1 / (1 + distance) in (0, 1]
  const max = metric === "l2" ? 1 : 2;
  const pct = Math.max(0, Math.min(100, (score / max) * 100));
  const label = metric === "l2" ? "1 / (1 + L2 distance)" : "cosine similarity + 1";
  return h(
    "p.score",
    { title: `score: ${label}; higher is more similar` },
    h("span.score-value", { text: score.toFixed(3) }),
    h("span.score-bar", { "aria-hidden": "true" }, h("span", { style: { width: `${pct.toFixed(1)}%` } })),
  );
}

export function grid(label, items) {
  return h("ul.grid", { "aria-label": label }, items);
}

/**
 * Result grid for hits: marks identical copies (same content hash as the query, or as an
 * earlier hit) so the same image under two paths is visible as such.
 */
export function hitsGrid(hits, { prefs, queryHash = null, label = "Similar works" }) {
  const firstByHash = new Map();
  const cards = hits.map((hit, i) => {
    const badges = [];
    if (queryHash && hit.content_sha256 === queryHash) {
      badges.push({ kind: "same", text: "Identical image" });
    } else if (hit.content_sha256 && firstByHash.has(hit.content_sha256)) {
      badges.push({ kind: "same", text: `Same image as #${firstByHash.get(hit.content_sha256) + 1}` });
    }
    if (hit.content_sha256 && !firstByHash.has(hit.content_sha256)) firstByHash.set(hit.content_sha256, i);
    if (hit.match && i === 0) badges.push({ kind: "match", text: `Matched: ${viewLabel(hit.match.view)}` });
    return card(hit, {
      region: hit.match && hit.match.region && !isWhole(hit.match.region) ? hit.match.region : null,
      href: artHref(hit.id, prefs),
      badges,
      score: hit.score,
      metric: prefs.metric,
      eager: i < 8,
    });
  });
  return grid(label, cards);
}

/** The centre-square region that stands for the whole picture is not outlined. */
function isWhole(region) {
  const [x0, y0, x1, y1] = region;
  return (x0 <= 0.001 && x1 >= 0.999) || (y0 <= 0.001 && y1 >= 0.999);
}

// ---- controls ------------------------------------------------------------------------------

function select(name, label, options, value) {
  const id = `ctl-${name}`;
  return h(
    "div.field",
    {},
    h("label", { for: id, text: label }),
    h(
      "select",
      { id, name },
      options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value), text })),
    ),
  );
}

/** The metric / mode / collection / k form; `onChange(prefs)` on every change. */
export function similarityControls(prefs, collections, onChange) {
  const colls = [["", "All collections"], ...collections.map((c) => [c.name, `${c.name} (${fmt.int(c.count)})`])];
  if (prefs.collection && !collections.some((c) => c.name === prefs.collection)) {
    colls.push([prefs.collection, prefs.collection]);
  }
  const form = h(
    "form.controls",
    { "aria-label": "Similarity options" },
    select("metric", "Metric", [["cosine", "Cosine"], ["l2", "L2 (Euclidean)"]], prefs.metric),
    select("mode", "Search", [["exact", "Exact"], ["knn", "Approximate (kNN)"]], prefs.mode),
    select("collection", "Collection", colls, prefs.collection),
    select(
      "k",
      "Results",
      [...new Set([...K_CHOICES, Number(prefs.k)])].sort((a, b) => a - b).map((k) => [k, String(k)]),
      prefs.k,
    ),
  );
  form.addEventListener("submit", (e) => e.preventDefault());
  form.addEventListener("change", () => {
    const data = new FormData(form);
    onChange({
      metric: data.get("metric"),
      mode: data.get("mode"),
      collection: data.get("collection") || "",
      k: Number(data.get("k")),
    });
  });
  return form;
}

/** Placeholder tiles while a grid loads, so the layout does not jump. */
export function skeletonGrid(n) {
  return h(
    "ul.grid.grid-skeleton",
    { "aria-hidden": "true" },
    Array.from({ length: n }, () => h("li.card", {}, h("span.card-frame"))),
  );
}
