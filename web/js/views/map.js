// Map: the backend's 2-D projection (t-SNE) of a collection's vectors on a canvas.
// Works that look alike sit together. Pan (drag, arrows), zoom (wheel, pinch, + / -),
// thumbnails on hover, click or Enter to open a work. Zoomed in far enough, the dots become
// thumbnails. A list of the same works is there for screen readers and keyboards.

import { api } from "../api.js";
import { h, append, clear, fmt, notice, announce } from "../dom.js";
import { altText, artHref, byline, displayTitle } from "../cards.js";

const PALETTE = ["#2f6fde", "#d9480f", "#2b8a3e", "#9c36b5", "#c2255c", "#0b7285", "#e67700", "#5f3dc4", "#5c940d", "#862e9c"];
const OTHER = "#8a8a93"; // works whose style is not among the coloured ones
const MIN_SCALE = 0.5;
const MAX_SCALE = 80;
const THUMB_MIN = 22; // px: below this a work is drawn as a dot
const THUMB_MAX = 112;
const MAX_THUMBS = 500; // thumbnails drawn at once

export async function render(ctx) {
  const { root, params, signal } = ctx;
  const collection = params.get("collection") || "";
  const focusId = params.get("focus") || "";
  ctx.setTitle(collection ? `Map of ${collection}` : "Map");

  const select = h("select", { id: "map-collection", name: "collection" }, h("option", { value: "", text: "All collections (sample)" }));
  if (collection) select.append(h("option", { value: collection, selected: true, text: collection }));
  select.addEventListener("change", () => {
    location.hash = select.value ? `#/map?collection=${encodeURIComponent(select.value)}` : "#/map";
  });
  api
    .collections({ signal })
    .then((data) => {
      for (const c of data.collections) {
        const label = `${c.name} (${fmt.int(c.count)})`;
        const existing = [...select.options].find((o) => o.value === c.name);
        if (existing) existing.textContent = label;
        else select.append(h("option", { value: c.name, text: label }));
      }
    })
    .catch(() => {});

  const info = h("p.subtle.map-info", { "aria-live": "polite" });
  const zoomIn = h("button.button.icon-button", { type: "button", "aria-label": "Zoom in", title: "Zoom in (+)", text: "+" });
  const zoomOut = h("button.button.icon-button", { type: "button", "aria-label": "Zoom out", title: "Zoom out (−)", text: "−" });
  const reset = h("button.button", { type: "button", title: "Show everything (0)", text: "Fit" });
  const stage = h("div.map-stage", {}, h("p.map-loading", { role: "status" }, "Loading the map…"));
  const listSlot = h("div.map-list");
  clear(root).append(
    h(
      "div.page-head",
      {},
      h("div", {}, h("h1", { text: collection ? `Map of ${collection}` : "Map" }), info),
      h(
        "div.toolbar",
        {},
        h("div.field", {}, h("label", { for: "map-collection", text: "Collection" }), select),
        h("div.field.field-button.button-group", { role: "group", "aria-label": "Zoom" }, zoomOut, zoomIn, reset),
      ),
    ),
    stage,
    h(
      "p.subtle.map-help",
      {},
      h("span.pointer-only", { text: "Drag to pan, scroll to zoom, hover to see a work, click to open it. Keyboard: focus the map, then arrows pan, + and − zoom, 0 fits, Enter opens the work under the cross." }),
      h("span.touch-only", { text: "Drag to pan, pinch to zoom. Tap a work to see it, tap it again to open it." }),
    ),
    listSlot,
  );
  ctx.ready();

  // The first map of a big collection takes a while (t-SNE): say so, with a clock.
  const started = performance.now();
  const loading = stage.querySelector(".map-loading");
  const clock = setInterval(() => {
    const s = Math.round((performance.now() - started) / 1000);
    if (s >= 2) loading.textContent = `Computing the map… ${s} s (only the first time: it is cached)`;
  }, 1000);
  let data;
  try {
    data = await api.map({ collection: collection || undefined }, { signal, fresh: true });
  } catch (err) {
    clearInterval(clock);
    if (err.name === "AbortError") throw err;
    clear(stage).append(notice("error", err.title, err.detail, h("button.button", { type: "button", onclick: () => ctx.retry(), text: "Try again" })));
    return;
  }
  clearInterval(clock);
  if (!data.points.length) {
    clear(stage).append(notice("empty", collection ? `No works in “${collection}” yet.` : "No works yet.", "The map appears once the collection has works."));
    info.textContent = "";
    return;
  }
  const ago = (Date.now() - Date.parse(data.computed_at)) / 1000;
  info.textContent =
    `${fmt.int(data.count)} works${data.sampled ? ` (a sample of ${fmt.int(data.doc_count)})` : ""} · ` +
    `${data.method === "tsne" ? "t-SNE" : "PCA"} · computed ${fmt.ago(ago)}`;
  announce(`Map of ${data.count} works loaded`);
  const map = new MapCanvas(stage, data.points, { focusId, signal });
  zoomIn.addEventListener("click", () => map.zoomBy(1.6));
  zoomOut.addEventListener("click", () => map.zoomBy(1 / 1.6));
  reset.addEventListener("click", () => map.fit());
  listSlot.append(pointList(data.points));
  return () => map.destroy();
}

