"""Rebuild the shipped default model (lexical-ridge) from the public proxy sets in ../shared/data.

    python -m phqwatch.training.build_default [--out src/phqwatch/models/default] [--data DIR]
    (same as: phqwatch train --dataset all --out src/phqwatch/models/default)

Steps: load DepSeverity, LT-EDI 2022 dev and Reddit DR (train+test); split each with `datasets.split`
(seed 0: 70% train / 10% calib / 20% test, user-grouped, duplicates kept in one split); fit
`CpuEstimator` on the three train splits with one head per source and the head ensemble behind the PHQ-9
output; calibrate the 80% split-conformal interval of that output on the anchor (DepSeverity) calib split
against weak midpoint targets of each label's PHQ-9 range; measure
each head on its own test split; save the folder with its model card. The steps are
`training.supervised.fit_supervised`, which serves every estimator: `build(estimator=...)` (or
`phqwatch train --dataset all --estimator transformer --backbone DIR`) trains any of them the same way.
Deterministic: on the same
machine and library versions a rebuild writes a bit-identical weights.safetensors (config.json differs
only in the recorded train_seconds); across machines, BLAS summation order may move predictions by <1e-6.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phqwatch.datasets import DATASETS, ProxyDataset, load_dataset
from phqwatch.models.base import PHQ9Estimator
from phqwatch.models.cpu import CpuEstimator
from phqwatch.models.registry import DEFAULT_MODEL_DIR
from phqwatch.training.supervised import LabelledSet, fit_supervised

VERSION = "0.1.0"
REBUILD = "python -m phqwatch.training.build_default  (or: phqwatch train --dataset all --out DIR)"
DATA_STATUS = {
    "depseverity": "DepSeverity (Naseem et al., WWW 2022), usmaann/Depression_Severity_Dataset @ e21dbbf2; "
    "no licence stated, research use",
    "lt_edi": "LT-EDI 2022 'Detecting signs of depression from social media text', official dev split, "
    "rafalposwiata/depression-detection-lt-edi-2022 @ f3d923bc; research use only",
    "reddit_dr": "Pirina & Coltekin 2018 'Identifying depression on Reddit', coltekin/identifying-depression "
    "@ 586914a6, train+test pooled; no licence stated, research use",
}
LIMITS = (
    "Trained only on single Reddit posts with proxy ordinal labels; no administered PHQ-9 and no chat "
    "dialogue was available, so the PHQ-9 scale is a weak mapping (see 'How the output is put on the "
    "PHQ-9 scale') and absolute values are not validated. The three label sets disagree (cross-set transfer "
    "is weak: each head ranks its own set best), so the PHQ-9 output is a weighted average of the three heads "
    "and ranks each set somewhat below that set's own head. "
    "The interval is calibrated against weak midpoint targets, not administered scores; its coverage on "
    "real users is unknown. Reddit DR "
    "labels are subreddit-of-origin codes, partly a topic task. English only. Posts are ~100 words; "
    "users' multi-week transcripts are much longer (a distribution shift). Re-train or at least "
    "re-calibrate on your own administered PHQ-9s (`phqwatch train --transcripts ... --labels ...`) before "
    "any use. Self-harm: this score never replaces the crisis-safety screen."
)


def load_all(root: Path | None = None, names: tuple[str, ...] = DATASETS) -> dict[str, ProxyDataset]:
    return {n: load_dataset(n, root) for n in names}


def _cpu_output_scale(model: CpuEstimator) -> str:
    weights = {h: round(float(w), 3) for h, w in zip(model.ensemble_["heads"], model.ensemble_["weights"], strict=True)}
    return (
        "One head per source learns that source's own labels (ordinal logistic cut-points). The PHQ-9 "
        "estimate combines all heads: each head's latent score is standardised (z-score over the pooled "
        "training posts, own posts scored out-of-fold) and the z-scores are averaged with non-negative "
        f"weights {weights} (head_weights='{model.head_weights}': the simplex-grid weights that maximise "
        "the mean per-set Spearman on the training posts). The average is mapped piecewise-linearly "
        f"onto 0-27 through the '{model.anchor_}' class boundaries: on its training posts, the averaged "
        "latent's quantiles at the cumulative class shares are placed at PHQ-9 band edges "
        f"{model.scale_['knots_phq9'][1:-1]}, extended to 0 and 27 (slope of the nearest segment, or the "
        "0.5% / 99.5% latent quantiles where further out), then clipped to 0-27. The output is "
        f"non-decreasing in every head's score. Interval: split-conformal 80% of this output on the "
        f"'{model.anchor_}' calibration split, targets = midpoints of each label's weak PHQ-9 range (so it "
        "reflects the weak mapping, not administered scores). Items 1-9: heuristic share of the total by "
        f"lexicon evidence (floor {model.item_floor}), clipped to 0-3, summing to the total."
    )


def _generic_output_scale(model: PHQ9Estimator, targets: str, anchor: str | None) -> str:
    if getattr(model, "sources_", None):
        return (
            f"Targets: {targets}. One output per set learns that set's codes standardised within the set; "
            "the PHQ-9 estimate averages the outputs (each standardised over the training posts, equal "
            f"weights) and maps the average piecewise-linearly onto 0-27 through the '{anchor}' class shares "
            "and its weak PHQ-9 band edges (as lexical-ridge does), clipped to 0-27. Interval: "
            f"split-conformal 80% on the '{anchor}' calibration split against weak midpoints."
        )
    return f"Targets: {targets}. Interval: split-conformal 80% on the calibration split against weak midpoints."


def build(
    out: Path = DEFAULT_MODEL_DIR,
    root: Path | None = None,
    *,
    names: tuple[str, ...] = DATASETS,
    seed: int = 0,
    log: Callable[[str], None] = print,
    estimator: PHQ9Estimator | None = None,
    limit_train: int | None = None,
    n_boot: int = 200,
    rebuild: str | None = None,
) -> tuple[PHQ9Estimator, dict[str, Any]]:
    """Train any registered estimator on the proxy sets, calibrate, evaluate and save; (model, metrics)."""
    data = load_all(root, names)
    for n, d in data.items():
        if d.n_duplicates_dropped:
            log(f"[data] {n}: {d.n_duplicates_dropped} duplicate posts dropped on loading")
    model = estimator if estimator is not None else CpuEstimator()
    res = fit_supervised(
        model,
        [LabelledSet.from_proxy(d) for d in data.values()],
        seed=seed,
        limit_train=limit_train,
        n_boot=n_boot,
        log=log,
    )
    metrics = res.metrics
    metrics["note"] = (
        "Per set: spearman/auc/qwk/macro_f1 score that set's own head where the model has one, else its "
        "PHQ-9 output (qwk/macro_f1 with macro-F1-optimal cut-points chosen on training scores, see "
        "cutpoints_from); phq9_output_spearman scores the single PHQ-9 estimate users get. Never read these "
        "as PHQ-9 accuracy."
    )
    cpu_model = res.model if isinstance(res.model, CpuEstimator) else None
    cpu = cpu_model is not None
    if cpu_model is not None:
        weights = dict(zip(cpu_model.ensemble_["heads"], cpu_model.ensemble_["weights"], strict=True))
        log(f"[ensemble] head weights { {h: round(float(w), 3) for h, w in weights.items()} }")
    meta = {
        "name": "lexical-ridge" if cpu else res.model.name,
        "version": VERSION,
        "training_data": "; ".join(DATA_STATUS[n] for n in data)
        + ". Research-use-only public data; only this model's learned weights ship, never the posts.",
        "labels": "proxy ordinal labels, no administered PHQ-9: "
        + "; ".join(f"{n}: {d.mapping_note}" for n, d in data.items()),
        "output_scale": _cpu_output_scale(cpu_model)
        if cpu_model is not None
        else _generic_output_scale(res.model, res.targets, res.anchor),
        "metrics": metrics,
        "limits": LIMITS + (" Item scores are heuristic (lexicon evidence share of the total)." if cpu else ""),
        "rebuild": rebuild or REBUILD,
        "intended_use": "decision support, not diagnosis",
    }
    res.model.save(out, metadata=meta)
    log(f"[save] {out} ({sum(p.stat().st_size for p in Path(out).rglob('*') if p.is_file()) / 1e6:.1f} MB)")
    return res.model, metrics


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR, help="model folder to write")
    ap.add_argument("--data", type=Path, default=None, help="data root (default: $PHQWATCH_DATA_DIR or ../shared/data)")
    args = ap.parse_args(argv)
    build(args.out, args.data)


if __name__ == "__main__":
    main()
