"""`gallery`: the operator's command line (see ../shared/CONTRACT.md for the stable names).

Run as `.venv/bin/gallery --help`.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from devstack.errors import StackError
from gallery_cli import ml
from gallery_cli.options import JsonFlag, closed_choice
from gallery_core.settings import Settings, get_settings
from gallery_core.status import StackStatus

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
bench_app = typer.Typer(no_args_is_help=True, help="Performance benchmarks (print figures).")
app.add_typer(bench_app, name="bench")
# Model training, evaluation and speed (gallery_cli/ml.py).
app.command("train")(ml.train)
app.command("eval")(ml.evaluate)
bench_app.command("model")(ml.bench_model)

console = Console(stderr=True)


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/] {exc}")
    raise typer.Exit(1)


@app.callback()
def _configure(verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # The Elasticsearch client logs each retry of a refused connection with its traceback;
        # the commands report what failed themselves (gallery status: "unreachable at ...").
        logging.getLogger("elastic_transport").setLevel(logging.ERROR)


ClusterFlag = Annotated[
    bool,
    typer.Option(
        "--cluster",
        help="The production topology on this machine: 3 Kafka brokers (RF 3, min ISR 2), "
        "2 Connect workers, 2 Elasticsearch nodes (1 replica); kept until `gallery down`.",
    ),
]


def _stack_settings(cluster: bool) -> Settings:
    from devstack.stack import use_cluster

    settings = get_settings()
    if cluster:
        try:
            settings = use_cluster(settings, console)
        except StackError as exc:
            _fail(exc)
        get_settings.cache_clear()
    return settings


@app.command()
def up(cluster: ClusterFlag = False) -> None:
    """Install what is missing, start the servers, topics, index, connector, worker, watcher."""
    from devstack.stack import status as stack_status
    from devstack.stack import up as stack_up
    from gallery_cli.refill import republish_if_recreated

    settings = _stack_settings(cluster)
    try:
        state = stack_up(settings, console)
    except StackError as exc:
        _fail(exc)
    if republish_if_recreated(settings, console):
        state = stack_status(settings)
    _print_status(state)


@app.command()
def down() -> None:
    """Stop every process this checkout started (the local cluster too, and forget it)."""
    from devstack.stack import down as stack_down
    from devstack.stack import forget_cluster

    stopped = stack_down(get_settings(), console)
    if forget_cluster():
        console.print("the next `gallery up` starts the single-node stack")
    console.print("nothing was running" if not stopped else f"stopped: {', '.join(stopped)}")


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Health of each component, the connector, the index and the dead-letter topic."""
    from devstack.stack import status as stack_status

    state = stack_status(get_settings())
    if as_json:
        sys.stdout.write(json.dumps(state.as_json(), indent=2) + "\n")
    else:
        _print_status(state)
    if not all(state.components[c].healthy for c in ("kafka", "connect", "elasticsearch")):
        raise typer.Exit(1)


@app.command()
def init() -> None:
    """Create topics, index and connectors on already-running servers (docker-compose's init)."""
    from devstack import bootstrap
    from gallery_core.clients import es_client
    from gallery_core.contracts import load_connectors, load_index, load_topics

    settings = get_settings()
    try:
        bootstrap.ensure_topics(settings, load_topics().all())
        with es_client(settings) as es:
            bootstrap.ensure_index(es, load_index())
        for spec in load_connectors():
            bootstrap.ensure_connector(settings, spec, timeout=300)
    except StackError as exc:
        _fail(exc)
    console.print("topics, index and connectors are in place")


