"""One supervised-training function for every registered estimator.

    result = fit_supervised(estimator, [LabelledSet.from_proxy(ds), ...])   # public proxy sets
    result = fit_supervised(estimator, [LabelledSet.from_windows(windows)])  # administered PHQ-9s

Steps, the same for every estimator:

1. Split each set with `datasets.split` (user/duplicate-grouped, label-stratified, fixed seed): train /
   calib / test. `limit_train` keeps a random sample of each train split (quick runs).
2. Targets per source, never raw codes mixed across sets. Administered PHQ-9 totals are used as they are.
   Proxy codes go to estimators that learn one head per source (`supports_sources`: lexical-ridge, the
   transformer) as codes with `sources=`; any other estimator gets each row's weak PHQ-9 midpoint of its
   own set's range (DepSeverity minimum = 2, LT-EDI moderate = 14.5, ...), so every target is on 0-27.
3. Fit on the train splits; calibrate the split-conformal interval on the calib split (proxies: the
   anchor set only, against weak midpoints).
4. Measure on each test split: rank metrics of the set's own head (or of the PHQ-9 output) with
   macro-F1 cut-points chosen on training scores (out-of-fold where the estimator keeps them, else the
   calib split); PHQ-9 agreement metrics for administered totals. Full precision; displays round.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from phqwatch import phq9
from phqwatch.datasets import ProxyDataset, split
from phqwatch.errors import InputError
from phqwatch.models.base import PHQ9Estimator


@dataclass(slots=True)
class LabelledSet:
    """Texts with labels: one proxy set's ordinal codes (`phq9_ranges` given) or administered PHQ-9 totals."""

    name: str
    texts: list[str]
    labels: np.ndarray
    #: Rows sharing a group (a user, near-duplicate posts) always land in one split.
    groups: np.ndarray
    #: What the split stratifies on (the codes, or the PHQ-9 band of a total).
    strata: np.ndarray
    phq9_ranges: tuple[tuple[int, int], ...] | None = None
    label_names: tuple[str, ...] = ()
    mapping_note: str = ""
    items: list[Any] | None = field(default=None, repr=False)

    @property
    def ordinal(self) -> bool:
        return self.phq9_ranges is not None

    def midpoints(self) -> np.ndarray:
        """Weak PHQ-9 value of each row: its range's midpoint (proxy codes), or the total itself."""
        if self.phq9_ranges is None:
            return self.labels.astype(float)
        mids = np.array([(lo + hi) / 2 for lo, hi in self.phq9_ranges])
        return mids[self.labels.astype(int)]

    @classmethod
    def from_proxy(cls, ds: ProxyDataset) -> LabelledSet:
        return cls(
            name=ds.name,
            texts=list(ds.texts),
            labels=np.asarray(ds.labels, dtype=int),
            groups=np.asarray(ds.groups),
            strata=np.asarray(ds.labels, dtype=int),
            phq9_ranges=tuple(ds.phq9_ranges),
            label_names=tuple(ds.label_names),
            mapping_note=ds.mapping_note,
        )

    @classmethod
    def from_windows(cls, windows: Sequence[Any], name: str = "administered") -> LabelledSet:
        """Windows (text before each administered PHQ-9); a user's windows share a split group."""
        users = {u: i for i, u in enumerate(dict.fromkeys(w.user_id for w in windows))}
        labels = np.array([float(w.label) for w in windows])
        return cls(
            name=name,
            texts=[w.text for w in windows],
            labels=labels,
            groups=np.array([users[w.user_id] for w in windows]),
            strata=np.array([phq9.band_index(v) for v in labels], dtype=int),
            items=[list(w.items) if getattr(w, "items", None) else None for w in windows],
        )


@dataclass(slots=True)
class TrainResult:
    model: PHQ9Estimator
    metrics: dict[str, Any]
    splits: dict[str, dict[str, np.ndarray]]
    #: How the labels became training targets (for the model card).
    targets: str
    anchor: str | None
    train_seconds: float


