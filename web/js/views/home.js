// Home: a grid of works, random picks (Shuffle for new ones) or newest first, by collection.
// The seed is in the URL, so back returns to the same picks.

import { api } from "../api.js";
import { h, clear, fmt, notice, announce } from "../dom.js";
import { card, grid, skeletonGrid, loadPrefs, artHref } from "../cards.js";

const PAGE = 48;
const EAGER = 12; // the first screenful of thumbnails loads at once, the rest lazily

function newSeed() {
  return Math.floor(Math.random() * 1_000_000_000);
}

export async function render(ctx) {
  const { root, params, signal } = ctx;
  const collection = params.get("collection") || "";
  const order = params.get("order") === "newest" ? "newest" : "random";
  let seed = Number.parseInt(params.get("seed") || "", 10);
  if (order === "random" && !Number.isFinite(seed)) {
    seed = newSeed();
    const next = new URLSearchParams(params);
    next.set("seed", String(seed));
    ctx.replaceParams(next);
  }
  ctx.setTitle(collection ? collection : null);
  const prefs = loadPrefs(null);

  const go = (changes) => {
    const next = new URLSearchParams();
    const merged = { collection, order, seed: order === "random" ? seed : "", ...changes };
    if (merged.collection) next.set("collection", merged.collection);
    if (merged.order === "newest") next.set("order", "newest");
    else next.set("seed", String(merged.seed || newSeed()));
    location.hash = `#/?${next.toString()}`;
  };

  const heading = h("h1", { text: collection ? collection : "All works" });
  const count = h("p.subtle.count", { "aria-live": "polite" });
  const collSelect = h(
    "select",
    { id: "browse-collection", name: "collection" },
    h("option", { value: "", text: "All collections" }),
    collection ? h("option", { value: collection, selected: true, text: collection }) : null,
  );
  collSelect.addEventListener("change", () => go({ collection: collSelect.value }));
  const orderSelect = h(
    "select",
    { id: "browse-order", name: "order" },
    h("option", { value: "random", selected: order === "random", text: "Random picks" }),
    h("option", { value: "newest", selected: order === "newest", text: "Newest first" }),
  );
  orderSelect.addEventListener("change", () => go({ order: orderSelect.value, seed: newSeed() }));
  const shuffle = h(
    "button.button.button-primary",
    { type: "button", "data-action": "shuffle", onclick: () => go({ order: "random", seed: newSeed() }) },
    h("span", { "aria-hidden": "true", text: "⟳ " }),
    "Shuffle",
  );
  const toolbar = h(
    "div.toolbar",
    {},
    h("div.field", {}, h("label", { for: "browse-collection", text: "Collection" }), collSelect),
    h("div.field", {}, h("label", { for: "browse-order", text: "Order" }), orderSelect),
    h("div.field.field-button", {}, shuffle),
  );
  const body = h("div.grid-area", {}, skeletonGrid(12));
  // All works: the featured collection (real paintings in the demo) comes first.
  const featured = h("div.featured-slot");
  clear(root).append(h("div.page-head", {}, h("div", {}, heading, count), toolbar), featured, body);

  // Collections fill the select when they come; the grid does not wait for them.
  api
    .collections({ signal })
    .then((data) => {
      const top = data.collections.find((c) => c.featured && c.count > 0);
      if (!collection && top) showFeatured(featured, top, seed, signal);
      for (const c of data.collections) {
        if (c.name === collection) {
          collSelect.querySelector(`option[value="${CSS.escape(c.name)}"]`).textContent = `${c.name} (${fmt.int(c.count)})`;
          continue;
        }
        collSelect.append(h("option", { value: c.name, text: `${c.name} (${fmt.int(c.count)})` }));
      }
    })
    .catch(() => {});

  const request = (offset) =>
    api.artworks(
      { limit: PAGE, offset, collection, random: order === "random" ? seed : undefined },
      { signal },
    );

  let first;
  try {
    first = await request(0);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    clear(body).append(
      notice("error", err.title, err.detail, h("button.button", { type: "button", onclick: () => ctx.retry(), text: "Try again" })),
    );
    ctx.ready();
    return;
  }

  if (first.total === 0) {
    count.textContent = "";
    clear(body).append(await emptyState(collection, signal));
    ctx.ready();
    return;
  }

  const list = grid(
    collection ? `Works in ${collection}` : "Works",
    first.items.map((art, i) => card(art, { href: artHref(art.id), eager: i < EAGER })),
  );
  clear(body).append(list);
  count.textContent = `${fmt.int(first.total)} ${first.total === 1 ? "work" : "works"}${order === "random" ? ", shown in random order" : ", newest first"}`;
  markFirstPaint(list);
  ctx.ready();

  // More: the same seed continues the same random order.
  let loaded = first.items.length;
  const more = h("button.button", { type: "button", "data-action": "more", text: "Show more" });
  const moreWrap = h("div.more", {}, more);
  const update = () => {
    const maxOffset = 10_000;
    moreWrap.hidden = loaded >= first.total || loaded >= maxOffset;
  };
  more.addEventListener("click", async () => {
    more.disabled = true;
    more.textContent = "Loading…";
    try {
      const next = await request(loaded);
      const cards = next.items.map((art) => card(art, {}));
      list.append(...cards);
      loaded += next.items.length;
      announce(`${next.items.length} more works shown`);
      // keyboard users continue from the first new work
      cards[0]?.querySelector("a")?.focus();
    } catch (err) {
      if (err.name !== "AbortError") announce(`Could not load more: ${err.message}`);
    } finally {
      more.disabled = false;
      more.textContent = "Show more";
      update();
    }
  });
  update();
  body.append(moreWrap);
}

