"""`gallery eval`: copy recovery under perturbations and retrieval by label, vs. baselines.

(a) Perturbation recovery (the MoMA experiment): the held-out clip art is split into
    an indexed part and distractors (not indexed). Every image is perturbed once per
    family (`perturb.FAMILIES`) from its decoded original (longer side capped at
    `SOURCE_SIDE` px) and then goes through `to_model_input`, as an uploaded query
    would. Reported per family: recall@1 and recall@10 of the original (indexed
    queries), and precision / recall / F1 of "top-1 similarity >= t means copy of the
    top-1 hit", where distractor queries make precision meaningful. ``t`` is chosen
    per method to maximise F1 over all families pooled (on the same queries, so the
    P/R/F1 figures are a best case for every method alike).
(b) Retrieval by label, leave-one-out: precision@10 and mAP of style on held-out
    generated styles (a seed never trained on), and of category on held-out clip art.

Every figure is computed for the model and, in the same run, for two baselines: the
colour histogram + tiny image descriptor and the same network with random weights.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from rich.table import Table

from gallery_core.imaging import to_model_input
from gallery_core.model.encoder import Encoder, KerasEncoder, RandomInitEncoder
from gallery_core.model.views import query_views
from training.baselines import ColourHistogramEncoder, imagenet_backbone_encoder
from training.datasets import ArrayDataset
from training.metrics import (
    best_threshold,
    fused_top_k,
    label_retrieval,
    match_scores,
    recall_at_k,
)
from training.painting_eval import (
    as_uploaded,
    index_vectors,
    load_source,
    query_vectors,
)
from training.perturb import FAMILIES, perturb
from training.progress import Progress, no_progress

__all__ = ["SOURCE_SIDE", "EvalReport", "make_baselines", "run_evaluation"]

log = logging.getLogger(__name__)

SOURCE_SIDE: Final = 320
#: Held-out originals whose shorter side is below this are reported apart ("small"): a
#: 4-6x downscale leaves them 10-35 px, where little but the colour layout survives.
SMALL_SOURCE_SIDE: Final = 150
DISTRACTOR_SHARE: Final = 0.2
METHODS: Final = ("cnn", "imagenet", "random_init", "histogram")

#: Issue 4's targets.
TARGET_RECALL1_MEAN: Final = 0.9
TARGET_STYLE_P10: Final = 0.9
TARGET_CATEGORY_MARGIN: Final = 0.1


@dataclass(slots=True)
class EvalReport:
    model: str
    version: str
    n_indexed: int
    n_distractors: int
    n_styles: int
    n_categories: int
    thresholds: dict[str, float]
    #: family -> method -> {recall_at_1, recall_at_10, precision, recall, f1}
    perturbation: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    #: size group ("small", "large") -> family -> method -> recall@1 (indexed queries only)
    by_source_size: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    #: size group -> number of indexed queries in it
    source_size_counts: dict[str, int] = field(default_factory=dict)
    #: task (style, category) -> method -> {precision_at_10, map, queries}
    labels: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    plot: str | None = None

    def mean_recall1(self, method: str) -> float:
        return float(np.mean([fam[method]["recall_at_1"] for fam in self.perturbation.values()]))

    def targets(self) -> list[dict[str, Any]]:
        cnn_r1 = self.mean_recall1("cnn")
        beaten = [
            f
            for f, row in self.perturbation.items()
            if not all(
                _beats(row["cnn"]["recall_at_1"], row[m]["recall_at_1"]) for m in METHODS[1:]
            )
        ]
        style = self.labels["style"]["cnn"]["precision_at_10"]
        cat = self.labels["category"]
        margin = cat["cnn"]["precision_at_10"] - cat["histogram"]["precision_at_10"]
        return [
            {
                "target": "perturbation recall@1, mean over families >= 0.9",
                "value": round(cnn_r1, 4),
                "met": cnn_r1 >= TARGET_RECALL1_MEAN,
            },
            {
                "target": "recall@1 beats both baselines in every family (a tie at 1.0 counts)",
                "value": "all families" if not beaten else "not in: " + ", ".join(beaten),
                "met": not beaten,
            },
            {
                "target": "style precision@10 (held-out generated) >= 0.9",
                "value": round(style, 4),
                "met": style >= TARGET_STYLE_P10,
            },
            {
                "target": "category precision@10 beats colour histogram by >= 0.1",
                "value": round(margin, 4),
                "met": margin >= TARGET_CATEGORY_MARGIN,
            },
        ]

    def flat_metrics(self) -> dict[str, float]:
        out = {f"recall1_mean_{m}": round(self.mean_recall1(m), 4) for m in METHODS}
        for fam, row in self.perturbation.items():
            out[f"recall1_{fam}"] = round(row["cnn"]["recall_at_1"], 4)
        for task, row in self.labels.items():
            for m in METHODS:
                out[f"{task}_p10_{m}"] = round(row[m]["precision_at_10"], 4)
                out[f"{task}_map_{m}"] = round(row[m]["map"], 4)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "indexed": self.n_indexed,
            "distractors": self.n_distractors,
            "style_images": self.n_styles,
            "category_images": self.n_categories,
            "thresholds": self.thresholds,
            "perturbation": self.perturbation,
            "perturbation_recall_at_1_mean": {m: self.mean_recall1(m) for m in METHODS},
            "recall_at_1_by_source_size": self.by_source_size,
            "source_size_counts": self.source_size_counts,
            "labels": self.labels,
            "targets": self.targets(),
            "plot": self.plot,
        }

    def tables(self) -> list[Table]:
        t1 = Table(
            title=(
                f"Copy recovery: recall@1 / recall@10 ({self.n_indexed} held-out clip-art "
                f"images indexed, {self.n_distractors} distractors)"
            )
        )
        t1.add_column("family")
        for m in METHODS:
            t1.add_column(f"{m}\nR@1", justify="right")
            t1.add_column("R@10", justify="right")
        for fam, row in self.perturbation.items():
            t1.add_row(
                fam,
                *[
                    c
                    for m in METHODS
                    for c in (f"{row[m]['recall_at_1']:.3f}", f"{row[m]['recall_at_10']:.3f}")
                ],
            )
        t1.add_row("mean", *[c for m in METHODS for c in (f"{self.mean_recall1(m):.3f}", "")])
        t1b = Table(
            title=(
                "Copy detection: precision / recall / F1 of 'top-1 similarity >= t' "
                f"(t per method: {', '.join(f'{m} {t:.3f}' for m, t in self.thresholds.items())})"
            )
        )
        t1b.add_column("family")
        for m in METHODS:
            t1b.add_column(f"{m}\nP / R / F1", justify="right")
        for fam, row in self.perturbation.items():
            t1b.add_row(
                fam,
                *[
                    f"{row[m]['precision']:.2f} / {row[m]['recall']:.2f} / {row[m]['f1']:.2f}"
                    for m in METHODS
                ],
            )
        t1c = Table(
            title=(
                "Copy recovery recall@1 by the original's shorter side "
                f"(small: < {SMALL_SOURCE_SIDE} px, "
                + ", ".join(f"{g} {n}" for g, n in self.source_size_counts.items())
                + " queries)"
            )
        )
        t1c.add_column("family")
        groups = list(self.by_source_size)
        for m in METHODS:
            for g in groups:
                t1c.add_column(f"{m}\n{g}", justify="right")
        for fam in self.perturbation:
            t1c.add_row(
                fam,
                *[f"{self.by_source_size[g][fam][m]:.3f}" for m in METHODS for g in groups],
            )
        t2 = Table(title="Retrieval by label (leave-one-out)")
        t2.add_column("task")
        for m in METHODS:
            t2.add_column(f"{m}\nP@10", justify="right")
            t2.add_column("mAP", justify="right")
        for task, row in self.labels.items():
            n = int(row["cnn"]["queries"])
            t2.add_row(
                f"{task} ({n})",
                *[
                    c
                    for m in METHODS
                    for c in (f"{row[m]['precision_at_10']:.3f}", f"{row[m]['map']:.3f}")
                ],
            )
        t3 = Table(title=f"Clip-art and generated-style targets: {self.model} {self.version}")
        t3.add_column("target")
        t3.add_column("value")
        t3.add_column("met")
        for row in self.targets():
            t3.add_row(
                str(row["target"]),
                str(row["value"]),
                "[green]yes[/]" if row["met"] else "[red]no[/]",
            )
        return [t1, t1b, t1c, t2, t3]


def make_baselines(encoder: KerasEncoder, seed: int = 0) -> dict[str, Encoder]:
    """The baselines every `gallery eval` figure is measured against, in `METHODS` order."""
    return {
        "imagenet": imagenet_backbone_encoder(encoder.input_size),
        "random_init": RandomInitEncoder.like(encoder, seed=seed),
        "histogram": ColourHistogramEncoder(encoder.input_size),
    }


def _beats(ours: float, theirs: float) -> bool:
    """Strictly better, or both perfect (nothing can beat 1.000)."""
    return ours > theirs or ours == theirs == 1.0


def _seed(family: str, i: int) -> int:
    return zlib.crc32(f"{family}/{i}".encode())


def run_evaluation(
    encoder: KerasEncoder,
    styles: ArrayDataset,
    clip: ArrayDataset,
    *,
    plot_path: Path | None = None,
    limit: int | None = None,
    seed: int = 0,
    baselines: dict[str, Encoder] | None = None,
    progress: Progress = no_progress,
) -> EvalReport:
    size = encoder.input_size
    methods: dict[str, Encoder] = {"cnn": encoder, **(baselines or make_baselines(encoder, seed))}
    order = np.random.default_rng(seed).permutation(len(clip))
    if limit is not None:
        order = order[:limit]
    n_dis = max(1, int(round(len(order) * DISTRACTOR_SHARE)))
    indexed, distractors = np.sort(order[n_dis:]), np.sort(order[:n_dis])
    queries_from = np.concatenate([indexed, distractors])
    truth = np.concatenate([np.arange(len(indexed)), np.full(len(distractors), -1)]).astype(
        np.int64
    )

    sources = []
    tick = progress("decoding held-out originals", len(queries_from))
    for i in queries_from:
        sources.append(load_source(Path(clip.ids[i]), SOURCE_SIDE))
        tick(1)
    families = list(FAMILIES)
    # Each perturbed copy as the API sees an upload: its views (the photo first).
    queries: list[list[npt.NDArray[np.uint8]]] = [[] for _ in families]
    tick = progress("perturbing", len(families) * len(sources))
    for f, fam in enumerate(families):
        for j, src in enumerate(sources):
            photo = perturb(src, fam, _seed(fam, j))
            queries[f].append(np.stack([to_model_input(v.image, size) for v in query_views(photo)]))
            tick(1)

    perturbation: dict[str, dict[str, dict[str, float]]] = {fam: {} for fam in families}
    short = np.array([min(src.size) for src in sources[: len(indexed)]])
    size_groups = {"small": short < SMALL_SOURCE_SIDE, "large": short >= SMALL_SOURCE_SIDE}
    by_size: dict[str, dict[str, dict[str, float]]] = {
        g: {fam: {} for fam in families} for g in size_groups
    }
    labels: dict[str, dict[str, dict[str, float]]] = {"style": {}, "category": {}}
    thresholds: dict[str, float] = {}
    clip_subset = clip.subset(queries_from)
    tick = progress("encoding (3 methods)", len(METHODS))
    for name, enc in methods.items():
        index_vecs = index_vectors(enc, clip.images[indexed])
        hits = [
            fused_top_k(query_vectors(enc, as_uploaded(enc, queries[f])), index_vecs, 10)
            for f in range(len(families))
        ]
        t = best_threshold(
            np.concatenate([h[0][:, 0] for h in hits]),
            np.concatenate([h[1][:, 0] for h in hits]),
            np.tile(truth, len(families)),
        )
        thresholds[name] = round(t, 4)
        for f, fam in enumerate(families):
            nn, sims = hits[f]
            ms = match_scores(nn[:, 0], sims[:, 0], truth, t)
            perturbation[fam][name] = {
                "recall_at_1": recall_at_k(nn, truth, 1),
                "recall_at_10": recall_at_k(nn, truth, 10),
                "precision": ms.precision,
                "recall": ms.recall,
                "f1": ms.f1,
            }
            for g, members in size_groups.items():
                own = np.flatnonzero(members)  # rows of indexed queries (they come first)
                by_size[g][fam][name] = recall_at_k(nn[own], truth[own], 1)
        labels["style"][name] = label_retrieval(enc.encode(styles.images), styles.labels["style"])
        labels["category"][name] = label_retrieval(
            enc.encode(clip_subset.images), clip_subset.labels["genre"]
        )
        tick(1)
    report = EvalReport(
        model=encoder.name,
        version=encoder.version,
        n_indexed=len(indexed),
        n_distractors=len(distractors),
        n_styles=len(styles),
        n_categories=int((clip_subset.labels["genre"] >= 0).sum()),
        thresholds=thresholds,
        perturbation=perturbation,
        by_source_size=by_size,
        source_size_counts={g: int(m.sum()) for g, m in size_groups.items()},
        labels=labels,
    )
    if plot_path is not None:
        write_plot(report, Path(plot_path))
        report.plot = str(plot_path)
    return report


def write_plot(report: EvalReport, path: Path) -> None:
    """Two panels: recall@1 per perturbation family, and P@10 / mAP per label task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {
        "cnn": "#1f77b4",
        "imagenet": "#2ca02c",
        "random_init": "#aaaaaa",
        "histogram": "#ff7f0e",
    }
    fams = list(report.perturbation)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [3, 1.3]})
    width = 0.2
    x = np.arange(len(fams) + 1)
    for k, m in enumerate(METHODS):
        vals = [report.perturbation[f][m]["recall_at_1"] for f in fams] + [report.mean_recall1(m)]
        ax1.bar(x + (k - 1.5) * width, vals, width, label=m, color=colours[m])
    ax1.axhline(TARGET_RECALL1_MEAN, color="k", lw=0.8, ls="--")
    ax1.set_xticks(x, [*fams, "MEAN"], rotation=30, ha="right")
    ax1.set_ylim(0, 1.02)
    ax1.set_ylabel("recall@1")
    ax1.set_title(f"Copy recovery ({report.n_indexed} indexed, {report.n_distractors} distractors)")
    ax1.legend(loc="lower left", fontsize=8)
    tasks = [(t, metric) for t in report.labels for metric in ("precision_at_10", "map")]
    x2 = np.arange(len(tasks))
    for k, m in enumerate(METHODS):
        vals = [report.labels[t][m][metric] for t, metric in tasks]
        ax2.bar(x2 + (k - 1.5) * width, vals, width, label=m, color=colours[m])
    ax2.set_xticks(x2, [f"{t}\n{'P@10' if mt.startswith('p') else 'mAP'}" for t, mt in tasks])
    ax2.set_ylim(0, 1.02)
    ax2.set_title("Retrieval by label")
    fig.suptitle(f"{report.model} {report.version}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
