"""The evaluation run: generate N covers, extract features, compute the requested metrics
against the dataset's real covers, write pictures and a JSON report.

Metrics are a registry (`METRICS`): each is a function of the shared `EvalContext` returning a
JSON-ready dict, so the CLI, tests and benchmarks all go through `evaluate`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from albumgan.training.data.format import DatasetError, ShardedDataset
from albumgan.training.metrics import steering as steer
from albumgan.training.metrics.fid import fid
from albumgan.training.metrics.grids import image_grid, pair_grid, with_caption
from albumgan.training.metrics.inception import FEATURES_NAME, InceptionFeatures, resize_description
from albumgan.training.metrics.kid import DEFAULT_SUBSET_SIZE, DEFAULT_SUBSETS, kid
from albumgan.training.metrics.memorisation import DEFAULT_COPY_THRESHOLD, memorisation_report
from albumgan.training.metrics.precision_recall import DEFAULT_NEAREST_K, precision_recall
from albumgan.training.metrics.reference import RealFeatureCache
from albumgan.training.metrics.samplers import (
    SEED_STRIDE,
    GenerationPlan,
    ResizedSampler,
    Sampler,
    generate_batches,
    plan_generation,
)
from albumgan.training.metrics.storage import default_cache_dir, save_png, write_json

log = logging.getLogger(__name__)

REPORT_FORMAT = 1
SUMMARY_FILE = "summary.json"  # the compact figures for `albumgan-export --eval-json`
SAMPLE_GRID = 64


class EvalError(ValueError):
    """An evaluation that cannot run as asked (bad dataset, hold-out list or metric choice)."""


@dataclass
class EvalConfig:
    n: int = 5000
    seed: int = 0
    metrics: tuple[str, ...] | None = None  # None: every metric that applies to the model
    batch_size: int = 32
    kid_subsets: int = DEFAULT_SUBSETS
    kid_subset_size: int = DEFAULT_SUBSET_SIZE
    copy_threshold: float = DEFAULT_COPY_THRESHOLD
    nearest_k: int = DEFAULT_NEAREST_K
    closest_pairs: int = 16
    sweep_seeds: int = 4
    holdout: Path | None = None  # a file of item ids inside the dataset, or a dataset directory
    cache_dir: Path | None = None
    out_dir: Path | None = None
    backend: str = "auto"
    progress: bool = True
    resolution: int | None = None  # score at this size (covers resized to it); None: the model's own


@dataclass
class EvalContext:
    config: EvalConfig
    sampler: Sampler
    dataset: ShardedDataset
    train_index: np.ndarray  # dataset rows the model was trained on (the reference set)
    train_features: np.ndarray
    holdout_features: np.ndarray | None
    plan: GenerationPlan
    generated_features: np.ndarray
    extractor: InceptionFeatures
    images: dict[str, str] = field(default_factory=dict)

    def save_picture(self, name: str, picture: Image.Image, what: str) -> None:
        """Saved with a caption: `what` the picture shows, then the model that made it (a picture
        copied out of its folder still says what it is)."""
        if self.config.out_dir is not None:
            info = self.sampler.info
            caption = f"{what}\nModel: {info.name} ({info.kind}), step {info.step}."
            save_png(self.config.out_dir / name, with_caption(picture, caption))
            self.images[name.removesuffix(".png")] = name


def _fid(ctx: EvalContext) -> dict:
    result = {"value": fid(ctx.generated_features, ctx.train_features)}
    if ctx.holdout_features is not None and len(ctx.holdout_features) >= 2:
        # Real-vs-real at the hold-out's size: the floor this reference set allows.
        result["real_floor"] = fid(ctx.holdout_features, ctx.train_features)
        result["real_floor_n"] = len(ctx.holdout_features)
    return result


def _kid(ctx: EvalContext) -> dict:
    c = ctx.config
    result = kid(ctx.generated_features, ctx.train_features, c.kid_subsets, c.kid_subset_size, seed=c.seed).to_dict()
    if ctx.holdout_features is not None and len(ctx.holdout_features) >= 2:
        result["real_floor"] = kid(
            ctx.holdout_features, ctx.train_features, c.kid_subsets, c.kid_subset_size, seed=c.seed
        ).to_dict()
    return result


def _precision_recall(ctx: EvalContext) -> dict:
    c = ctx.config
    try:
        return precision_recall(ctx.generated_features, ctx.train_features, c.nearest_k, seed=c.seed).to_dict()
    except ImportError as exc:  # an install without the eval extra: one line naming it
        raise EvalError(str(exc)) from exc


def _memorisation(ctx: EvalContext) -> dict:
    c = ctx.config
    report, neighbours = memorisation_report(
        ctx.generated_features,
        ctx.train_features,
        ctx.holdout_features,
        threshold=c.copy_threshold,
        closest=c.closest_pairs,
    )
    pairs = report["closest_pairs"]
    if pairs and c.out_dir is not None:
        generated = np.concatenate(
            list(generate_batches(ctx.sampler, ctx.plan, c.batch_size, np.array([p["generated"] for p in pairs])))
        )
        nearest = ctx.dataset.batch(ctx.train_index[[p["training"] for p in pairs]])
        distances = [f"{p['distance']:.3f}" for p in pairs]
        ctx.save_picture(
            "closest-pairs.png",
            pair_grid(generated, nearest, labels=distances),
            "The generated covers closest to a training cover, nearest first. In each pair the LEFT cover is "
            "GENERATED and the RIGHT one is its nearest REAL training cover; the number is their cosine distance "
            f"(TF-Inception features, 0 = the same picture; below {c.copy_threshold:.2f} counts as a copy).",
        )
        # The same generated covers alone: publishable where the real halves are not.
        ctx.save_picture(
            "closest-generated.png",
            image_grid(generated, columns=8),
            "The generated halves of closest-pairs.png alone (no real covers), nearest first.",
        )
    for p in pairs:  # report dataset item ids, not split-relative rows
        p["training_id"] = ctx.dataset.items[int(ctx.train_index[p["training"]])].id
        del p["training"]
    return report


def _steering(ctx: EvalContext) -> dict:
    c, info, plan = ctx.config, ctx.sampler.info, ctx.plan
    if info.schema is None or plan.labels is None or plan.mask is None or plan.rows is None:
        raise ValueError("steering needs a conditional model and its plan's label rows")
    names = info.schema.names
    # The predictor learns on one half of the training covers; only generated images whose
    # condition came from the other half are scored. Otherwise a predictor that merely
    # recognises a training cover, and a model that re-draws that cover for its label row,
    # would "recover" features the image does not actually show.
    fit_rows, score_rows = steer.split_rows(len(ctx.train_index), c.seed)
    fit = ctx.train_index[fit_rows]
    predictor = steer.fit_predictor(
        ctx.train_features[fit_rows], ctx.dataset.labels[fit], ctx.dataset.mask[fit], names, seed=c.seed
    )
    scored = np.isin(plan.rows, score_rows)
    report: dict[str, Any] = {
        "predictor": "per-feature ridge regression on TF-Inception features, fitted on half of the real "
        "training covers; generated images scored only for conditions from the other half",
        "predictor_covers": len(fit_rows),
        "features": steer.steering_correlations(
            predictor, ctx.generated_features[scored], plan.labels[scored], plan.mask[scored]
        ),
        "sweeps": {},
    }
    values = np.linspace(-1.0, 1.0, steer.SWEEP_VALUES, dtype=np.float32)
    base = np.flatnonzero(scored)[: c.sweep_seeds]
    for name in (n for n in steer.SWEEP_FEATURES if n in names):
        j = names.index(name)
        labels, mask = steer.sweep_conditions(plan.labels[base], plan.mask[base], j, values)
        # Each row keeps one latent across the sweep; rows use seeds outside the main sample.
        seeds = np.repeat(np.arange(len(base), dtype=np.int64) + c.seed * SEED_STRIDE + len(plan), len(values))
        images = np.concatenate(list(generate_batches(ctx.sampler, GenerationPlan(seeds, labels, mask), c.batch_size)))
        recovered = predictor.predict(ctx.extractor(images))[:, j]
        ctx.save_picture(
            f"sweep-{name}.png",
            image_grid(images, len(values)),
            f"Sweep of {name}: left to right the model is asked for {name} = "
            + ", ".join(f"{v:+.2f}" for v in values)
            + " (normalised feature value); each row keeps one latent and the other features of one real cover.",
        )
        report["sweeps"][name] = {
            "values": values.tolist(),
            "rows": len(base),
            "r": steer.pearson(labels[:, j], recovered) if predictor.fitted[j] else None,
        }
    return report


METRICS: dict[str, Callable[[EvalContext], dict]] = {
    "fid": _fid,
    "kid": _kid,
    "precision_recall": _precision_recall,
    "memorisation": _memorisation,
    "steering": _steering,
}


def resolve_metrics(requested: tuple[str, ...] | None, conditional: bool) -> tuple[str, ...]:
    if requested is None:
        return tuple(m for m in METRICS if conditional or m != "steering")
    unknown = [m for m in requested if m not in METRICS]
    if unknown:
        raise EvalError(f"unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)}")
    if "steering" in requested and not conditional:
        raise EvalError("steering needs a conditional (acgan) model")
    return tuple(dict.fromkeys(requested))


def open_dataset(path: str | os.PathLike, resolution: int) -> ShardedDataset:
    try:
        return ShardedDataset(path, resolution)
    except DatasetError as exc:
        raise EvalError(str(exc)) from exc
    except (OSError, ValueError, KeyError) as exc:  # truncated shards, broken tables
        raise EvalError(f"dataset {path} is unreadable ({type(exc).__name__}: {exc})") from exc


def split_holdout(dataset: ShardedDataset, ids_file: Path) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, held-out rows) from a file of item ids, one per line (# comments)."""
    try:
        lines = ids_file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalError(f"cannot read hold-out list {ids_file}: {exc.strerror or exc}") from exc
    wanted = {line.split("#", 1)[0].strip() for line in lines} - {""}
    position = {item.id: k for k, item in enumerate(dataset.items)}
    missing = sorted(wanted - position.keys())
    if missing:
        raise EvalError(f"hold-out list {ids_file}: {len(missing)} ids are not in {dataset.root} (e.g. {missing[0]!r})")
    held = np.array(sorted(position[i] for i in wanted), dtype=np.int64)
    train = np.setdiff1d(np.arange(len(dataset)), held)
    if len(train) < 2:
        raise EvalError(f"hold-out list {ids_file} leaves fewer than 2 training covers")
    return train, held