@app.command()
def ingest(
    directory: Annotated[Path, typer.Argument(help="Folder to publish (recursively).")],
    wait: Annotated[
        bool, typer.Option(help="Return once each image is searchable or dead-lettered.")
    ] = False,
    force: Annotated[
        bool, typer.Option(help="Publish images again even if unchanged (after a model change).")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits at most.")] = 1800.0,
    as_json: JsonFlag = False,
) -> None:
    """Publish every image under DIRECTORY; its top-level subfolders are collections.

    A refused file is dead-lettered once per version of it, with or without --force.
    """
    from producer.ingest import ingest as run_ingest

    if not directory.is_dir():
        _fail(ValueError(f"{directory} is not a folder"))
    summary = run_ingest(
        get_settings(), directory, wait=wait, force=force, timeout_s=timeout, console=console
    )
    if as_json:
        sys.stdout.write(json.dumps(summary.as_dict(), indent=2) + "\n")
    else:
        out = Console()
        out.print(
            f"accepted {summary.accepted}, unchanged {summary.unchanged}, "
            f"rejected {len(summary.rejected)}"
            + (
                f", indexed {summary.indexed}, dead-lettered {summary.dead_lettered}, "
                f"pending {summary.pending}"
                if wait
                else ""
            )
            + f" in {summary.seconds:.1f}s"
        )
        for item in summary.rejected + summary.dead_letters:
            out.print(f"  [yellow]{item['reason']}[/]: {item['path']} {item.get('detail', '')}")
    if summary.failed_delivery or summary.pending:
        raise typer.Exit(1)


@app.command("export-neighbours")
def export_neighbours(
    directory: Annotated[Path, typer.Argument(help="Folder for the JSON files.")],
    k: Annotated[int, typer.Option(min=1, max=200, help="Neighbours per work.")] = 30,
    metric: Annotated[str, typer.Option(help="cosine or l2.")] = "cosine",
    mode: Annotated[str, typer.Option(help="knn (fast) or exact.")] = "knn",
    collection: Annotated[str | None, typer.Option(help="Only this collection.")] = None,
) -> None:
    """Write one JSON file per artwork with its k nearest works, for static sites."""
    from gallery_api.export import export_neighbours as run_export
    from gallery_api.queries import Metric
    from gallery_api.search import Mode

    written = run_export(
        get_settings(),
        directory,
        k=k,
        metric=closed_choice(metric, Metric, "--metric"),
        mode=closed_choice(mode, Mode, "--mode"),
        collection=collection,
        console=console,
    )
    Console().print(f"wrote {written} files to {directory}")


@app.command()
def demo(
    per_style: Annotated[int, typer.Option(help="Generated paintings per style.")] = 25,
    clipart: Annotated[bool, typer.Option(help="Include Debian's openclipart-png.")] = True,
    cluster: ClusterFlag = False,
) -> None:
    """Start the stack, fill the watched folder with the demo collection, print the URL."""
    from devstack.stack import up as stack_up
    from gallery_cli.demo import populate_demo

    settings = _stack_settings(cluster)
    try:
        stack_up(settings, console)
    except StackError as exc:
        _fail(exc)
    summary = populate_demo(settings, per_style=per_style, clipart=clipart, console=console)
    out = Console()
    out.print(
        f"demo collection: {summary.indexed} works searchable, "
        f"{summary.dead_lettered} dead-lettered, {summary.pending} still pending"
    )
    out.print(f"\n[bold green]Open the gallery: {settings.api.url}/[/]\n")
    if summary.pending:
        raise typer.Exit(1)


@bench_app.command("sink")
def bench_sink(
    records: Annotated[int, typer.Option(help="Vector records to produce.")] = 300,
    as_json: JsonFlag = False,
) -> None:
    """Time from producing a vector record to the sink topic until it is searchable."""
    from benchmarks.sink import run_sink_benchmark

    result = run_sink_benchmark(get_settings(), records=records, console=console)
    _print_result("Sink freshness: produced -> searchable in Elasticsearch", result, as_json)


@bench_app.command("ingest")
def bench_ingest(
    images: Annotated[int, typer.Option(help="Images for the throughput runs.")] = 1000,
    fresh_files: Annotated[int, typer.Option(help="Files for the freshness run.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """End-to-end images/s into Elasticsearch vs the bare model, and watched-folder freshness."""
    from benchmarks.ingest import run_ingest_benchmark

    result = run_ingest_benchmark(
        get_settings(), images=images, fresh_files=fresh_files, console=console
    )
    _print_result("Ingestion: end to end vs the bare model", result, as_json)


@bench_app.command("query")
def bench_query(
    sizes: Annotated[
        str, typer.Option(help="Comma-separated index sizes (synthetic vectors).")
    ] = "10000,100000",
    queries: Annotated[int, typer.Option(help="Timed similar-by-id queries per size.")] = 200,
    keep: Annotated[bool, typer.Option(help="Keep the bench-vectors-<N> indices.")] = False,
    index_types: Annotated[
        str,
        typer.Option(
            help="Compare these index_options types instead (e.g. hnsw,int8_hnsw,bbq_hnsw): "
            "load time, memory, kNN recall and latency, exact over all and in a collection."
        ),
    ] = "",
    collections: Annotated[
        int, typer.Option(help="With --index-types: collections of equal size.")
    ] = 100,
    exact_queries: Annotated[
        int, typer.Option(help="With --index-types: exact queries over the whole index.")
    ] = 20,
    num_candidates: Annotated[
        str,
        typer.Option(
            help="With --index-types: more kNN num_candidates to try on the same index "
            "(comma-separated, e.g. 200,400): recall against latency."
        ),
    ] = "",
    oversample: Annotated[
        str,
        typer.Option(
            help="With --index-types: rescore_vector.oversample values (1 to 10) to try at "
            "each num_candidates on the quantised types (comma-separated, e.g. 3,5,10)."
        ),
    ] = "",
    shards: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="With --index-types: primary shards of each bench index (default: the "
            "product mapping's); on one node each shard's graph is searched on its own core.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Similar-by-id p50/p95 (ES and API, exact and kNN), recall@10, numpy and Annoy."""
    from elasticsearch import ConnectionError as EsConnectionError

    from benchmarks.query import run_query_benchmark
    from benchmarks.query_figures import flatten
    from benchmarks.query_variants import INDEX_TYPES, Comparison

    try:
        ns = [int(s) for s in sizes.split(",") if s.strip()]
        sweep = tuple(int(s) for s in num_candidates.split(",") if s.strip())
        oversamples = tuple(float(s) for s in oversample.split(",") if s.strip())
    except ValueError:
        raise typer.BadParameter(
            "sizes and num_candidates are integers, e.g. 10000,100000; oversample numbers"
        ) from None
    if any(not 1.0 <= o <= 10.0 for o in oversamples):
        raise typer.BadParameter("oversample values are between 1 and 10 (Elasticsearch's range)")
    try:
        types = [s.strip() for s in index_types.split(",") if s.strip()]
        unknown = sorted(set(types) - set(INDEX_TYPES))
        if unknown:
            raise typer.BadParameter(f"unknown index types {unknown}; known: {INDEX_TYPES}")
        result = run_query_benchmark(
            get_settings(),
            sizes=ns,
            queries=queries,
            keep=keep,
            comparison=(
                Comparison(tuple(types), collections, exact_queries, sweep, oversamples, shards)
                if types
                else None
            ),
            console=console,
        )
    except EsConnectionError as exc:
        _fail(RuntimeError(f"Elasticsearch is not reachable ({exc}); start it: gallery up"))
    _print_result(
        "Similar-by-id: latency and recall", result if as_json else flatten(result), as_json
    )


def _print_result(title: str, result: dict[str, object], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, str(value))
    Console().print(table)


def _count(n: int | None) -> str:
    return "unknown" if n is None else f"{n:,}"


def _print_status(state: StackStatus) -> None:
    table = Table(title="gallery stack")
    table.add_column("component")
    table.add_column("healthy")
    table.add_column("version")
    table.add_column("detail")
    for name, comp in state.components.items():
        mark = "[green]yes[/]" if comp.healthy else "[red]no[/]"
        table.add_row(name, mark, comp.version or "", comp.detail)
    out = Console()
    out.print(table)
    connector = state.connector
    tasks = ", ".join(f"{t.id}:{t.state}" for t in connector.tasks)
    out.print(f"connector {connector.name}: {connector.state} [{tasks}]")
    out.print(
        f"index {state.index}: {_count(state.index_docs)} documents; "
        f"dead-lettered: {_count(state.dlq_count)}"
    )
    out.print(f"Elasticsearch: {state.elasticsearch_url}   watch folder: {state.watch_dir}")


if __name__ == "__main__":
    app()
