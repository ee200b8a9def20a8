// The gallery's entry point: a hash router, so back/forward work and any view can be linked.
//   #/            browse (random picks, by collection)   #/art/<id>   one work and its neighbours
//   #/search      search by image                        #/map        2-D map of a collection
//   #/status      live state of the pipeline
// Each view module exports render(ctx) and may return a cleanup function; ctx.signal aborts
// when the user navigates away.

import { h, clear, notice, announce } from "./dom.js";
import * as home from "./views/home.js";

const ROUTES = [
  { name: "home", re: /^\/?$/, load: async () => home },
  { name: "art", re: /^\/art\/([0-9a-f]{64})\/?$/, load: () => import("./views/artwork.js") },
  { name: "search", re: /^\/search\/?$/, load: () => import("./views/search.js") },
  { name: "map", re: /^\/map\/?$/, load: () => import("./views/map.js") },
  { name: "status", re: /^\/status\/?$/, load: () => import("./views/status.js") },
];

const main = document.getElementById("main");
const scrolls = new Map(); // route key -> scrollY, to restore on back/forward
let current = { key: null, controller: null, cleanup: null };
let navigatedByLink = false;
let firstRoute = true;

if ("scrollRestoration" in history) history.scrollRestoration = "manual";

function parse() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const at = raw.indexOf("?");
  return {
    key: location.hash || "#/",
    path: at < 0 ? raw : raw.slice(0, at),
    params: new URLSearchParams(at < 0 ? "" : raw.slice(at + 1)),
  };
}

function highlightNav(name) {
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === name || (name === "art" && link.dataset.nav === "home")) {
      link.setAttribute("aria-current", "page");
    } else {
      link.removeAttribute("aria-current");
    }
  }
}

async function route() {
  const { key, path, params } = parse();
  const byLink = navigatedByLink;
  navigatedByLink = false;
  current.controller?.abort();
  try {
    current.cleanup?.();
  } catch (err) {
    console.error(err);
  }
  const controller = new AbortController();
  current = { key, controller, cleanup: null };

  const found = ROUTES.map((r) => ({ r, m: path.match(r.re) })).find((x) => x.m);
  highlightNav(found ? found.r.name : null);
  const restoreTo = byLink || firstRoute ? null : scrolls.get(key);
  const isFirst = firstRoute;
  firstRoute = false;
  if (restoreTo === undefined || restoreTo === null) window.scrollTo(0, 0);

  const ctx = {
    root: main,
    params,
    match: found ? found.m : null,
    signal: controller.signal,
    /** Call once the view's main content is on screen: restores scroll, moves focus. */
    ready() {
      if (controller.signal.aborted) return;
      if (typeof restoreTo === "number") window.scrollTo(0, restoreTo);
      if (!isFirst && byLink) {
        const target = main.querySelector("h1") || main;
        if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
        target.focus({ preventScroll: true });
      }
    },
    retry: () => route(),
    setTitle(title) {
      document.title = title ? `${title} · Gallery` : "Gallery · Artwork similarity";
    },
    /** Change this view's URL without a new history entry (and without re-rendering). */
    replaceParams(next) {
      const text = next.toString();
      const hash = `#${path}${text ? `?${text}` : ""}`;
      history.replaceState(history.state, "", hash);
      scrolls.set(hash, window.scrollY);
      current.key = hash;
    },
  };

  clear(main);
  main.setAttribute("aria-busy", "true");
  if (!found) {
    ctx.setTitle("Not found");
    main.append(
      h("h1", { text: "Nothing here" }),
      notice("empty", "This address is not a page of the gallery.", null, h("p", {}, h("a", { href: "#/", text: "Back to the gallery" }))),
    );
    main.removeAttribute("aria-busy");
    ctx.ready();
    return;
  }
  try {
    const view = await found.r.load();
    if (controller.signal.aborted) return;
    const cleanup = await view.render(ctx);
    if (controller.signal.aborted) {
      if (typeof cleanup === "function") cleanup();
      return;
    }
    current.cleanup = typeof cleanup === "function" ? cleanup : null;
  } catch (err) {
    if (err && err.name === "AbortError") return;
    console.error(err);
    clear(main);
    main.append(
      h("h1", { text: "Something went wrong" }),
      notice(
        "error",
        err.title || "The page could not be shown.",
        err.detail || String(err.message || err),
        h("p", {}, h("button.button", { type: "button", onclick: () => route(), text: "Try again" })),
      ),
    );
    ctx.ready();
  } finally {
    if (!controller.signal.aborted) main.removeAttribute("aria-busy");
  }
}

// Remember where each page was scrolled to, under the page it belongs to.
let scrollPending = false;
window.addEventListener(
  "scroll",
  () => {
    if (scrollPending) return;
    scrollPending = true;
    requestAnimationFrame(() => {
      scrollPending = false;
      if (current.key) scrolls.set(current.key, window.scrollY);
    });
  },
  { passive: true },
);

// A click on an in-app link is a new navigation (scroll to top, focus the heading); a
// hashchange without one is back/forward (restore the scroll position).
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a[href^='#']");
  if (!link) return;
  if (link.hasAttribute("data-skip")) {
    event.preventDefault();
    const target = main.querySelector("h1") || main;
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus();
    return;
  }
  if (link.getAttribute("href") === location.hash) return;
  navigatedByLink = true;
});

window.addEventListener("hashchange", route);
route();

export { announce };