function pointList(points) {
  const details = h("details.map-details", {}, h("summary", { text: `List the ${fmt.int(points.length)} works on this map` }));
  details.addEventListener(
    "toggle",
    () => {
      if (!details.open || details.querySelector("ol")) return;
      const sorted = [...points].sort((a, b) => displayTitle(a).localeCompare(displayTitle(b)));
      details.append(h("ol.plain-list", {}, sorted.map((p) => h("li", {}, h("a", { href: artHref(p.id), text: displayTitle(p) }), byline(p) ? ` · ${byline(p)}` : ""))));
    },
  );
  return details;
}

class MapCanvas {
  constructor(stage, points, { focusId, signal }) {
    this.stage = stage;
    this.points = points;
    this.signal = signal;
    this.images = new Map();
    this.hover = null; // the point under the pointer or the keyboard cross
    this.pinned = false; // a touch tap selected `hover`; a second tap opens it
    this.keyboard = false;
    this.pointers = new Map();
    const styles = countBy(points.map((p) => p.style).filter(Boolean));
    this.colors = new Map(styles.slice(0, PALETTE.length).map(([style], i) => [style, PALETTE[i]]));

    this.canvas = h("canvas.map-canvas", {
      tabindex: "0",
      role: "img",
      "aria-label": `Map of ${points.length} works; works that look alike are close together. Use the list below the map to open them one by one.`,
    });
    this.canvas.mapView = this; // lets the browser tests find a work's place on screen
    this.tip = h("div.map-tip", { hidden: true, "aria-hidden": "true" });
    clear(stage).append(this.canvas, this.tip);
    this.legendEl = this.colors.size > 1 ? this.legend() : null;
    if (this.legendEl) stage.after(this.legendEl);

    const xs = points.map((p) => p.x);
    const ys = points.map((p) => p.y);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    this.bounds = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, spanX: x1 - x0, spanY: y1 - y0 };
    this.resize();
    this.fit();
    const focus = focusId && points.find((p) => p.id === focusId);
    if (focus) {
      // zoom in until works show as thumbnails of a good size, then centre on this one
      this.scale = Math.max(1.5, Math.min(8, 72 / Math.max(this.tileSize(), 1)));
      this.centerOn(focus);
      this.hover = focus;
      this.showTip(focus);
    }
    this.bind();
    this.draw();
  }

  legend() {
    const others = this.points.some((p) => !this.colors.has(p.style));
    return h(
      "ul.map-legend",
      { "aria-label": "Colours by style" },
      [...this.colors].map(([style, color]) => h("li", {}, h("span.swatch", { style: { background: color }, "aria-hidden": "true" }), style)),
      others ? h("li", {}, h("span.swatch", { style: { background: OTHER }, "aria-hidden": "true" }), "other styles") : null,
    );
  }

  /** A point's colour: its style's when styles are shown, else the accent colour. */
  color(p, accent) {
    if (this.colors.size <= 1) return accent;
    return this.colors.get(p.style) || OTHER;
  }

  // ---- geometry ----------------------------------------------------------------------------
  resize() {
    const rect = this.stage.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const prev = this.width ? { w: this.width, h: this.height } : null;
    this.width = Math.max(200, rect.width);
    this.height = Math.max(200, rect.height);
    this.canvas.width = Math.round(this.width * dpr);
    this.canvas.height = Math.round(this.height * dpr);
    this.canvas.style.width = `${this.width}px`;
    this.canvas.style.height = `${this.height}px`;
    this.dpr = dpr;
    // px per map unit at scale 1: the points' extent fills the stage (less room for the
    // thumbnails at the edges); each axis may stretch, at most 1.6 times the other
    const pad = Math.min(56, 0.08 * Math.min(this.width, this.height));
    const b = this.bounds;
    const fitX = (this.width - 2 * pad) / Math.max(b.spanX, 1e-6);
    const fitY = (this.height - 2 * pad) / Math.max(b.spanY, 1e-6);
    const single = Math.min(this.width, this.height) - 2 * pad;
    this.ux = b.spanX < 1e-6 && b.spanY < 1e-6 ? single : Math.min(fitX, fitY * 1.6);
    this.uy = b.spanX < 1e-6 && b.spanY < 1e-6 ? single : Math.min(fitY, fitX * 1.6);
    if (prev) {
      this.tx += (this.width - prev.w) / 2;
      this.ty += (this.height - prev.h) / 2;
    }
  }

  fit() {
    this.scale = 1;
    this.tx = this.width / 2; // where the centre of the points' extent is drawn
    this.ty = this.height / 2;
    this.request();
  }

  toScreen(p) {
    const b = this.bounds;
    return [(p.x - b.cx) * this.ux * this.scale + this.tx, (p.y - b.cy) * this.uy * this.scale + this.ty];
  }

  centerOn(p) {
    const b = this.bounds;
    this.tx = this.width / 2 - (p.x - b.cx) * this.ux * this.scale;
    this.ty = this.height / 2 - (p.y - b.cy) * this.uy * this.scale;
  }

  zoomAt(px, py, factor) {
    const next = Math.max(MIN_SCALE, Math.min(MAX_SCALE, this.scale * factor));
    const f = next / this.scale;
    this.tx = px - (px - this.tx) * f;
    this.ty = py - (py - this.ty) * f;
    this.scale = next;
    this.request();
  }

  zoomBy(factor) {
    this.zoomAt(this.width / 2, this.height / 2, factor);
    if (this.keyboard) this.pickCenter();
  }

  tileSize() {
    const b = this.bounds;
    const area = Math.max(b.spanX * this.ux, 1) * Math.max(b.spanY * this.uy, 1) * this.scale ** 2;
    const spacing = Math.sqrt(area / this.points.length);
    return Math.min(THUMB_MAX, spacing * 0.55);
  }

  nearest(px, py, radius) {
    let best = null;
    let bestD = radius * radius;
    for (const p of this.points) {
      const [x, y] = this.toScreen(p);
      const d = (x - px) ** 2 + (y - py) ** 2;
      if (d <= bestD) {
        best = p;
        bestD = d;
      }
    }
    return best;
  }

  hitRadius() {
    const tile = this.tileSize();
    return tile >= THUMB_MIN ? tile / 2 + 2 : 12;
  }

  // ---- events ------------------------------------------------------------------------------
  bind() {
    const c = this.canvas;
    const local = (e) => {
      const r = c.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    this.on(c, "pointerdown", (e) => {
      c.setPointerCapture(e.pointerId);
      const [x, y] = local(e);
      this.pointers.set(e.pointerId, { x, y, x0: x, y0: y });
      this.moved = false;
      this.keyboard = false;
    });
    this.on(c, "pointermove", (e) => {
      const [x, y] = local(e);
      const ptr = this.pointers.get(e.pointerId);
      if (!ptr) {
        if (e.pointerType === "mouse") this.setHover(this.nearest(x, y, this.hitRadius()));
        return;
      }
      if (this.pointers.size === 2) {
        const [a, b] = [...this.pointers.values()];
        const before = Math.hypot(a.x - b.x, a.y - b.y);
        ptr.x = x;
        ptr.y = y;
        const after = Math.hypot(a.x - b.x, a.y - b.y);
        if (before > 0) this.zoomAt((a.x + b.x) / 2, (a.y + b.y) / 2, after / before);
        this.moved = true;
        return;
      }
      const dx = x - ptr.x;
      const dy = y - ptr.y;
      ptr.x = x;
      ptr.y = y;
      if (Math.hypot(x - ptr.x0, y - ptr.y0) > 4) this.moved = true;
      if (this.moved) {
        this.tx += dx;
        this.ty += dy;
        this.canvas.classList.add("is-panning");
        this.request();
      }
    });
    const end = (e) => {
      const ptr = this.pointers.get(e.pointerId);
      this.pointers.delete(e.pointerId);
      this.canvas.classList.remove("is-panning");
      if (!ptr || this.moved || e.type === "pointercancel") return;
      const [x, y] = local(e);
      const p = this.nearest(x, y, this.hitRadius() + (e.pointerType === "mouse" ? 0 : 8));
      if (!p) {
        this.pinned = false;
        this.setHover(null);
        return;
      }
      if (e.pointerType !== "mouse" && !(this.pinned && this.hover === p)) {
        // touch: the first tap shows the work, a second tap opens it
        this.pinned = true;
        this.setHover(p);
        return;
      }
      this.open(p);
    };
    this.on(c, "pointerup", end);
    this.on(c, "pointercancel", end);
    this.on(c, "pointerleave", (e) => {
      if (e.pointerType === "mouse" && !this.pointers.size && !this.pinned) this.setHover(null);
    });
    this.on(
      c,
      "wheel",
      (e) => {
        e.preventDefault();
        const [x, y] = local(e);
        this.zoomAt(x, y, Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)));
      },
      { passive: false },
    );
    this.on(c, "dblclick", (e) => {
      const [x, y] = local(e);
      this.zoomAt(x, y, 2);
    });
    this.on(c, "keydown", (e) => this.key(e));
    this.on(c, "focus", () => {
      // the cross and the keyboard pick only for keyboard focus, not after a click or tap
      this.keyboard = c.matches(":focus-visible");
      this.request();
    });
    this.on(c, "blur", () => {
      this.keyboard = false;
      this.request();
    });
    this.resizer = new ResizeObserver(() => {
      this.resize();
      this.request();
    });
    this.resizer.observe(this.stage);
  }

  on(target, type, fn, opts) {
    target.addEventListener(type, fn, { ...(opts || {}), signal: this.signal });
  }

  key(e) {
    const step = 0.12 * Math.min(this.width, this.height);
    const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    this.keyboard = true;
    if (moves[e.key]) {
      this.tx += moves[e.key][0];
      this.ty += moves[e.key][1];
    } else if (e.key === "+" || e.key === "=") {
      this.zoomAt(this.width / 2, this.height / 2, 1.5);
    } else if (e.key === "-" || e.key === "_") {
      this.zoomAt(this.width / 2, this.height / 2, 1 / 1.5);
    } else if (e.key === "0") {
      this.fit();
    } else if (e.key === "Enter" || e.key === " ") {
      if (this.hover) this.open(this.hover);
      e.preventDefault();
      return;
    } else if (e.key === "Escape") {
      this.setHover(null);
      return;
    } else {
      return;
    }
    e.preventDefault();
    this.pickCenter();
    this.request();
  }

  pickCenter() {
    const p = this.nearest(this.width / 2, this.height / 2, Math.max(30, this.hitRadius()));
    this.setHover(p);
    if (p) announce(altText(p));
  }

  open(p) {
    location.hash = artHref(p.id);
  }

  setHover(p) {
    if (p === this.hover) return;
    this.hover = p;
    if (p) this.showTip(p);
    else this.tip.hidden = true;
    this.canvas.style.cursor = p ? "pointer" : "";
    this.request();
  }

  showTip(p) {
    append(clear(this.tip), [
      h("img", { src: p.thumbnail_url, alt: "", width: 160, height: 160 }),
      h("span.map-tip-title", { text: displayTitle(p) }),
      byline(p) ? h("span.map-tip-artist", { text: byline(p) }) : null,
      this.pinned ? h("span.map-tip-hint", { text: "Tap again to open" }) : null,
    ]);
    this.tip.hidden = false;
    this.placeTip(p);
  }

  placeTip(p) {
    if (!p || this.tip.hidden) return;
    const [x, y] = this.toScreen(p);
    const tw = this.tip.offsetWidth || 176;
    const th = this.tip.offsetHeight || 210;
    const gap = Math.max(12, this.hitRadius());
    let left = x + gap;
    let top = y - th / 2;
    if (left + tw > this.width - 4) left = x - gap - tw;
    left = Math.max(4, Math.min(left, this.width - tw - 4));
    top = Math.max(4, Math.min(top, this.height - th - 4));
    this.tip.style.transform = `translate(${Math.round(left)}px, ${Math.round(top)}px)`;
  }

  // ---- drawing -----------------------------------------------------------------------------
  request() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.draw();
    });
  }

  image(p) {
    let img = this.images.get(p.id);
    if (!img) {
      img = new Image();
      img.decoding = "async";
      img.onload = () => this.request();
      img.src = p.thumbnail_url;
      this.images.set(p.id, img);
    }
    return img.complete && img.naturalWidth ? img : null;
  }

  draw() {
    if (this.signal.aborted) return;
    const ctx = this.canvas.getContext("2d");
    const css = getComputedStyle(this.stage);
    const accent = css.getPropertyValue("--accent").trim() || "#0b5cad";
    const ring = css.getPropertyValue("--text").trim() || "#111";
    const tileBg = css.getPropertyValue("--tile").trim() || "#ddd";
    const border = css.getPropertyValue("--border").trim() || "#ccc";
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);

    const tile = this.tileSize();
    const margin = Math.max(tile, 8);
    const visible = [];
    for (const p of this.points) {
      const [x, y] = this.toScreen(p);
      if (x > -margin && y > -margin && x < this.width + margin && y < this.height + margin) visible.push([p, x, y]);
    }
    const thumbs = tile >= THUMB_MIN && visible.length <= MAX_THUMBS;
    const drawn = new Map(); // id -> [w, h] of the thumbnail as drawn, for the highlight
    if (thumbs) {
      ctx.lineWidth = 1;
      for (const [p, x, y] of visible) {
        const img = this.image(p);
        let w = tile;
        let hgt = tile;
        if (img) {
          const s = Math.min(tile / img.naturalWidth, tile / img.naturalHeight);
          w = img.naturalWidth * s;
          hgt = img.naturalHeight * s;
          ctx.drawImage(img, x - w / 2, y - hgt / 2, w, hgt);
        } else {
          ctx.fillStyle = tileBg;
          ctx.fillRect(x - w / 2, y - hgt / 2, w, hgt);
        }
        drawn.set(p.id, [w, hgt]);
        const styled = this.colors.size > 1;
        ctx.strokeStyle = styled ? this.color(p, accent) : border;
        ctx.lineWidth = styled ? 2 : 1;
        ctx.strokeRect(x - w / 2 - 0.5, y - hgt / 2 - 0.5, w + 1, hgt + 1);
      }
    } else {
      const r = Math.max(2, Math.min(5, tile / 3));
      for (const [p, x, y] of visible) {
        ctx.beginPath();
        ctx.arc(x, y, r, 0, Math.PI * 2);
        ctx.fillStyle = this.color(p, accent);
        ctx.globalAlpha = 0.8;
        ctx.fill();
      }
      ctx.globalAlpha = 1;
    }
    if (this.hover) {
      const [x, y] = this.toScreen(this.hover);
      const [w, hgt] = drawn.get(this.hover.id) || [12, 12];
      const hw = w / 2 + 3;
      const hh = hgt / 2 + 3;
      ctx.lineWidth = 3;
      ctx.strokeStyle = accent;
      ctx.strokeRect(x - hw, y - hh, hw * 2, hh * 2);
      ctx.lineWidth = 1;
      ctx.strokeStyle = ring;
      ctx.strokeRect(x - hw - 2, y - hh - 2, hw * 2 + 4, hh * 2 + 4);
      this.placeTip(this.hover);
    }
    if (this.keyboard && document.activeElement === this.canvas) {
      const cx = this.width / 2;
      const cy = this.height / 2;
      ctx.strokeStyle = ring;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(cx - 10, cy);
      ctx.lineTo(cx + 10, cy);
      ctx.moveTo(cx, cy - 10);
      ctx.lineTo(cx, cy + 10);
      ctx.stroke();
    }
  }

  destroy() {
    this.legendEl?.remove();
    this.resizer?.disconnect();
    if (this.frame) cancelAnimationFrame(this.frame);
    for (const img of this.images.values()) img.onload = null;
    this.images.clear();
  }
}

function countBy(values) {
  const counts = new Map();
  for (const v of values) counts.set(v, (counts.get(v) || 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}
