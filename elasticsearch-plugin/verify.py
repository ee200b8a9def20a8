#!/usr/bin/env python3
"""End-to-end check of the gallery-vector-score plugin against a running Elasticsearch node.

    python elasticsearch-plugin/verify.py --url http://127.0.0.1:19201

Needs numpy (e.g. /work/main/.venv/bin/python); HTTP is plain urllib. Steps:

1. the node lists the plugin (GET _nodes/plugins) and the ``gallery_vector`` language with the
   ``score`` context (GET _script_language);
2. creates a throw-away index (2 shards, several segments) with an 8-dim ``embedding``
   (similarity cosine), an 8-dim unit-length ``unit`` (similarity dot_product), 200 random
   documents plus a few documents without vectors;
3. runs script_score queries for cosine, l2 and dot_product and checks the top 10 ids and scores
   against brute-force numpy (float32 tolerance), with an ``exists`` and a ``match_all`` inner query;
4. checks that bad requests (unknown source, missing/unknown params, wrong dims, unmapped or
   non-vector field, on_missing=error) fail with HTTP 400 and a readable reason.

Exits non-zero on the first failed check; deletes the index unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

import numpy as np

LANG = "gallery_vector"
PLUGIN = "gallery-vector-score"
DIMS = 8
N_DOCS = 200
N_MISSING = 5
TOP_K = 10
# _score is a float32; the server computes in float32/double from float32 vectors that it may have
# normalised and de-normalised (cosine fields), so allow a few float32 ulps.
RTOL = 1e-5
ATOL = 1e-6


class CheckFailed(AssertionError):
    pass


def check(cond: bool, message: str) -> None:
    if not cond:
        raise CheckFailed(message)


class Node:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def request(
        self, method: str, path: str, body: Any = None, ndjson: str | None = None
    ) -> tuple[int, Any]:
        data = None
        headers = {}
        if ndjson is not None:
            data = ndjson.encode()
            headers["Content-Type"] = "application/x-ndjson"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            payload = e.read()
            try:
                return e.code, json.loads(payload)
            except ValueError:
                return e.code, payload.decode(errors="replace")

    def ok(self, method: str, path: str, body: Any = None, ndjson: str | None = None) -> Any:
        status, payload = self.request(method, path, body, ndjson)
        check(200 <= status < 300, f"{method} {path} -> HTTP {status}: {json.dumps(payload)[:800]}")
        return payload


def reason_of(payload: Any) -> str:
    """The readable reason of an Elasticsearch error body: the root cause, plus the innermost cause if it says more."""
    if not isinstance(payload, dict) or "error" not in payload:
        return str(payload)
    err = payload["error"]
    if isinstance(err, str):
        return err
    causes = err.get("root_cause") or [err]
    root = f"{causes[0].get('type')}: {causes[0].get('reason')}"
    inner = None
    while isinstance(err.get("caused_by"), dict):
        err = inner = err["caused_by"]
    if inner is not None and inner.get("reason") and inner["reason"] not in root:
        root += f" (caused by {inner.get('type')}: {inner['reason']})"
    return root


def script(source: str, field: str, query_vector: Any, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"field": field, "query_vector": query_vector}
    params.update(extra)
    return {"lang": LANG, "source": source, "params": params}


def script_score(inner: dict[str, Any], scr: dict[str, Any], size: int = TOP_K) -> dict[str, Any]:
    return {
        "size": size,
        "_source": False,
        "fields": ["id"],
        "query": {"script_score": {"query": inner, "script": scr}},
    }


def numpy_scores(kind: str, docs: np.ndarray, q: np.ndarray) -> np.ndarray:
    d = docs.astype(np.float64)
    qq = q.astype(np.float64)
    if kind == "cosine":
        cos = d @ qq / (np.linalg.norm(d, axis=1) * np.linalg.norm(qq))
        return cos + 1.0
    if kind == "l2":
        return 1.0 / (1.0 + np.linalg.norm(d - qq, axis=1))
    if kind == "dot_product":
        return (1.0 + d @ qq) / 2.0
    raise ValueError(kind)


def compare_top(
    kind: str, hits: list[dict[str, Any]], ids: list[str], expected: np.ndarray
) -> float:
    order = np.argsort(-expected, kind="stable")[:TOP_K]
    want_ids = [ids[i] for i in order]
    want_scores = expected[order]
    got_ids = [h["fields"]["id"][0] for h in hits]
    got_scores = np.array([h["_score"] for h in hits], dtype=np.float64)
    check(len(got_ids) == TOP_K, f"{kind}: expected {TOP_K} hits, got {len(got_ids)}")
    check(
        np.allclose(got_scores, want_scores, rtol=RTOL, atol=ATOL),
        f"{kind}: scores differ\n  es:    {got_scores.tolist()}\n  numpy: {want_scores.tolist()}",
    )
    if got_ids != want_ids:
        # Only acceptable where numpy itself has a tie within tolerance at that rank.
        by_id = dict(zip(ids, expected))
        for rank, (g, w) in enumerate(zip(got_ids, want_ids)):
            if g != w:
                check(
                    abs(by_id[g] - by_id[w]) <= ATOL + RTOL * abs(by_id[w]),
                    f"{kind}: rank {rank}: es id {g} != numpy id {w}\n  es:    {got_ids}\n  numpy: {want_ids}",
                )
    return float(np.max(np.abs(got_scores - want_scores)))


def expect_400(node: Node, index: str, label: str, body: dict[str, Any], needle: str) -> str:
    status, payload = node.request("POST", f"/{index}/_search", body)
    reason = reason_of(payload)
    check(status == 400, f"{label}: expected HTTP 400, got {status}: {reason}")
    check(needle in reason, f"{label}: reason does not mention {needle!r}: {reason}")
    print(f"  400 {label}: {reason}")
    return reason


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--url",
        default=os.environ.get("ES_URL", "http://127.0.0.1:9200"),
        help="node URL (default $ES_URL or %(default)s)",
    )
    ap.add_argument("--index", default="gallery-vector-score-verify")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--keep", action="store_true", help="do not delete the index afterwards")
    args = ap.parse_args(argv)

    node = Node(args.url)
    index = args.index
    rng = np.random.default_rng(args.seed)

    # 1. plugin and language are registered
    # (GET / is not served by the integ-test-zip distribution, so the version comes from _nodes)
    plugins = node.ok(
        "GET",
        "/_nodes/plugins?filter_path=nodes.*.version,nodes.*.plugins.name,nodes.*.plugins.version",
    )
    for node_id, n in plugins["nodes"].items():
        print(f"node {args.url} ({node_id}): Elasticsearch {n['version']}")
        names = {p["name"]: p["version"] for p in n.get("plugins", [])}
        check(PLUGIN in names, f"node {node_id} does not list plugin {PLUGIN}: {names}")
        print(f"  _nodes/plugins: {PLUGIN} {names[PLUGIN]} on node {node_id}")
    langs = node.ok("GET", "/_script_language")
    ctx = {lc["language"]: lc["contexts"] for lc in langs["language_contexts"]}
    check(
        "score" in ctx.get(LANG, []),
        f"_script_language: {LANG} with the score context missing: {ctx}",
    )
    print(f"  _script_language: {LANG} contexts={ctx[LANG]}")

    # 2. index with random vectors (bulk in batches with refreshes: several segments per shard)
    node.request("DELETE", f"/{index}")
    node.ok(
        "PUT",
        f"/{index}",
        {
            "settings": {"number_of_shards": 2, "number_of_replicas": 0, "refresh_interval": -1},
            "mappings": {
                "properties": {
                    "id": {"type": "keyword"},
                    "title": {"type": "keyword"},
                    "embedding": {
                        "type": "dense_vector",
                        "dims": DIMS,
                        "index": True,
                        "similarity": "cosine",
                    },
                    "unit": {
                        "type": "dense_vector",
                        "dims": DIMS,
                        "index": True,
                        "similarity": "dot_product",
                    },
                }
            },
        },
    )
    docs = rng.normal(size=(N_DOCS, DIMS)).astype(np.float32)
    unit = docs / np.linalg.norm(docs, axis=1, keepdims=True).astype(np.float32)
    unit = unit.astype(np.float32)
    ids = [f"art-{i:04d}" for i in range(N_DOCS)]
    for start in range(0, N_DOCS, 50):
        lines = []
        for i in range(start, min(start + 50, N_DOCS)):
            lines.append(json.dumps({"index": {"_id": ids[i]}}))
            lines.append(
                json.dumps({"id": ids[i], "embedding": docs[i].tolist(), "unit": unit[i].tolist()})
            )
        res = node.ok("POST", f"/{index}/_bulk", ndjson="\n".join(lines) + "\n")
        check(not res["errors"], f"bulk errors: {json.dumps(res)[:800]}")
        node.ok("POST", f"/{index}/_refresh")
    lines = []
    for i in range(N_MISSING):
        lines.append(json.dumps({"index": {"_id": f"novec-{i}"}}))
        lines.append(json.dumps({"id": f"novec-{i}", "title": "no vector"}))
    res = node.ok("POST", f"/{index}/_bulk?refresh=true", ndjson="\n".join(lines) + "\n")
    check(not res["errors"], f"bulk errors: {json.dumps(res)[:800]}")
    count = node.ok("GET", f"/{index}/_count")["count"]
    check(count == N_DOCS + N_MISSING, f"count {count}")
    segs = node.ok("GET", f"/_cat/segments/{index}?format=json")
    print(
        f"  indexed {N_DOCS} vectors + {N_MISSING} docs without vectors into {index} ({len(segs)} segments)"
    )

    exists = {"exists": {"field": "embedding"}}
    match_all = {"match_all": {}}

    # 3. scores versus numpy
    print("scores versus numpy (top 10):")
    worst = 0.0
    for trial in range(3):
        q = rng.normal(size=DIMS).astype(np.float32)
        q_list = [float(x) for x in q]
        for kind, field, vectors, qv in (
            ("cosine", "embedding", docs, q),
            ("l2", "embedding", docs, q),
            ("dot_product", "unit", unit, (q / np.linalg.norm(q)).astype(np.float32)),
        ):
            qv_list = [float(x) for x in qv]
            expected = numpy_scores(kind, vectors, qv)
            for inner_name, inner in (
                ("exists", {"exists": {"field": field}}),
                ("match_all", match_all),
            ):
                res = node.ok(
                    "POST", f"/{index}/_search", script_score(inner, script(kind, field, qv_list))
                )
                diff = compare_top(kind, res["hits"]["hits"], ids, expected)
                worst = max(worst, diff)
                total = res["hits"]["total"]["value"]
                want_total = N_DOCS if inner_name == "exists" else N_DOCS + N_MISSING
                check(total == want_total, f"{kind}/{inner_name}: total {total} != {want_total}")
                if trial == 0 and inner_name == "exists":
                    hits = res["hits"]["hits"]
                    print(f"  {kind:<11} field={field:<9} max|es-numpy|={diff:.2e}")
                    order = np.argsort(-expected, kind="stable")[:TOP_K]
                    for h, i in zip(hits[:3], order[:3]):
                        print(
                            f"    {h['fields']['id'][0]} es={h['_score']:.7f}  numpy={ids[i]} {expected[i]:.7f}"
                        )
        # docs without a vector score exactly 0 under match_all (on_missing=zero, the default)
        res = node.ok(
            "POST",
            f"/{index}/_search",
            {
                "size": N_MISSING,
                "_source": False,
                "fields": ["id"],
                "sort": [{"_score": "asc"}],
                "query": {
                    "script_score": {
                        "query": match_all,
                        "script": script("cosine", "embedding", q_list),
                    }
                },
            },
        )
        low = [(h["fields"]["id"][0], h["_score"]) for h in res["hits"]["hits"]]
        check(
            all(i.startswith("novec-") and s == 0.0 for i, s in low),
            f"missing-vector docs should score 0: {low}",
        )
        # min_score drops them
        res = node.ok(
            "POST",
            f"/{index}/_search",
            {
                "size": 0,
                "query": {
                    "script_score": {
                        "query": match_all,
                        "script": script("l2", "embedding", q_list),
                        "min_score": 1e-9,
                    }
                },
            },
        )
        check(res["hits"]["total"]["value"] == N_DOCS, f"min_score total {res['hits']['total']}")
    print(
        f"  all 3 random queries x 3 functions x 2 inner queries match numpy; worst |diff| = {worst:.2e}"
    )
    print(
        f"  docs without a vector: score 0.0 under match_all (on_missing=zero); excluded by exists or min_score"
    )

    # explanation
    q_list = [float(x) for x in rng.normal(size=DIMS).astype(np.float32)]
    res = node.ok(
        "POST",
        f"/{index}/_search",
        {
            "size": 1,
            "explain": True,
            "query": {
                "script_score": {"query": exists, "script": script("l2", "embedding", q_list)}
            },
        },
    )
    print(f"  explain: {res['hits']['hits'][0]['_explanation']['description']}")

    # 4. errors are HTTP 400 with a readable reason
    print("bad requests:")
    qv = [0.1] * DIMS
    expect_400(
        node,
        index,
        "unknown source",
        script_score(exists, script("manhattan", "embedding", qv)),
        "must be one of [cosine, l2, dot_product]",
    )
    expect_400(
        node,
        index,
        "missing query_vector",
        script_score(exists, {"lang": LANG, "source": "cosine", "params": {"field": "embedding"}}),
        "requires param [query_vector]",
    )
    expect_400(
        node,
        index,
        "missing field",
        script_score(exists, {"lang": LANG, "source": "l2", "params": {"query_vector": qv}}),
        "requires param [field]",
    )
    expect_400(
        node,
        index,
        "unknown param",
        script_score(exists, script("l2", "embedding", qv, vector=qv)),
        "unknown script params [vector]",
    )
    expect_400(
        node,
        index,
        "wrong dims",
        script_score(exists, script("cosine", "embedding", [0.1, 0.2, 0.3])),
        "different number of dimensions [3]",
    )
    expect_400(
        node,
        index,
        "zero vector (cosine)",
        script_score(exists, script("cosine", "embedding", [0.0] * DIMS)),
        "zero vector",
    )
    expect_400(
        node,
        index,
        "non-numeric vector",
        script_score(exists, script("l2", "embedding", ["a"] * DIMS)),
        "finite numbers",
    )
    expect_400(
        node,
        index,
        "unmapped field",
        script_score(match_all, script("l2", "embeding", qv)),
        "is not mapped",
    )
    expect_400(
        node,
        index,
        "not a dense_vector",
        script_score(match_all, script("l2", "title", qv)),
        "expected [dense_vector]",
    )
    expect_400(
        node,
        index,
        "on_missing=error",
        script_score(
            match_all,
            script("cosine", "embedding", qv, on_missing="error"),
            size=N_DOCS + N_MISSING,
        ),
        "has no value for dense_vector field [embedding]",
    )
    res = node.ok(
        "POST",
        f"/{index}/_search",
        script_score(exists, script("cosine", "embedding", qv, on_missing="error")),
    )
    check(
        res["hits"]["total"]["value"] == N_DOCS,
        "on_missing=error with an exists filter should succeed",
    )

    if not args.keep:
        node.ok("DELETE", f"/{index}")
    print("OK: gallery_vector scores match numpy and bad requests are rejected with 400")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CheckFailed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
