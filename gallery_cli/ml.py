"""`gallery train`, `gallery eval`, `gallery bench model`: train, measure and time the CNN.

Mounted by `gallery_cli.main`; each command prints a rich table on stdout (or, with
``--json``, one JSON object with the same figures) and draws progress on stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    MofNCompleteColumn,
    Progress,
    TimeElapsedColumn,
)
from rich.table import Table

from gallery_cli.options import JsonFlag, closed_choice

__all__ = ["app"]

log = logging.getLogger(__name__)

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
err = Console(stderr=True)


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextmanager
def _progress() -> Iterator[Progress]:
    columns = (*Progress.get_default_columns(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as progress:
        yield progress


def _tracker(progress: Progress) -> Callable[[str, int], Callable[[int], None]]:
    def make(description: str, total: int) -> Callable[[int], None]:
        task = progress.add_task(description, total=total)
        return lambda n: progress.update(task, advance=n)

    return make


def _emit(result: dict[str, Any], as_json: bool, tables: list[Table]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    out = Console()
    for table in tables:
        out.print(table)


def _load(model: Path | None) -> Any:
    from gallery_core.errors import GalleryError
    from gallery_core.model.encoder import load_encoder

    try:
        return load_encoder(model)
    except GalleryError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc


def _fmt(v: object) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


@app.command()
def train(
    out: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the .keras model (card beside it). Default: "
            "artifacts/models/model.keras, or the shipped path with --default."
        ),
    ] = None,
    default: Annotated[
        bool,
        typer.Option(
            "--default",
            help="Train the shipped default (ImageNet EfficientNet-Lite0, whitened, with a "
            "style part trained on generated styles + openclipart; minutes) and write it to "
            "gallery_core/model/weights/default.keras.",
        ),
    ] = False,
    whiten_pca: Annotated[
        bool,
        typer.Option(
            "--whiten-pca",
            help="With --default: fit the region whitening by PCA instead of learning it from "
            "damaged copies (the earlier 2026.12-1; see the model README's Attempts).",
        ),
    ] = False,
    folder: Annotated[
        Path | None,
        typer.Option(help="Folder-per-class tree (WikiArt layout: <folder>/<style>/*.jpg)."),
    ] = None,
    folder_label: Annotated[
        str, typer.Option(help="What --folder classes are: style|genre.")
    ] = "style",
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv", help="CSV of filename,style,genre (Painter by Numbers train_info.csv)."
        ),
    ] = None,
    images: Annotated[Path | None, typer.Option(help="Folder the CSV's file names are in.")] = None,
    styles_per_class: Annotated[
        int, typer.Option("--styles", help="Also train on N generated images per style (0: none).")
    ] = 0,
    openclipart: Annotated[bool, typer.Option(help="Also train on openclipart-png.")] = False,
    backbone: Annotated[
        str,
        typer.Option(help="compact | mobilenet_v3_small | mobilenet_v3_large | efficientnet_b0"),
    ] = "compact",
    imagenet: Annotated[
        bool,
        typer.Option(
            help="Start a keras.applications backbone from ImageNet weights (needs them "
            "cached or a network)."
        ),
    ] = False,
    size: Annotated[
        int | None, typer.Option(help="Input side in px (default: INPUT_SIZE).")
    ] = None,
    width: Annotated[float, typer.Option(help="Channel multiplier of the compact CNN.")] = 1.0,
    multi_scale: Annotated[
        bool, typer.Option(help="Also pool the compact CNN's third stage (experimental).")
    ] = False,
    descriptor: Annotated[
        bool,
        typer.Option(
            help="Join a fixed colour/layout descriptor (8x8 grey + 4x4 colour) to the "
            "learned embedding, inside the model."
        ),
    ] = False,
    input_blur: Annotated[
        float,
        typer.Option(
            help="Sigma (px) of a fixed Gaussian blur in front of the CNN, inside the model "
            "(0: none)."
        ),
    ] = 0.0,
    queue: Annotated[
        int, typer.Option(help="Queued embeddings used as extra negatives (experimental).")
    ] = 0,
    hard_negatives: Annotated[
        float | None,
        typer.Option(
            help="Share of each batch (0..0.5) drawn as nearest neighbours of the others, "
            "mined every epoch (hard negatives for the copy-detection loss). "
            "Default 0."
        ),
    ] = None,
    clean_views: Annotated[
        float | None,
        typer.Option(
            help="Probability (0..1) that a contrastive pair is (original, augmented copy) "
            "rather than two augmented copies. Default 0."
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default 14).")] = None,
    steps: Annotated[int, typer.Option(help="Steps per epoch.")] = 150,
    batch: int = 64,
    max_minutes: Annotated[
        float | None, typer.Option(help="Stop after this much training (default 50).")
    ] = None,
    min_class_count: Annotated[
        int, typer.Option(help="Classes with fewer images are not trained on.")
    ] = 5,
    seed: int = 0,
    version: str = "dev",
    as_json: JsonFlag = False,
) -> None:
    """Train an embedding CNN (style/genre heads + copy-detection loss) and save it."""
    _quiet_tensorflow()
    from gallery_core.model.encoder import DEFAULT_MODEL_PATH
    from gallery_core.model.spec import EMBEDDING_DIM, INPUT_SIZE
    from training import datasets as dsets
    from training import recipe
    from training.styles import STYLE_NAMES
    from training.train import TrainConfig
    from training.train import train as run_training

    if default:
        _train_painting_default(
            out or DEFAULT_MODEL_PATH, version, seed, as_json, whiten_from_copies=not whiten_pca
        )
        return
    size = size or INPUT_SIZE
    cfg = TrainConfig(
        backbone=backbone,
        width=width,
        multi_scale=multi_scale,
        descriptor=descriptor,
        input_blur=input_blur,
        queue_size=queue,
        hard_negative_share=hard_negatives or 0.0,
        clean_view_share=clean_views or 0.0,
        input_size=size,
        embedding_dim=EMBEDDING_DIM,
        epochs=epochs or 14,
        steps_per_epoch=steps,
        batch_size=batch,
        max_minutes=max_minutes or 50.0,
        seed=seed,
        weights="imagenet" if imagenet else None,  # opt-in (--imagenet), needs the network
    )
    with _progress() as progress:
        track = _tracker(progress)
        parts: list[dsets.ArrayDataset] = []
        notes: list[str] = []
        out = out or Path("artifacts/models/model.keras")
        items: list[dsets.LabeledImage] = []
        if folder is not None:
            items += dsets.read_folder_tree(folder, folder_label)
            notes.append(f"folder-per-{folder_label} tree {folder}")
        if csv_file is not None:
            items += dsets.read_csv(csv_file, images)
            notes.append(f"CSV {csv_file}")
        if items:
            parts.append(
                dsets.load_arrays(
                    items,
                    size,
                    min_class_count=min_class_count,
                    progress=track("decoding images", len(items)),
                )
            )
        if styles_per_class:
            parts.append(
                dsets.generated_styles(
                    styles_per_class,
                    seed=recipe.TRAIN_STYLE_SEED,
                    size=size,
                    progress=track("rendering styles", styles_per_class * len(STYLE_NAMES)),
                )
            )
            notes.append(f"{styles_per_class} generated images per style")
        if openclipart:
            clip, _ = recipe._openclipart_split(
                size, recipe.DEFAULT_CACHE_DIR, dsets.OPENCLIPART_ROOT, track
            )
            parts.append(clip)
            notes.append("openclipart-png (genre = category), 20% held out")
        if not parts:
            err.print(
                "[red]error:[/] no data: pass --default, --folder, --csv, "
                "--styles N or --openclipart"
            )
            raise typer.Exit(2)
        data = parts[0] if len(parts) == 1 else dsets.ArrayDataset.concat(parts)
        err.print(
            f"training on {len(data)} images; heads: "
            + ", ".join(f"{h} ({len(c)} classes)" for h, c in data.classes.items())
        )
        result = run_training(
            data,
            out,
            cfg,
            version=version,
            data_notes=notes,
            progress=progress,
            checkpoint_dir=Path("artifacts/checkpoints") / out.stem,
            notes="",
        )
    card = result.card
    summary: dict[str, Any] = {
        "model": str(result.model_path),
        "version": card.version,
        "backbone": card.backbone,
        "input_size": card.input_size,
        "embedding_dims": card.embedding_dims,
        **card.metrics,
        **{
            k: card.training[k]
            for k in (
                "train_images",
                "val_images",
                "best_epoch",
                "epochs_run",
                "minutes",
                "stopped",
            )
        },
        "history": result.history,
    }
    table = Table(title=f"gallery train -> {result.model_path}")
    table.add_column("figure")
    table.add_column("value")
    for k, v in summary.items():
        if k != "history":
            table.add_row(k, _fmt(v))
    _emit(summary, as_json, [table])


def _train_painting_default(
    out: Path, version: str, seed: int, as_json: bool, *, whiten_from_copies: bool = True
) -> None:
    """The shipped model: `training.painting_recipe` on the recipe's data."""
    from training import recipe
    from training.painting_recipe import PaintingRecipe, train_painting_model

    plan = PaintingRecipe(seed=seed, whiten_from_copies=whiten_from_copies)
    with _progress() as progress:
        track = _tracker(progress)
        data, notes = recipe.train_set(plan.input_size, progress=track)
        model, card = train_painting_model(
            data,
            notes,
            recipe=plan,
            cache_dir=recipe.DEFAULT_CACHE_DIR,
            version=version if version != "dev" else plan.version,
            progress=track,
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    from gallery_core.model.card import card_path_for

    card.save(card_path_for(out))
    summary = {"model": str(out), "version": card.version, **card.metrics, **card.training}
    table = Table(title=f"gallery train --default -> {out}")
    table.add_column("figure")
    table.add_column("value")
    for k, v in summary.items():
        table.add_row(k, _fmt(v))
    _emit(summary, as_json, [table])


@app.command("eval")
def evaluate(
    model: Annotated[
        Path | None, typer.Option(help="A .keras model (default: the shipped one).")
    ] = None,
    plot: Annotated[Path, typer.Option(help="Where to write the figure (PNG).")] = Path(
        "artifacts/eval.png"
    ),
    limit: Annotated[
        int | None, typer.Option(help="Use at most N held-out clip-art images (quick runs).")
    ] = None,
    per_style: Annotated[int, typer.Option(help="Held-out generated images per style.")] = 60,
    update_card: Annotated[bool, typer.Option(help="Write the figures into the card.")] = False,
    api: Annotated[
        str | None,
        typer.Option(
            help="Measure a running gallery over HTTP instead (e.g. http://127.0.0.1:8000): "
            "same-artist hit@10 by similar-by-id and copy recall@1 by upload."
        ),
    ] = None,
    collection: Annotated[
        str, typer.Option(help="With --api: the collection measured (works with an artist).")
    ] = "museum",
    mode: Annotated[
        str, typer.Option(help="With --api: the search mode asked for, exact or knn.")
    ] = "exact",
    as_json: JsonFlag = False,
) -> None:
    """Copy recovery and retrieval by label (clip art, generated styles, real paintings),
    against three baselines measured in the same run; or, with --api, through the API."""
    if api is not None:
        _evaluate_api(api, collection, mode, as_json)
        return
    _quiet_tensorflow()
    import numpy as np

    from training import recipe
    from training.evaluate import make_baselines, run_evaluation
    from training.painting_eval import run_painting_evaluation
    from training.real_paintings import collect_real_paintings

    encoder = _load(model)
    with _progress() as progress:
        track = _tracker(progress)
        styles, clip = recipe.eval_sets(encoder.input_size, per_style=per_style, progress=track)
        baselines = make_baselines(encoder)
        report = run_evaluation(
            encoder, styles, clip, plot_path=plot, limit=limit, baselines=baselines, progress=track
        )
        paintings = collect_real_paintings(recipe.DEFAULT_CACHE_DIR)
        real = None
        if paintings:
            real = run_painting_evaluation(
                encoder,
                paintings,
                np.concatenate([clip.images, styles.images]),
                baselines,
                progress=track,
            )
        else:
            err.print("[yellow]no real paintings installed[/]: that part is skipped")
    metrics = report.flat_metrics() | (real.flat_metrics() if real else {})
    if update_card:
        from gallery_core.model.card import card_path_for
        from gallery_core.model.encoder import DEFAULT_MODEL_PATH

        path = card_path_for(Path(model or DEFAULT_MODEL_PATH))
        card = encoder.card
        card.metrics.update({f"eval_{k}": v for k, v in metrics.items()})
        card.save(path)
    result = report.as_dict() | ({"real_paintings": real.as_dict()} if real else {})
    _emit(result, as_json, report.tables() + (real.tables() if real else []))


def _evaluate_api(api: str, collection: str, mode: str, as_json: bool) -> None:
    import httpx

    from benchmarks.api_quality import evaluate_through_api
    from gallery_api.search import Mode
    from gallery_core.settings import Settings

    asked = closed_choice(mode, Mode, "--mode")
    with _progress() as progress, httpx.Client(base_url=api, timeout=120) as client:
        report = evaluate_through_api(
            client,
            Settings().paths.watch_dir,
            collection,
            mode=asked,
            progress=_tracker(progress),
        )
    _emit(report.as_dict(), as_json, report.tables())


@app.command("bench-model")
def bench_model(
    model: Annotated[
        Path | None, typer.Option(help="A .keras model (default: the shipped one).")
    ] = None,
    batch_sizes: Annotated[str, typer.Option(help="Comma-separated batch sizes.")] = "1,8,32,64",
    seconds: Annotated[float, typer.Option(help="Timed seconds per batch size.")] = 4.0,
    as_json: JsonFlag = False,
) -> None:
    """Images per second of `Encoder.encode` on this CPU, per batch size."""
    _quiet_tensorflow()
    from training.bench import bench_encoder

    encoder = _load(model)
    sizes = [int(b) for b in batch_sizes.split(",") if b.strip()]
    result = bench_encoder(encoder, sizes, seconds=seconds)
    table = Table(
        title=f"{encoder.name} {encoder.version}: {encoder.input_size}px, "
        f"{result['cpu_count']} CPUs"
    )
    for col in ("batch", "images/s", "ms/batch"):
        table.add_column(col, justify="right")
    for row in result["rows"]:
        table.add_row(str(row["batch"]), f"{row['images_per_s']:.1f}", f"{row['ms_per_batch']:.1f}")
    _emit(result, as_json, [table])
