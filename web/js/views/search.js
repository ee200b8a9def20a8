// Search by image: drop a file, choose one, or paste one; the works that look most like it.
// The file is checked here first (size, type) for a quick, clear message; the API has the
// last word (413 too big, 415 not an image, 422 undecodable) and its answer is shown as well.

import { api } from "../api.js";
import { h, clear, fmt, notice, announce } from "../dom.js";
import { hitsGrid, loadPrefs, prefsQuery, savePrefs, similarityControls } from "../cards.js";

const FALLBACK_LIMITS = { max_image_bytes: 32 * 1024 * 1024, formats: ["JPEG", "PNG", "GIF", "WebP", "TIFF", "BMP"] };
const ACCEPTED_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/bmp", "image/x-ms-bmp"];

// The last search survives leaving the page, so "back" from a result shows it again.
let last = null; // {file, url, hash, result, prefs}

async function sha256(file) {
  if (!globalThis.crypto || !crypto.subtle) return null; // not a secure context
  try {
    const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  } catch {
    return null;
  }
}

function formats(limits) {
  const list = limits.formats || FALLBACK_LIMITS.formats;
  return `${list.slice(0, -1).join(", ")} or ${list[list.length - 1]}`;
}

/** A message for a file we will not send, or null if it looks fine. */
export function precheck(file, limits) {
  const name = file.name ? `“${file.name}”` : "This file";
  if (file.size === 0) return { title: `${name} is empty.`, detail: "Choose another file." };
  if (file.size > limits.max_image_bytes) {
    // rounded sizes that read the same ("32 MB" over "32 MB") are shown in bytes
    const [size, max] =
      fmt.bytes(file.size) === fmt.bytes(limits.max_image_bytes)
        ? [`${fmt.int(file.size)} bytes`, `${fmt.int(limits.max_image_bytes)} bytes`]
        : [fmt.bytes(file.size), fmt.bytes(limits.max_image_bytes)];
    return {
      title: `${name} is too big (${size}).`,
      detail: `The largest image the gallery accepts is ${max}. Try a smaller copy.`,
    };
  }
  if (file.type && !file.type.startsWith("image/")) {
    return { title: `${name} is not an image.`, detail: `Choose a ${formats(limits)} file.` };
  }
  if (file.type && !ACCEPTED_TYPES.includes(file.type)) {
    const kind = file.type.replace("image/", "").replace("+xml", "").toUpperCase();
    return { title: `${kind} images are not supported.`, detail: `Choose a ${formats(limits)} file.` };
  }
  return null;
}

function serverMessage(err, file, limits) {
  const name = file.name ? `“${file.name}”` : "This file";
  switch (err.status) {
    case 413:
      return { title: `${name} is too big.`, detail: `The largest image the gallery accepts is ${fmt.bytes(limits.max_image_bytes)}. (${err.detail})` };
    case 415:
      return { title: `${name} is not an image the gallery can read.`, detail: `Choose a ${formats(limits)} file. (${err.detail})` };
    case 422:
      return { title: `${name} cannot be decoded.`, detail: `It may be damaged or truncated. (${err.detail})` };
    case 429:
      return { title: "The gallery is busy with other searches.", detail: "Try again in a moment." };
    default:
      return { title: err.title || "The search failed.", detail: err.detail || "" };
  }
}

