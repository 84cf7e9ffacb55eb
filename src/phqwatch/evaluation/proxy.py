"""Evaluate a model on the held-out test split of the public proxy sets with ORDINAL metrics only.

The shared sets (``../shared/data`` or $PHQWATCH_DATA_DIR) are Reddit posts with ordinal severity labels,
not administered PHQ-9s, so no PHQ-9 MAE/RMSE is ever computed here: Spearman rho, AUC at each ordinal
cut, quadratic-weighted kappa and macro-F1 (`ordinal_metrics`, 95% bootstrap CIs).

Splits: `datasets.split(seed=0)` (70% train / 10% calib / 20% test), the split the shipped model and
`phqwatch train --dataset` use, so the test split is held out from training.

Two outputs are scored per set:

- ``phq9_output``: the single PHQ-9 estimate users get (any model's `predict`).
- ``head``: the set's own head (`predict_latent(X, source)`), for models trained with a head per set.
- ``phq9_output_dialogue``: the PHQ-9 estimate of the same test posts in dialogue form
  (`evaluation.forms.dialogue_form`: the user's words unchanged, cut into turns after assistant prompts,
  scored with the assistant turns included); `form_robustness` per set compares its Spearman with the
  post form's (does the model's ranking hold when the same words arrive as a chat?).

Macro-F1/QWK need cut-points on the score; they are chosen on TRAINING data only, never on the test split:
out-of-fold training scores when the model was fitted in this process (`train_oof_latent_`, the logic of
benchmarks/bench_default.py), else the scores of the set's calib split (part of the training data that
no head was fitted on; a loaded model has no saved out-of-fold scores, and its in-sample training scores
are over-fitted), else cross-fitting on the test split (stated in ``cutpoint_source``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from phqwatch.errors import InputError
from phqwatch.evaluation.metrics import DEFAULT_MIN_PER_CLASS
from phqwatch.evaluation.ordinal import ordinal_metrics

SCHEMA_VERSION = 1
#: The split seed of `datasets.split` that training uses; the test split is held out only with this seed.
SPLIT_SEED = 0
RESEARCH_USE = (
    "The public proxy sets are research-use-only copies of Reddit posts (see ../shared/data/README.md); "
    "this report may be shared inside the team, the posts may not. These are proxies: single posts with "
    "ordinal severity labels, not chat transcripts with administered PHQ-9s."
)
WEAK_LABELS = (
    "Labels are ordinal codes. Their PHQ-9 ranges are weak mappings, so no PHQ-9 error (MAE/RMSE) is "
    "reported: only rank and agreement metrics that do not assume the PHQ-9 scale (Spearman, AUC per cut, "
    "QWK, macro-F1 after cut-points chosen on training data). None of these is PHQ-9 accuracy."
)
OUTPUT_DESCRIPTIONS = {
    "phq9_output": "the single PHQ-9 estimate (0-27) users get",
    "head": "this set's own head (its raw latent score), models trained with a head per set",
    "phq9_output_dialogue": "the PHQ-9 estimate of the same posts in dialogue form (assistant prompts between "
    "verbatim user turns)",
}


@dataclass(slots=True)
class SetScores:
    """Scores of one output on one set: test rows, and the training-side rows used for cut-points."""

    test_labels: np.ndarray
    test_scores: np.ndarray
    train_labels: np.ndarray | None
    train_scores: np.ndarray | None
    cutpoint_source: str


@dataclass(slots=True)
class ProxyEvaluation:
    """metrics.json content plus the test-split scores the figures need (name -> output -> SetScores)."""

    metrics: dict[str, Any]
    scores: dict[str, dict[str, SetScores]] = field(default_factory=dict)


def resolve_names(dataset: str) -> tuple[str, ...]:
    """`all` -> every name in DATASETS; a known name -> (name,); anything else -> InputError."""
    from phqwatch.datasets import DATASETS

    if dataset == "all":
        return tuple(DATASETS)
    if dataset not in DATASETS:
        raise InputError(
            f"unknown dataset '{dataset}'", field="--dataset", fix=f"Use all or one of {', '.join(DATASETS)}."
        )
    return (dataset,)


def _has_head(model: Any, name: str) -> bool:
    return hasattr(model, "predict_latent") and name in (getattr(model, "heads_", None) or {})


def set_scores(model: Any, ds: Any, parts: dict[str, np.ndarray], *, dialogue: bool = True) -> dict[str, SetScores]:
    """Test-split scores of every output the model has for `ds`, with the training-side scores for cut-points."""
    te, tr, cal = parts["test"], parts["train"], parts["calib"]
    texts = [ds.texts[i] for i in te]
    cal_texts = [ds.texts[i] for i in cal]
    enough_cal = len(cal) >= 2 * ds.n_classes and len(np.unique(ds.labels[cal])) == ds.n_classes
    out: dict[str, SetScores] = {}
    phq = np.asarray(model.predict(texts), dtype=float)
    if enough_cal:
        out["phq9_output"] = SetScores(
            ds.labels[te],
            phq,
            ds.labels[cal],
            np.asarray(model.predict(cal_texts), dtype=float),
            f"calib split ({len(cal)} posts held out from fitting)",
        )
    else:
        out["phq9_output"] = SetScores(
            ds.labels[te], phq, None, None, "cross-fitted on the test split (calib too small)"
        )
    if _has_head(model, ds.name):
        lat = np.asarray(model.predict_latent(texts, ds.name), dtype=float)
        oof = (getattr(model, "train_oof_latent_", None) or {}).get(ds.name)
        if oof is not None and len(oof[1]) == len(tr):
            out["head"] = SetScores(
                ds.labels[te],
                lat,
                ds.labels[tr],
                np.asarray(oof[1], dtype=float),
                f"out-of-fold training scores ({len(tr)} posts)",
            )
        elif enough_cal:
            out["head"] = SetScores(
                ds.labels[te],
                lat,
                ds.labels[cal],
                np.asarray(model.predict_latent(cal_texts, ds.name), dtype=float),
                f"calib split ({len(cal)} posts held out from fitting)",
            )
        else:
            out["head"] = SetScores(ds.labels[te], lat, None, None, "cross-fitted on the test split (calib too small)")
    if dialogue:
        from phqwatch.evaluation.forms import dialogue_form

        post = out["phq9_output"]
        dia = np.asarray(model.predict(dialogue_form(texts)), dtype=float)
        cal_dia = None if post.train_scores is None else np.asarray(model.predict(dialogue_form(cal_texts)), float)
        out["phq9_output_dialogue"] = SetScores(
            ds.labels[te], dia, post.train_labels, cal_dia, post.cutpoint_source + ", dialogue form"
        )
    return out


def form_robustness(outputs: dict[str, Any]) -> dict[str, Any] | None:
    """Spearman of the PHQ-9 output in post vs dialogue form, and whether the dialogue value lies in the post CI."""
    if "phq9_output_dialogue" not in outputs:
        return None
    post, dia = outputs["phq9_output"]["spearman"], outputs["phq9_output_dialogue"]["spearman"]
    if post.get("value") is None or dia.get("value") is None:
        return None
    lo, hi = post.get("ci") or [None, None]
    return {
        "spearman_post": post["value"],
        "spearman_dialogue": dia["value"],
        "difference": dia["value"] - post["value"],
        "dialogue_within_post_ci": None if lo is None else bool(lo <= dia["value"] <= hi),
    }


def score_metrics(
    sc: SetScores,
    n_classes: int,
    class_names: Sequence[str],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    min_per_class: int = DEFAULT_MIN_PER_CLASS,
) -> dict[str, Any]:
    """`ordinal_metrics` of one output, cut-points from its training-side scores (or cross-fitted)."""
    m = ordinal_metrics(
        sc.test_labels,
        sc.test_scores,
        n_classes=n_classes,
        train_scores=sc.train_scores,
        train_labels=sc.train_labels,
        n_boot=n_boot,
        seed=seed,
        min_per_class=min_per_class,
        class_names=list(class_names),
    )
    m["cutpoint_source"] = sc.cutpoint_source
    return m


def evaluate_proxy(
    model: Any,
    names: Sequence[str],
    *,
    root: str | Path | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    min_per_class: int = DEFAULT_MIN_PER_CLASS,
    model_path: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    dialogue: bool = True,
) -> ProxyEvaluation:
    """Ordinal metrics with CIs of `model` on the test split of each named proxy set.

    Raises DatasetUnavailableError (naming the folder and the fix) when a set's files are missing.
    """
    from phqwatch.datasets import load_dataset, split

    data = {n: load_dataset(n, root) for n in names}  # fail fast, before any scoring
    sets: dict[str, Any] = {}
    scores: dict[str, dict[str, SetScores]] = {}
    t_all = time.perf_counter()
    for name, ds in data.items():
        t0 = time.perf_counter()
        parts = split(ds, seed=SPLIT_SEED)
        scores[name] = set_scores(model, ds, parts, dialogue=dialogue)
        outputs = {
            key: {
                "description": OUTPUT_DESCRIPTIONS[key],
                **score_metrics(
                    sc, ds.n_classes, ds.label_names, n_boot=n_boot, seed=seed, min_per_class=min_per_class
                ),
            }
            for key, sc in scores[name].items()
        }
        sets[name] = {
            "n": len(parts["test"]),
            "n_train": len(parts["train"]),
            "n_calib": len(parts["calib"]),
            "class_names": list(ds.label_names),
            "class_counts_test": [int(c) for c in np.bincount(ds.labels[parts["test"]], minlength=ds.n_classes)],
            "weak_phq9_mapping": ds.mapping_note,
            "weak_phq9_ranges": [list(r) for r in ds.phq9_ranges],
            "n_duplicates_dropped": ds.n_duplicates_dropped,
            "outputs": outputs,
            "form_robustness": form_robustness(outputs),
            "seconds": round(time.perf_counter() - t0, 2),
        }
        if log:
            log(f"{name}: {len(parts['test'])} test posts scored in {sets[name]['seconds']:.1f}s")
    meta = getattr(model, "metadata_", {}) or {}
    metrics = {
        "schema_version": SCHEMA_VERSION,
        "kind": "proxy_ordinal",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {
            "id": str(getattr(model, "model_id", getattr(model, "name", "model"))),
            "estimator": getattr(model, "name", type(model).__name__),
            "path": str(model_path) if model_path is not None else "shipped default",
        },
        "data_root": str(next(iter(data.values())).root) if data else None,
        "split": f"datasets.split(seed={SPLIT_SEED}, test_size=0.2, calib_size=0.1); metrics on the test split",
        "n_boot": n_boot,
        "seed": seed,
        "min_per_class": min_per_class,
        "notes": [RESEARCH_USE, WEAK_LABELS],
        "model_training_data": meta.get("training_data"),
        "sets": sets,
        "seconds": round(time.perf_counter() - t_all, 2),
    }
    return ProxyEvaluation(metrics=metrics, scores=scores)


def headline(metrics: dict[str, Any]) -> list[tuple[str, str, str, str, str, str, str]]:
    """(set, output, n, Spearman [CI], AUC per cut, QWK [CI], macro-F1 [CI]) rows for the CLI and report."""

    def ci(e: dict[str, Any]) -> str:
        if e.get("value") is None:
            return "n/a"
        lo, hi = e.get("ci") or [None, None]
        return f"{e['value']:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if lo is not None else "")

    rows = []
    for name, s in metrics["sets"].items():
        for key, m in s["outputs"].items():
            aucs = " / ".join(f"{v['value']:.3f}" for v in m["auc_by_cut"].values()) or "n/a"
            rows.append((name, key, str(s["n"]), ci(m["spearman"]), aucs, ci(m["qwk"]), ci(m["macro_f1"])))
    return rows


def text_table(metrics: dict[str, Any]) -> str:
    """The headline rows as an aligned plain-text table."""
    head = ("set", "output", "n", "Spearman [95% CI]", "AUC per cut", "QWK [95% CI]", "macro-F1 [95% CI]")
    rows = [head, *headline(metrics)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
