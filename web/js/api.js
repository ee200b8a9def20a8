// The gallery's only door to the HTTP API (see shared/CONTRACT.md). Every error becomes an
// ApiError carrying the problem JSON's title and detail, so views can show a clear message.

export class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail || title);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

const cache = new Map(); // url -> {at, promise}: GETs answered again within CACHE_MS
const CACHE_MS = 60_000;
const CACHE_MAX = 200;

async function problem(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: fall through to the status line
  }
  const title = (body && body.title) || response.statusText || `HTTP ${response.status}`;
  const detail = (body && body.detail) || "";
  return new ApiError(response.status, title, detail);
}

async function send(url, init) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(0, "Cannot reach the gallery's API", "Is the stack running? Try `gallery up`.");
  }
  if (!response.ok) throw await problem(response);
  return response.json();
}

/** GET JSON. `fresh` skips the short-lived cache (status pages); `signal` aborts. */
export function getJSON(path, { signal, fresh = false } = {}) {
  if (fresh) return send(path, { signal, headers: { accept: "application/json" } });
  const hit = cache.get(path);
  if (hit && performance.now() - hit.at < CACHE_MS) return hit.promise;
  // The cached request is not tied to one view's signal: another view may reuse it.
  const promise = send(path, { headers: { accept: "application/json" } });
  cache.set(path, { at: performance.now(), promise });
  promise.catch(() => cache.delete(path));
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value);
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const abort = () => reject(new DOMException("aborted", "AbortError"));
    if (signal.aborted) return abort();
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject);
  });
}

export function postForm(path, form, { signal } = {}) {
  return send(path, { method: "POST", body: form, signal, headers: { accept: "application/json" } });
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") q.set(key, String(value));
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

export const api = {
  artworks: (params, opts) => getJSON(`/api/artworks${query(params)}`, opts),
  artwork: (id, opts) => getJSON(`/api/artworks/${id}`, opts),
  similar: (id, params, opts) => getJSON(`/api/artworks/${id}/similar${query(params)}`, opts),
  search: (file, params, opts) => {
    const form = new FormData();
    form.append("image", file, file.name || "upload");
    return postForm(`/api/search${query(params)}`, form, opts);
  },
  collections: (opts) => getJSON("/api/collections", opts),
  limits: (opts) => getJSON("/api/limits", opts),
  map: (params, opts) => getJSON(`/api/map${query(params)}`, opts),
  status: (opts) => getJSON("/api/status", { ...opts, fresh: true }),
  deadLetters: (limit, opts) => getJSON(`/api/dead-letters${query({ limit })}`, { ...opts, fresh: true }),
};