@dataclass
class Reference:
    train_index: np.ndarray
    train_features: np.ndarray
    holdout_features: np.ndarray | None
    holdout: dict | None  # description for the report
    cache_hit: bool


def _reference(
    dataset: ShardedDataset, cache: RealFeatureCache, extractor: InceptionFeatures, config: EvalConfig, resolution: int
) -> Reference:
    """Real features of the reference (training) covers and of the hold-out, if any; the
    hold-out is validated before any feature is extracted."""
    path = Path(config.holdout) if config.holdout is not None else None
    held_set = open_dataset(path, resolution) if path is not None and path.is_dir() else None
    split = split_holdout(dataset, path) if path is not None and held_set is None else None
    features, hit = cache.features(dataset, extractor, batch_size=config.batch_size, progress=config.progress)
    if held_set is not None:
        held_features, _ = cache.features(held_set, extractor, batch_size=config.batch_size, progress=config.progress)
        desc = {"source": str(path), "kind": "dataset", "count": len(held_set), "content_hash": held_set.content_hash}
        return Reference(np.arange(len(dataset)), features, held_features, desc, hit)
    if split is not None:
        train, held = split
        return Reference(
            train, features[train], features[held], {"source": str(path), "kind": "id list", "count": len(held)}, hit
        )
    return Reference(np.arange(len(dataset)), features, None, None, hit)


