// Status: each component's health, the connector and its tasks, consumer lag, documents
// indexed, ingestion rate and the newest dead letters with their reasons; refreshed live
// (every few seconds, paused while the tab is hidden or when the user pauses it).

import { api } from "../api.js";
import { h, clear, fmt, notice } from "../dom.js";

const STATUS_EVERY_MS = 3000;
const LETTERS_EVERY_MS = 10000;
const RATE_WINDOW_S = 30;
const COMPONENTS = [
  ["kafka", "Kafka", "the event log"],
  ["connect", "Kafka Connect", "writes vectors to the index"],
  ["elasticsearch", "Elasticsearch", "the search index"],
  ["worker", "Vectorizer", "decodes and embeds images"],
  ["producer", "Watcher", "publishes files from the watched folder"],
  ["api", "API", "serves this gallery"],
];

// Samples of (time, documents) survive leaving the page, so the rate is there on return.
const samples = [];

function ingestionRate() {
  if (samples.length < 2) return null;
  const now = samples[samples.length - 1];
  const from = samples.find((s) => now.t - s.t <= RATE_WINDOW_S * 1000) || samples[0];
  if (from === now) {
    const prev = samples[samples.length - 2];
    return (now.docs - prev.docs) / ((now.t - prev.t) / 1000);
  }
  return (now.docs - from.docs) / ((now.t - from.t) / 1000);
}

function rateSeries() {
  const out = [];
  for (let i = 1; i < samples.length; i += 1) {
    const dt = (samples[i].t - samples[i - 1].t) / 1000;
    if (dt > 0) out.push(Math.max(0, (samples[i].docs - samples[i - 1].docs) / dt));
  }
  return out.slice(-40);
}

function sparkline(values) {
  const w = 120;
  const hgt = 28;
  if (values.length < 2) return h("span.spark-empty", { "aria-hidden": "true" });
  const max = Math.max(...values, 1);
  const pts = values.map((v, i) => `${((i / (values.length - 1)) * w).toFixed(1)},${(hgt - 2 - (v / max) * (hgt - 4)).toFixed(1)}`);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.setAttribute("class", "spark");
  svg.setAttribute("aria-hidden", "true");
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts.join(" "));
  svg.append(line);
  return svg;
}

function tile(label, value, detail, extra) {
  return h("div.tile", {}, h("p.tile-label", { text: label }), h("p.tile-value", { text: value }), detail ? h("p.tile-detail", { text: detail }) : null, extra || null);
}

function badge(ok, okText = "Healthy", badText = "Down") {
  return h(`span.badge.${ok ? "badge-ok" : "badge-bad"}`, {}, h("span", { "aria-hidden": "true", text: ok ? "● " : "▲ " }), ok ? okText : badText);
}

function stateBadge(state) {
  const ok = state === "RUNNING";
  const warn = state === "PAUSED" || state === "UNASSIGNED" || state === "RESTARTING";
  const kind = ok ? "badge-ok" : warn ? "badge-warn" : "badge-bad";
  return h(`span.badge.${kind}`, { text: state || "UNKNOWN" });
}