export async function render(ctx) {
  const { root, params, signal } = ctx;
  ctx.setTitle("Search by image");
  let prefs = loadPrefs(params);
  let limits = FALLBACK_LIMITS;
  api.limits({ signal }).then((l) => (limits = l)).catch(() => {});

  const input = h("input.file-input", { type: "file", id: "search-file", name: "image", accept: "image/*" });
  const zone = h(
    "div.dropzone",
    {},
    input,
    h("span.dropzone-icon", { "aria-hidden": "true", text: "⤓" }),
    h("label.button.button-primary", { for: "search-file", text: "Choose an image" }),
    h("p.dropzone-hint", {}, "or drop one here", h("span.paste-hint", { text: ", or paste it (Ctrl+V / ⌘V)" })),
    h("p.subtle.dropzone-formats", { text: "" }),
  );
  const message = h("div.message-area");
  const preview = h("div.preview-area");
  const took = h("p.subtle.took", { "aria-live": "polite" });
  const results = h("div.grid-area");
  const controlsSlot = h("div.controls-slot");
  clear(root).append(
    h("div.page-head", {}, h("div", {}, h("h1", { text: "Search by image" }), h("p.subtle", { text: "Find the works that look most like a picture of your own. The image is compared, not stored." }))),
    h("div.search-layout", {}, zone, preview),
    message,
    h("section.similar", { "aria-labelledby": "results-heading" }, h("div.section-head", {}, h("h2", { id: "results-heading", text: "Results" }), took), controlsSlot, results),
  );
  const formatsLine = zone.querySelector(".dropzone-formats");
  const setFormatsLine = () => (formatsLine.textContent = `${formats(limits)}, up to ${fmt.bytes(limits.max_image_bytes)}`);
  setFormatsLine();
  api.limits({ signal }).then(setFormatsLine).catch(() => {});

  const showError = (msg) => {
    clear(message).append(notice("error", msg.title, msg.detail));
    announce(`${msg.title} ${msg.detail || ""}`);
  };

  const showPreview = (entry) => {
    clear(preview).append(
      h(
        "figure.preview",
        {},
        h("img", { src: entry.url, alt: `Your image: ${entry.file.name || "pasted image"}`, onerror: (e) => e.target.remove() }),
        h("figcaption", {}, h("span.preview-name", { text: entry.file.name || "Pasted image" }), h("span.subtle", { text: ` · ${fmt.bytes(entry.file.size)}` })),
      ),
    );
  };

  const showResults = (entry) => {
    const hits = entry.result.hits;
    const used = entry.prefs || prefs; // the options this result was made with
    took.textContent = `${hits.length} ${hits.length === 1 ? "work" : "works"} · ${used.mode === "knn" ? "approximate" : "exact"} ${used.metric === "l2" ? "L2" : "cosine"} · ${Math.round(entry.result.took_ms)} ms`;
    if (!hits.length) {
      clear(results).append(notice("empty", "No works to compare with.", used.collection ? `Nothing in “${used.collection}”; choose “All collections”.` : "The gallery is empty: add images to the watched folder."));
    } else {
      clear(results).append(hitsGrid(hits, { prefs: used, queryHash: entry.hash, label: "Works similar to your image" }));
    }
  };

  // A file that fails leaves the last good search on screen (its preview and results);
  // the message above them names the file that failed.
  const restoreLast = (failed) => {
    if (failed && (!last || failed.url !== last.url)) URL.revokeObjectURL(failed.url);
    if (last && last.result) {
      showPreview(last);
      showResults(last);
    } else {
      clear(preview);
      took.textContent = "";
      clear(results).append(notice("empty", "No image yet.", "Choose, drop or paste an image to see the works most like it."));
    }
  };

  let latest = 0; // a slower, earlier search never overwrites a newer one
  let inflight = null;
  const run = async (entry) => {
    const mine = ++latest;
    inflight?.abort();
    inflight = new AbortController();
    const stop = () => inflight.abort();
    signal.addEventListener("abort", stop, { once: true });
    clear(message);
    results.setAttribute("aria-busy", "true");
    results.classList.add("is-loading");
    took.textContent = "Searching…";
    try {
      entry.result = await api.search(
        entry.file,
        { k: prefs.k, metric: prefs.metric, mode: prefs.mode, collection: prefs.collection || undefined },
        { signal: inflight.signal },
      );
      if (mine !== latest) return;
      entry.prefs = { ...prefs };
      if (last && last.url !== entry.url) URL.revokeObjectURL(last.url);
      last = entry;
      showResults(entry);
      announce(`${entry.result.hits.length} similar works found`);
    } catch (err) {
      if (err.name === "AbortError" || mine !== latest) return;
      showError(serverMessage(err, entry.file, limits));
      restoreLast(entry);
    } finally {
      signal.removeEventListener("abort", stop);
      if (mine === latest) {
        results.removeAttribute("aria-busy");
        results.classList.remove("is-loading");
      }
    }
  };

  const accept = async (file) => {
    if (!file) return;
    const problem = precheck(file, limits);
    if (problem) {
      latest += 1; // a search still running for an earlier file is no longer wanted
      inflight?.abort();
      results.removeAttribute("aria-busy");
      results.classList.remove("is-loading");
      showError(problem);
      restoreLast(null);
      return;
    }
    const entry = { file, url: URL.createObjectURL(file), hash: null, result: null };
    showPreview(entry);
    entry.hash = await sha256(file);
    await run(entry);
  };

  input.addEventListener("change", () => {
    accept(input.files && input.files[0]);
    input.value = ""; // the same file again still fires change
  });

  // Drag and drop anywhere on the page; the zone lights up while something is dragged over.
  let depth = 0;
  const hasFiles = (e) => e.dataTransfer && [...(e.dataTransfer.types || [])].includes("Files");
  const onEnter = (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth += 1;
    zone.classList.add("is-dragging");
  };
  const onOver = (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  };
  const onLeave = () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove("is-dragging");
  };
  const onDrop = (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    zone.classList.remove("is-dragging");
    const files = [...e.dataTransfer.files];
    if (files.length > 1) announce("Only the first file is searched.");
    accept(files[0]);
  };
  const onPaste = (e) => {
    const files = [...((e.clipboardData && e.clipboardData.files) || [])];
    if (!files.length) return;
    e.preventDefault();
    accept(files[0]);
  };
  document.addEventListener("dragenter", onEnter);
  document.addEventListener("dragover", onOver);
  document.addEventListener("dragleave", onLeave);
  document.addEventListener("drop", onDrop);
  document.addEventListener("paste", onPaste);

  api
    .collections({ signal })
    .catch(() => ({ collections: [] }))
    .then((c) =>
      controlsSlot.append(
        similarityControls(prefs, c.collections || [], (next) => {
          prefs = next;
          savePrefs(prefs);
          ctx.replaceParams(new URLSearchParams(prefsQuery(prefs).slice(1)));
          if (last && last.file) run({ ...last });
        }),
      ),
    );

  if (last && last.result) {
    showPreview(last);
    const samePrefs = JSON.stringify(last.prefs) === JSON.stringify(prefs);
    if (samePrefs) showResults(last);
    else run({ ...last });
  } else {
    results.append(notice("empty", "No image yet.", "Choose, drop or paste an image to see the works most like it."));
  }
  ctx.ready();

  return () => {
    document.removeEventListener("dragenter", onEnter);
    document.removeEventListener("dragover", onOver);
    document.removeEventListener("dragleave", onLeave);
    document.removeEventListener("drop", onDrop);
    document.removeEventListener("paste", onPaste);
  };
}