def _limit(idx: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    if n is None or len(idx) <= n:
        return idx
    return np.sort(np.random.default_rng(seed).choice(idx, size=n, replace=False))


def supports_sources(estimator: PHQ9Estimator) -> bool:
    return bool(getattr(estimator, "supports_sources", False))


def fit_supervised(
    estimator: PHQ9Estimator,
    sets: Sequence[LabelledSet],
    *,
    seed: int = 0,
    test_size: float = 0.2,
    calib_size: float = 0.1,
    limit_train: int | None = None,
    n_boot: int = 200,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Split, fit, calibrate and measure `estimator` on `sets` (see the module docstring)."""
    if not sets:
        raise InputError("no training data", fix="Pass at least one labelled set.")
    kinds = {s.ordinal for s in sets}
    if kinds == {False} and len(sets) > 1 or len(kinds) > 1:
        raise InputError(
            "administered PHQ-9 totals train alone, not mixed with other sets",
            fix="Train on one set of administered totals, or on proxy sets only.",
        )
    ordinal = kinds == {True}
    splits = {}
    for s in sets:
        parts = split(SimpleNamespace(labels=s.strata, groups=s.groups), seed, test_size, calib_size)
        parts["train"] = _limit(parts["train"], limit_train, seed)
        splits[s.name] = parts
        log(f"[data] {s.name}: {len(s.texts)} rows; " + ", ".join(f"{k} {len(v)}" for k, v in parts.items()))
    texts: list[str] = []
    codes: list[np.ndarray] = []
    mids: list[np.ndarray] = []
    sources: list[str] = []
    for s in sets:
        idx = splits[s.name]["train"]
        texts += [s.texts[i] for i in idx]
        codes.append(s.labels[idx])
        mids.append(s.midpoints()[idx])
        sources += [s.name] * len(idx)
    per_source = ordinal and supports_sources(estimator)
    if per_source:
        y, fit_sources = np.concatenate(codes).astype(float), sources
        targets = "each set's own ordinal codes, one head per set (sources=); never mixed across sets"
    elif ordinal:
        y, fit_sources = np.concatenate(mids), None
        targets = "each row's weak PHQ-9 midpoint of its own set's range (the estimator has no per-set heads)"
    else:
        y, fit_sources = np.concatenate(codes).astype(float), None
        targets = "administered PHQ-9 totals (0-27)"
    log(f"[fit] {type(estimator).__name__} on {len(texts)} rows from {', '.join(s.name for s in sets)}; {targets}")
    t0 = time.perf_counter()
    model = estimator.fit(texts, y, sources=fit_sources)
    train_seconds = time.perf_counter() - t0
    log(f"[fit] done in {train_seconds:.1f}s")
    anchor = _anchor(model, sets)
    cal_sets = [s for s in sets if s.name == anchor] if ordinal else list(sets)
    ctexts = [s.texts[i] for s in cal_sets for i in splits[s.name]["calib"]]
    cmids = np.concatenate([s.midpoints()[splits[s.name]["calib"]] for s in cal_sets])
    if len(ctexts):
        model.calibrate_interval(ctexts, cmids)
        log(f"[calibrate] 80% conformal half-width {model.conformal_q_:.2f} PHQ-9 points on {len(ctexts)} rows")
    metrics: dict[str, Any] = {}
    oof = getattr(model, "train_oof_latent_", None) or {}
    for s in sets:
        if ordinal:
            metrics[s.name] = set_metrics(model, s, splits[s.name], n_boot=n_boot, oof=oof.get(s.name), fit_y=y)
        else:
            metrics[s.name] = totals_metrics(model, s, splits[s.name]["test"], n_boot=n_boot, seed=seed)
        shown = {k: v for k, v in metrics[s.name].items() if isinstance(v, int | float)}
        log(f"[test] {s.name}: " + ", ".join(f"{k}={v:.4g}" for k, v in shown.items()))
    metrics["split"] = (
        f"datasets.split(seed={seed}, test_size={test_size}, calib_size={calib_size}); metrics on the test split"
        + (f"; train splits limited to {limit_train} rows each" if limit_train else "")
    )
    if getattr(model, "conformal_q_", None) is not None:
        metrics["conformal_half_width_80"] = float(model.conformal_q_)
    metrics["train_seconds"] = train_seconds
    return TrainResult(model, metrics, splits, targets, anchor, train_seconds)


def _anchor(model: PHQ9Estimator, sets: Sequence[LabelledSet]) -> str | None:
    names = [s.name for s in sets]
    a = getattr(model, "anchor_", None)
    if a in names:
        return a
    return "depseverity" if "depseverity" in names else names[0]


def _head_scores(model: PHQ9Estimator, texts: list[str], name: str) -> tuple[np.ndarray, str]:
    heads = getattr(model, "heads_", None) or getattr(model, "sources_", None) or ()
    if name in heads and hasattr(model, "predict_latent"):
        return np.asarray(model.predict_latent(texts, name), dtype=float), "own head"
    return np.asarray(model.predict(texts), dtype=float), "PHQ-9 output"


def set_metrics(
    model: PHQ9Estimator,
    s: LabelledSet,
    parts: dict[str, np.ndarray],
    *,
    n_boot: int = 200,
    oof: tuple[np.ndarray, np.ndarray] | None = None,
    fit_y: np.ndarray | None = None,
) -> dict[str, Any]:
    """Ordinal metrics of the set's own head (or the PHQ-9 output) on its test split, full precision.

    macro-F1/QWK cut-points come from out-of-fold training scores (`oof`: rows into the fit data and
    their scores, with `fit_y` the fit labels) when given, else from the calib split's scores."""
    from scipy.stats import spearmanr

    from phqwatch.evaluation import ordinal_metrics

    test = [s.texts[i] for i in parts["test"]]
    scores, output = _head_scores(model, test, s.name)
    phq = model.predict(test)  # right after: a transformer reuses its forward pass over the same texts
    train_scores: np.ndarray | None
    train_labels: np.ndarray | None
    if oof is not None and fit_y is not None:
        train_scores, train_labels, cut_from = oof[1], fit_y[oof[0]], "out-of-fold training scores"
    elif len(parts["calib"]) and len(np.unique(s.labels[parts["calib"]])) == len(s.label_names):
        train_scores = _head_scores(model, [s.texts[i] for i in parts["calib"]], s.name)[0]
        train_labels, cut_from = s.labels[parts["calib"]], "calib split scores"
    else:
        train_scores = train_labels = None
        cut_from = "cross-fitting on the test split"
    m = ordinal_metrics(
        s.labels[parts["test"]],
        scores,
        n_classes=len(s.label_names),
        train_scores=train_scores,
        train_labels=train_labels,
        n_boot=n_boot,
        class_names=list(s.label_names),
    )
    return {
        "n_test": len(parts["test"]),
        "output": output,
        "spearman": m["spearman"]["value"],
        "spearman_ci": m["spearman"]["ci"],
        "auc_by_cut": {k: v["value"] for k, v in m["auc_by_cut"].items()},
        "qwk": m["qwk"]["value"],
        "macro_f1": m["macro_f1"]["value"],
        "cutpoints_from": cut_from,
        "phq9_output_spearman": float(spearmanr(s.labels[parts["test"]], phq)[0]),
    }


def totals_metrics(
    model: PHQ9Estimator, s: LabelledSet, test: np.ndarray, *, n_boot: int = 200, seed: int = 0
) -> dict[str, Any]:
    """PHQ-9 agreement metrics on the test split of administered totals (full precision)."""
    from phqwatch.evaluation.metrics import phq9_metrics

    if len(test) == 0:
        return {"n_test": 0, "note": "no test rows"}
    pred, lo, hi = model.predict_interval([s.texts[i] for i in test])
    m = phq9_metrics(s.labels[test], pred, lo, hi, units=s.groups[test], n_boot=n_boot, seed=seed, min_per_class=1)
    out: dict[str, Any] = {"n_test": len(test)}
    for k in ("mae", "spearman", "pearson", "interval_coverage"):
        out[k] = m[k]["value"]
        out[f"{k}_ci"] = m[k]["ci"]
    return out


__all__ = ["LabelledSet", "TrainResult", "fit_supervised", "set_metrics", "supports_sources", "totals_metrics"]