/** A strip of random picks from a featured collection, above all works. */
async function showFeatured(slot, coll, seed, signal) {
  let page;
  try {
    page = await api.artworks({ limit: 12, collection: coll.name, random: seed || 1 }, { signal });
  } catch {
    return; // the strip is extra: the grid below is the page
  }
  const more = h("a", { href: `#/?collection=${encodeURIComponent(coll.name)}`, text: `All ${fmt.int(coll.count)} works in ${coll.name}` });
  slot.append(
    h(
      "section.featured",
      { "aria-labelledby": "featured-heading" },
      h("div.section-head", {}, h("h2", { id: "featured-heading", text: `Featured: ${coll.name}` }), h("p.subtle", {}, more)),
      grid(`Featured works in ${coll.name}`, page.items.map((art, i) => card(art, { href: artHref(art.id), eager: i < 6 }))),
    ),
  );
}

/** performance marks the browser test reads: grid in the DOM, then painted, then thumbnails. */
function markFirstPaint(list) {
  if (performance.getEntriesByName("gallery:grid-painted").length) return;
  performance.mark("gallery:grid-rendered");
  requestAnimationFrame(() =>
    setTimeout(() => {
      performance.mark("gallery:grid-painted");
    }, 0),
  );
  const firstRow = [...list.querySelectorAll("img")].slice(0, 4);
  Promise.all(
    firstRow.map((img) => (img.complete ? Promise.resolve() : new Promise((r) => {
      img.addEventListener("load", r, { once: true });
      img.addEventListener("error", r, { once: true });
    }))),
  ).then(() => requestAnimationFrame(() => performance.mark("gallery:thumbnails-painted")));
}

async function emptyState(collection, signal) {
  let watch = null;
  try {
    watch = (await api.status({ signal })).watch_dir;
  } catch {
    watch = null;
  }
  const where = watch ? `${watch}/${collection || "<collection>"}/` : `watch/${collection || "<collection>"}/`;
  return notice(
    "empty",
    collection ? `No works in “${collection}” yet.` : "No works yet.",
    "Drop images into the watched folder and they appear here within seconds:",
    h("p", {}, h("code", { text: where })),
    collection ? h("p", {}, h("a", { href: "#/", text: "Browse all collections" })) : null,
  );
}
