"""Rebuild the shipped CPU default from the public proxy sets in ../shared/data.

    python -m phqwatch.training.build_default [--out src/phqwatch/models/default] [--data DIR]
    (same as: phqwatch train --dataset all --out src/phqwatch/models/default)

Steps: load DepSeverity, LT-EDI 2022 dev and Reddit DR (train+test); split each with `datasets.split`
(seed 0: 70% train / 10% calib / 20% test, user-grouped, duplicates kept in one split); fit
`CpuEstimator` on the three train splits with one head per source and the head ensemble behind the PHQ-9
output; calibrate the 80% split-conformal interval of that output on the anchor (DepSeverity) calib split
against weak midpoint targets of each label's PHQ-9 range; measure
each head on its own test split; save the folder with its model card. Deterministic: on the same
machine and library versions a rebuild writes a bit-identical weights.safetensors (config.json differs
only in the recorded train_seconds); across machines, BLAS summation order may move predictions by <1e-6.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from phqwatch.datasets import DATASETS, ProxyDataset, load_dataset, split
from phqwatch.models.cpu import CpuEstimator
from phqwatch.models.registry import DEFAULT_MODEL_DIR

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
    "real users is unknown. Item scores are heuristic (lexicon evidence share of the total). Reddit DR "
    "labels are subreddit-of-origin codes, partly a topic task. English only. Posts are ~100 words; "
    "users' multi-week transcripts are much longer (a distribution shift). Re-train or at least "
    "re-calibrate on your own administered PHQ-9s (`phqwatch train --transcripts ... --labels ...`) before "
    "any use. Self-harm: this score never replaces the crisis-safety screen."
)


def load_all(root: Path | None = None, names: tuple[str, ...] = DATASETS) -> dict[str, ProxyDataset]:
    return {n: load_dataset(n, root) for n in names}


def _collect(data: dict[str, ProxyDataset], splits: dict[str, dict[str, np.ndarray]], part: str):
    texts: list[str] = []
    labels: list[int] = []
    sources: list[str] = []
    mids: list[float] = []
    for name, ds in data.items():
        idx = splits[name][part]
        texts += [ds.texts[i] for i in idx]
        labels += [int(v) for v in ds.labels[idx]]
        sources += [name] * len(idx)
        mids += [float(v) for v in ds.phq9_midpoints()[idx]]
    return texts, np.asarray(labels), sources, np.asarray(mids)


def head_metrics(
    model: CpuEstimator, ds: ProxyDataset, test_idx: np.ndarray, train_idx_in_fit: np.ndarray, n_boot: int = 200
) -> dict[str, Any]:
    """Ordinal metrics of one head on its test split; macro-F1/QWK cut-points chosen on out-of-fold
    training scores of the same head."""
    from phqwatch.evaluation import ordinal_metrics

    texts = [ds.texts[i] for i in test_idx]
    latent = model.predict_latent(texts, ds.name)
    rows, oof = model.train_oof_latent_[ds.name]
    m = ordinal_metrics(
        ds.labels[test_idx],
        latent,
        n_classes=ds.n_classes,
        train_scores=oof,
        train_labels=ds.labels[train_idx_in_fit],
        n_boot=n_boot,
        class_names=list(ds.label_names),
    )
    phq = model.predict(texts)
    from scipy.stats import spearmanr

    return {
        "n_test": len(test_idx),
        "spearman": round(m["spearman"]["value"], 4),
        "spearman_ci": m["spearman"]["ci"],
        "auc_by_cut": {k: round(v["value"], 4) for k, v in m["auc_by_cut"].items()},
        "qwk": round(m["qwk"]["value"], 4),
        "macro_f1": round(m["macro_f1"]["value"], 4),
        "phq9_output_spearman": round(float(spearmanr(ds.labels[test_idx], phq)[0]), 4),
    }


def build(
    out: Path = DEFAULT_MODEL_DIR,
    root: Path | None = None,
    *,
    names: tuple[str, ...] = DATASETS,
    seed: int = 0,
    log: Callable[[str], None] = print,
    estimator: CpuEstimator | None = None,
) -> tuple[CpuEstimator, dict[str, Any]]:
    """Train, calibrate, evaluate and save; returns (model, metrics)."""
    t0 = time.perf_counter()
    data = load_all(root, names)
    splits = {n: split(d, seed=seed) for n, d in data.items()}
    for n, d in data.items():
        log(
            f"[data] {n}: {len(d)} posts ({d.n_duplicates_dropped} duplicates dropped); "
            + ", ".join(f"{k} {len(v)}" for k, v in splits[n].items())
        )
    texts, labels, sources, _ = _collect(data, splits, "train")
    model = estimator if estimator is not None else CpuEstimator()
    log(f"[fit] {len(texts)} training posts, heads: {', '.join(data)}")
    model.fit(texts, labels, sources=sources)
    t_fit = time.perf_counter() - t0
    log(f"[fit] done in {t_fit:.1f}s")
    anchor = model.anchor_
    cal = {anchor: data[anchor]} if anchor in data else data
    ctexts, _, _, cmids = _collect(cal, splits, "calib")
    model.calibrate_interval(ctexts, cmids)
    log(f"[calibrate] 80% conformal half-width {model.conformal_q_:.2f} PHQ-9 points on {len(ctexts)} posts")
    weights = {h: round(float(w), 3) for h, w in zip(model.ensemble_["heads"], model.ensemble_["weights"], strict=True)}
    log(f"[ensemble] head weights {weights}")
    metrics: dict[str, Any] = {}
    src = np.asarray(sources)
    for n, d in data.items():
        train_rows = splits[n]["train"]
        assert (src == n).sum() == len(train_rows)
        metrics[n] = head_metrics(model, d, splits[n]["test"], train_rows)
        log(f"[test] {n}: " + ", ".join(f"{k}={v}" for k, v in metrics[n].items() if k != "spearman_ci"))
    metrics["note"] = (
        "Per set: spearman/auc/qwk/macro_f1 score that set's own head (qwk/macro_f1 with macro-F1-optimal "
        "cut-points chosen on out-of-fold training scores); phq9_output_spearman scores the single PHQ-9 "
        "estimate users get (the head ensemble). Never read these as PHQ-9 accuracy."
    )
    metrics["split"] = f"datasets.split(seed={seed}, test_size=0.2, calib_size=0.1); metrics on the test split"
    metrics["conformal_half_width_80"] = round(float(model.conformal_q_), 3)
    metrics["train_seconds"] = round(t_fit, 1)
    meta = {
        "name": "lexical-ridge",
        "version": VERSION,
        "training_data": "; ".join(DATA_STATUS[n] for n in data)
        + ". Research-use-only public data; only this model's learned weights ship, never the posts.",
        "labels": "proxy ordinal labels, no administered PHQ-9: "
        + "; ".join(f"{n}: {d.mapping_note}" for n, d in data.items()),
        "output_scale": (
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
        ),
        "metrics": metrics,
        "limits": LIMITS,
        "rebuild": REBUILD,
        "intended_use": "decision support, not diagnosis",
    }
    model.save(out, metadata=meta)
    log(f"[save] {out} ({sum(p.stat().st_size for p in Path(out).iterdir()) / 1e6:.1f} MB)")
    return model, metrics


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR, help="model folder to write")
    ap.add_argument("--data", type=Path, default=None, help="data root (default: $PHQWATCH_DATA_DIR or ../shared/data)")
    args = ap.parse_args(argv)
    build(args.out, args.data)


if __name__ == "__main__":
    main()