export async function render(ctx) {
  const { root, signal } = ctx;
  ctx.setTitle("Status");
  let paused = false;
  let lastOk = null;

  const updated = h("p.subtle.updated", { "aria-live": "off" });
  const pause = h("button.button", { type: "button", "aria-pressed": "false", text: "Pause live updates" });
  const banner = h("div.banner-slot");
  const tiles = h("div.tiles", {}, tile("Works indexed", "…"), tile("Ingestion rate", "…"), tile("Consumer lag", "…"), tile("Dead-lettered", "…"), tile("Connector", "…"));
  const components = h("div.table-wrap");
  const connector = h("div.connector");
  const letters = h("div.table-wrap");
  const lettersNote = h("p.subtle");
  clear(root).append(
    h("div.page-head", {}, h("div", {}, h("h1", { text: "Status" }), updated), h("div.toolbar", {}, h("div.field.field-button", {}, pause))),
    banner,
    h("section", { "aria-label": "Summary" }, tiles),
    h("section.status-section", { "aria-labelledby": "components-heading" }, h("h2", { id: "components-heading", text: "Components" }), components),
    h("section.status-section", { "aria-labelledby": "connector-heading" }, h("h2", { id: "connector-heading", text: "Connector" }), connector),
    h("section.status-section", { "aria-labelledby": "dlq-heading" }, h("h2", { id: "dlq-heading", text: "Dead letters" }), lettersNote, letters),
  );

  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "Resume live updates" : "Pause live updates";
    if (!paused) {
      pollStatus();
      pollLetters();
    }
  });

  const tick = setInterval(() => {
    if (lastOk) updated.textContent = `${paused ? "Paused · " : "Live · "}updated ${fmt.ago((Date.now() - lastOk) / 1000)}`;
  }, 1000);

  const renderStatus = (s) => {
    const docs = s.index_docs;
    if (typeof docs === "number") {
      samples.push({ t: Date.now(), docs });
      while (samples.length > 400) samples.shift();
    }
    const rate = ingestionRate();
    const lag = s.components?.worker?.info?.lag;
    const conn = s.connector || {};
    const tasks = conn.tasks || [];
    const running = tasks.filter((t) => t.state === "RUNNING").length;
    clear(tiles).append(
      tile("Works indexed", fmt.int(docs), s.index ? `index ${s.index}` : null),
      tile(
        "Ingestion rate",
        rate === null ? "measuring…" : `${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)} / s`,
        `documents per second, last ${RATE_WINDOW_S} s`,
        sparkline(rateSeries()),
      ),
      tile("Consumer lag", lag === undefined || lag === null ? "—" : fmt.int(lag), "images waiting for the vectorizer"),
      tile("Dead-lettered", fmt.int(s.dlq_count), "files that could not be indexed"),
      tile("Connector", conn.state || "—", tasks.length ? `${running} of ${tasks.length} tasks running` : conn.name || null),
    );

    const rows = COMPONENTS.map(([key, name, role]) => {
      const c = (s.components || {})[key] || { healthy: false, detail: "not reported" };
      return h(
        "tr",
        {},
        h("th", { scope: "row" }, h("span.component-name", { text: name }), h("span.component-role", { text: role })),
        h("td", {}, badge(Boolean(c.healthy))),
        h("td.detail", { text: c.detail || "" }),
        h("td.mono", { text: c.version || "—" }),
        h("td.mono", { text: c.pid ?? "—" }),
      );
    });
    clear(components).append(
      h(
        "table.data-table.components-table",
        {},
        h("thead", {}, h("tr", {}, ["Component", "Health", "Detail", "Version", "PID"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows),
      ),
    );

    clear(connector).append(
      h(
        "p.connector-line",
        {},
        h("span.mono", { text: conn.name || "(no connector)" }),
        " ",
        stateBadge(conn.state),
      ),
      tasks.length
        ? h("ul.task-list", { "aria-label": "Connector tasks" }, tasks.map((t) => h("li", {}, `task ${t.id} `, stateBadge(t.state), t.trace ? h("span.detail", { text: ` ${String(t.trace).split("\n")[0]}` }) : null)))
        : h("p.subtle", { text: "No tasks reported." }),
    );
  };

  const renderLetters = (d) => {
    lettersNote.textContent = d.total
      ? `${fmt.int(d.total)} in the dead-letter topic; the newest ${Math.min(d.items.length, d.total)} below.`
      : "";
    if (!d.items.length) {
      clear(letters).append(notice("empty", "No dead letters.", "Every file so far was indexed."));
      return;
    }
    const now = Date.now() / 1000;
    clear(letters).append(
      h(
        "table.data-table.letters-table",
        {},
        h("thead", {}, h("tr", {}, ["When", "Stage", "Reason", "File", "Detail"].map((t) => h("th", { scope: "col", text: t })))),
        h(
          "tbody",
          {},
          d.items.map((l) =>
            h(
              "tr",
              {},
              h("td.nowrap", { "data-label": "When", title: l.at ? new Date(l.at * 1000).toLocaleString() : null, text: l.at ? fmt.ago(now - l.at) : "—" }),
              h("td", { "data-label": "Stage", text: l.stage }),
              h("td", { "data-label": "Reason" }, h("span.badge.badge-bad", { text: l.reason })),
              h("td.mono.path", { "data-label": "File", text: l.path || l.key || "—" }),
              h("td.detail", { "data-label": "Detail", text: l.detail || "" }),
            ),
          ),
        ),
      ),
    );
  };

  let statusTimer = null;
  let lettersTimer = null;
  let first = true;
  const pollStatus = async () => {
    clearTimeout(statusTimer);
    if (signal.aborted) return;
    if (!paused && document.visibilityState !== "hidden") {
      try {
        const s = await api.status({ signal });
        lastOk = Date.now();
        clear(banner);
        renderStatus(s);
        updated.textContent = `${paused ? "Paused · " : "Live · "}updated just now`;
      } catch (err) {
        if (err.name === "AbortError") return;
        clear(banner).append(notice("error", `Status unavailable: ${err.title}`, err.detail || "Retrying…"));
      }
      if (first) {
        first = false;
        ctx.ready();
      }
    }
    if (!signal.aborted && !paused) statusTimer = setTimeout(pollStatus, STATUS_EVERY_MS);
  };
  const pollLetters = async () => {
    clearTimeout(lettersTimer);
    if (signal.aborted) return;
    if (!paused && document.visibilityState !== "hidden") {
      try {
        renderLetters(await api.deadLetters(20, { signal }));
      } catch (err) {
        if (err.name === "AbortError") return;
        clear(letters).append(notice("error", `Dead letters unavailable: ${err.title}`, err.detail));
      }
    }
    if (!signal.aborted && !paused) lettersTimer = setTimeout(pollLetters, LETTERS_EVERY_MS);
  };
  const onVisible = () => {
    if (document.visibilityState === "visible" && !paused) {
      pollStatus();
      pollLetters();
    }
  };
  document.addEventListener("visibilitychange", onVisible);
  pollLetters();
  await pollStatus();

  return () => {
    clearInterval(tick);
    clearTimeout(statusTimer);
    clearTimeout(lettersTimer);
    document.removeEventListener("visibilitychange", onVisible);
  };
}