def evaluate(
    sampler: Sampler, data: str | os.PathLike, config: EvalConfig, extractor: InceptionFeatures | None = None
) -> dict:
    """Run the evaluation; returns the JSON-ready report (also written to out_dir/eval.json)."""
    started = time.perf_counter()
    model_summary, resize = sampler.info.summary(), resize_description(config.resolution or sampler.info.resolution)
    if config.resolution is not None and config.resolution != sampler.info.resolution:
        resize = f"{sampler.info.resolution}px -> bilinear {config.resolution}px, then {resize}"
        sampler = ResizedSampler(sampler, config.resolution)
    info = sampler.info
    metrics = resolve_metrics(config.metrics, info.conditional)
    dataset = open_dataset(data, info.resolution)
    if len(dataset) < 2:
        raise EvalError(f"dataset {dataset.root} has {len(dataset)} covers; at least 2 are needed")
    if info.dataset.get("content_hash") not in (None, dataset.content_hash):
        log.warning(
            "the model was trained on dataset %s, evaluating against %s",
            info.dataset.get("content_hash"),
            dataset.content_hash,
        )
    cache_dir = Path(config.cache_dir) if config.cache_dir is not None else default_cache_dir()
    extractor = extractor or InceptionFeatures(config.backend, cache_dir)
    cache = RealFeatureCache(cache_dir)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    reference = _reference(dataset, cache, extractor, config, info.resolution)
    train_index, train_features = reference.train_index, reference.train_features
    timings["real_features"] = time.perf_counter() - t

    try:
        label_rows = (dataset.labels[train_index], dataset.mask[train_index]) if info.conditional else None
        plan = plan_generation(info, config.n, config.seed, label_rows)
    except ValueError as exc:
        raise EvalError(str(exc)) from exc
    t = time.perf_counter()
    generated_features = extractor.extract(
        generate_batches(sampler, plan, config.batch_size), len(plan), desc="generated", progress=config.progress
    )
    timings["generate_and_features"] = time.perf_counter() - t

    ctx = EvalContext(
        config,
        sampler,
        dataset,
        train_index,
        train_features,
        reference.holdout_features,
        plan,
        generated_features,
        extractor,
    )
    if config.out_dir is not None:
        grid = np.concatenate(
            list(generate_batches(sampler, plan, config.batch_size, np.arange(min(SAMPLE_GRID, len(plan)))))
        )
        ctx.save_picture(
            "samples.png",
            image_grid(grid, 8),
            f"The first {len(grid)} of {len(plan)} generated covers (evaluation seed {config.seed}), row by row.",
        )

    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": model_summary,
        "protocol": {
            "n_generated": len(plan),
            "seed": config.seed,
            "resolution": info.resolution,
            "resize": resize,
            "features": FEATURES_NAME,
            "backend": extractor.backend,
            "reference": {
                "name": dataset.root.name,
                "path": str(dataset.root),
                "content_hash": dataset.content_hash,
                "count": len(train_index),
                "split": "all covers"
                if reference.holdout is None or reference.holdout["kind"] == "dataset"
                else "training split (hold-out excluded)",
                "features_cached": reference.cache_hit,
            },
            "holdout": reference.holdout,
        },
    }
    for name in metrics:
        t = time.perf_counter()
        report[name] = METRICS[name](ctx)
        timings[name] = time.perf_counter() - t
    report["summary"] = summary(report)
    report["images"] = ctx.images
    timings["total"] = time.perf_counter() - started
    report["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    if config.out_dir is not None:
        write_json(Path(config.out_dir) / "eval.json", report)
        write_json(Path(config.out_dir) / SUMMARY_FILE, report["summary"])
    return report


def summary(report: dict) -> dict:
    """The compact figures export embeds as model metadata (`albumgan.eval`)."""
    p = report["protocol"]
    ref = p["reference"]
    out = {
        "protocol": f"N={p['n_generated']} at {p['resolution']}px, {p['resize']}, TF-Inception pool3; "
        f"reference {ref['name']} ({ref['count']} covers, {ref['content_hash'][:12]})",
        "n": p["n_generated"],
        "resolution": p["resolution"],
        "reference_count": ref["count"],
        "reference_hash": ref["content_hash"],
    }
    if "fid" in report:
        out["fid"] = round(report["fid"]["value"], 2)
    if "kid" in report:
        out["kid"] = round(report["kid"]["mean"], 6)
        out["kid_std"] = round(report["kid"]["std"], 6)
    if "precision_recall" in report:
        for name in ("precision", "recall", "density", "coverage"):
            out[name] = round(report["precision_recall"][name], 3)
    if "memorisation" in report:
        out["suspected_copies"] = report["memorisation"]["suspected_copies"]
        out["memorisation_passed"] = report["memorisation"]["passed"]
    if "steering" in report:
        out["steering_r"] = {
            k: (None if v["r"] is None else round(v["r"], 3)) for k, v in report["steering"]["features"].items()
        }
    return out


def _r(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"


def format_report(report: dict) -> list[str]:
    """Human lines; every figure carries its protocol."""
    p = report["protocol"]
    ref = p["reference"]
    lines = [
        f"protocol: N={p['n_generated']} generated at {p['resolution']}px, {p['resize']}, {p['features']}; "
        f"reference {ref['name']} ({ref['split']}, {ref['count']} covers, hash {ref['content_hash'][:12]})",
    ]
    if "fid" in report:
        floor = (
            f" (real-vs-real floor {report['fid']['real_floor']:.1f} at N={report['fid']['real_floor_n']})"
            if "real_floor" in report["fid"]
            else ""
        )
        lines.append(f"FID-{p['n_generated']}: {report['fid']['value']:.2f}{floor}")
    if "kid" in report:
        k = report["kid"]
        lines.append(
            f"KID: {k['mean'] * 1e3:.2f} ± {k['std'] * 1e3:.2f} x10^-3 ({k['subsets']} subsets of {k['subset_size']})"
        )
    if "precision_recall" in report:
        pr = report["precision_recall"]
        lines.append(
            f"precision {pr['precision']:.3f}, density {pr['density']:.3f} (fidelity); recall {pr['recall']:.3f}, "
            f"coverage {pr['coverage']:.3f} (diversity); k={pr['nearest_k']}, {pr['n']} covers a side"
        )
    if "memorisation" in report:
        m = report["memorisation"]
        g, r = m["generated"], m["real_unseen"]
        lines.append(
            f"memorisation (cosine to nearest training cover): generated median {g['median']:.3f} p5 {g['p5']:.3f}; "
            f"unseen real median {r['median']:.3f} p5 {r['p5']:.3f}; {m['suspected_copies']}/{g['n']} below "
            f"{m['threshold']:.2f} -> {'passed' if m['passed'] else 'FAILED'}"
        )
    if "steering" in report:
        s = report["steering"]["features"]
        lines.append("steering r (requested vs recovered): " + ", ".join(f"{k} {_r(v['r'])}" for k, v in s.items()))
        lines.append(
            "predictor cv r on real covers: " + ", ".join(f"{k} {_r(v['predictor_cv_r'])}" for k, v in s.items())
        )
        sw = report["steering"]["sweeps"]
        if sw:
            lines.append("sweep r: " + ", ".join(f"{k} {_r(v['r'])}" for k, v in sw.items()))
    return lines
