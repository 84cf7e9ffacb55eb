"""Metrics for ordinal proxy labels (the shared Reddit sets): no PHQ-9 scale is assumed.

Spearman rho and AUC at every cut (code >= k is positive) use the continuous score directly. QWK,
macro-F1 and accuracy need classes: cut-points on the score are chosen to maximise macro-F1 on
TRAINING data only, either the `train_scores`/`train_labels` you pass, or, without them, by
cross-fitting (stratified folds: each fold is classified with cut-points chosen on the other folds).
CIs resample users with the out-of-fold classes fixed, so they do not include the variability of the
cut-point choice itself (stated in the output's `notes`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from phqwatch.errors import InputError
from phqwatch.evaluation.bootstrap import run_bootstrap, summarize
from phqwatch.evaluation.metrics import DEFAULT_MIN_PER_CLASS, RankEngine, agreement, safe_corr

DEFAULT_FOLDS = 5
_N_CANDIDATES = 99


def _codes(y: Any, n_classes: int, what: str) -> np.ndarray:
    arr = np.asarray(y, dtype=float).ravel()
    if np.isnan(arr).any() or (arr != np.round(arr)).any() or (arr < 0).any() or (arr >= n_classes).any():
        raise InputError(
            f"{what} must be integer codes 0..{n_classes - 1}",
            fix="Map ordinal labels to 0 (least severe) .. n_classes-1 before calling ordinal_metrics.",
        )
    return arr.astype(np.int64)


def apply_cutpoints(scores: Any, cuts: Any) -> np.ndarray:
    """Class codes: the number of cut-points at or below each score."""
    return np.searchsorted(np.asarray(cuts, dtype=float), np.asarray(scores, dtype=float), side="right")


def _macro_f1_rows(P: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """Macro-F1 of each row of predicted codes P (m, n) against y, over classes present in either."""
    total = np.zeros(P.shape[0])
    present = np.zeros(P.shape[0])
    for k in range(n_classes):
        pk, yk = P == k, y == k
        tp = (pk & yk).sum(axis=1)
        denom = pk.sum(axis=1) + yk.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(denom > 0, 2.0 * tp / denom, 0.0)
        total += f1
        present += denom > 0
    return total / np.maximum(present, 1)


def choose_cutpoints(scores: Any, labels: Any, n_classes: int, *, passes: int = 3) -> np.ndarray:
    """Increasing cut-points (n_classes-1) that maximise macro-F1 on (scores, labels).

    Starts from the cut-points that reproduce the label proportions, then improves one cut-point at a
    time over candidate values (score quantiles) within its neighbours' bounds.
    """
    s = np.asarray(scores, dtype=float)
    y = _codes(labels, n_classes, "train labels")
    if len(s) != len(y) or len(s) == 0:
        raise InputError("train scores and labels must be non-empty and aligned", fix="Pass one score per label.")
    props = np.cumsum(np.bincount(y, minlength=n_classes))[:-1] / len(y)
    cuts = np.quantile(s, props)
    cand = np.unique(np.quantile(s, np.linspace(0, 1, _N_CANDIDATES + 2)[1:-1]))
    cand = np.unique(np.r_[cand, cuts])
    best = _macro_f1_rows(apply_cutpoints(s, cuts)[None, :], y, n_classes)[0]
    for _ in range(passes):
        improved = False
        for k in range(n_classes - 1):
            lo = cuts[k - 1] if k > 0 else -np.inf
            hi = cuts[k + 1] if k < n_classes - 2 else np.inf
            options = cand[(cand >= lo) & (cand <= hi)]
            if len(options) == 0:
                continue
            trial = np.repeat(cuts[None, :], len(options), axis=0)
            trial[:, k] = options
            P = np.stack([apply_cutpoints(s, t) for t in trial])
            f1 = _macro_f1_rows(P, y, n_classes)
            i = int(np.argmax(f1))
            if f1[i] > best + 1e-12:
                best, cuts, improved = float(f1[i]), trial[i], True
        if not improved:
            break
    return np.asarray(cuts, dtype=float)


def stratified_folds(labels: np.ndarray, n_folds: int, seed: int = 0) -> np.ndarray:
    """Fold index per row, each class spread evenly over the folds (seeded shuffle)."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for k in np.unique(labels):
        idx = np.flatnonzero(labels == k)
        rng.shuffle(idx)
        folds[idx] = (np.arange(len(idx)) + offset) % n_folds
        offset += len(idx)
    return folds


def crossfit_classes(
    scores: Any, labels: Any, n_classes: int, *, n_folds: int = DEFAULT_FOLDS, seed: int = 0
) -> tuple[np.ndarray, list[list[float]]]:
    """(out-of-fold class codes, cut-points per fold): each fold classified by cut-points from the others."""
    s = np.asarray(scores, dtype=float)
    y = _codes(labels, n_classes, "labels")
    if len(y) < 2 * n_folds:
        raise InputError(
            f"{len(y)} rows are too few for {n_folds}-fold cross-fitting",
            fix="Pass train_scores/train_labels, or evaluate on more rows.",
        )
    folds = stratified_folds(y, n_folds, seed)
    out = np.empty(len(y), dtype=np.int64)
    cuts_per_fold = []
    for f in range(n_folds):
        test = folds == f
        cuts = choose_cutpoints(s[~test], y[~test], n_classes)
        out[test] = apply_cutpoints(s[test], cuts)
        cuts_per_fold.append([float(c) for c in cuts])
    return out, cuts_per_fold


def _ordinal_stat_fn(scores: np.ndarray, y: np.ndarray, pred: np.ndarray, n_classes: int):
    engine = RankEngine(scores, y, n_classes)
    pc = pred.astype(float) - y.mean()
    yc = y.astype(float) - y.mean()
    eye = np.eye(n_classes)
    feats = np.column_stack(
        [np.ones(len(y)), pc, yc, pc * pc, yc * yc, pc * yc, (pred == y).astype(float)]
        + [eye[y] * eye[pred], eye[y], eye[pred]]
    )
    K = n_classes

    def fn(W: np.ndarray) -> dict[str, np.ndarray]:
        M = W @ feats
        N = M[:, 0]
        m = M / N[:, None]
        mp, my = m[:, 1], m[:, 2]
        vp, vy, cov = m[:, 3] - mp**2, m[:, 4] - my**2, m[:, 5] - mp * my
        tp, true_k, pred_k = M[:, 7 : 7 + K], M[:, 7 + K : 7 + 2 * K], M[:, 7 + 2 * K : 7 + 3 * K]
        denom = true_k + pred_k
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(denom > 0, 2.0 * tp / denom, 0.0)
        macro = f1.sum(axis=1) / np.maximum((denom > 0).sum(axis=1), 1)
        st = engine.stats(W)
        auc, npos, nneg = RankEngine.auc_by_cut(st)
        return {
            "spearman": RankEngine.spearman(st),
            "qwk": agreement(cov, vp, vy, mp - my),
            "macro_f1": macro,
            "accuracy": m[:, 6],
            "pearson_codes": safe_corr(cov, vp, vy, N),
            "auc": auc,
            "auc_pos": npos,
            "auc_neg": nneg,
        }

    return fn


def ordinal_metrics(
    y_true_codes: Any,
    scores: Any,
    *,
    n_classes: int,
    train_scores: Any = None,
    train_labels: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
    n_folds: int = DEFAULT_FOLDS,
    min_per_class: int = DEFAULT_MIN_PER_CLASS,
    level: float = 0.95,
    class_names: list[str] | None = None,
) -> dict[str, Any]:
    """Spearman, AUC per cut, QWK, macro-F1 and accuracy for ordinal labels, each {"value", "ci"}.

    `y_true_codes` are 0 (least severe) .. n_classes-1; `scores` any continuous severity score (higher =
    more severe). Cut-points come from (train_scores, train_labels) when given, else by cross-fitting.
    Rows with a NaN score are dropped and counted. JSON-safe: no NaN anywhere.
    """
    if n_classes < 2:
        raise InputError("n_classes must be at least 2", fix="Pass the number of ordinal levels.")
    s_all = np.asarray(scores, dtype=float).ravel()
    y_all = _codes(y_true_codes, n_classes, "y_true_codes")
    if len(s_all) != len(y_all):
        raise InputError(f"{len(y_all)} labels but {len(s_all)} scores", fix="Pass one score per label.")
    keep = np.isfinite(s_all)
    s, y = s_all[keep], y_all[keep]
    if len(y) == 0:
        raise InputError("no rows with a finite score", fix="Check the scores.")
    notes = ["CIs resample rows with the predicted classes fixed; they exclude the variability of choosing cut-points."]
    if train_scores is not None and train_labels is not None:
        ts = np.asarray(train_scores, dtype=float).ravel()
        tl = _codes(train_labels, n_classes, "train_labels")
        ok = np.isfinite(ts)
        cuts = choose_cutpoints(ts[ok], tl[ok], n_classes)
        pred = apply_cutpoints(s, cuts)
        method = "macro-F1-optimal cut-points chosen on the training set passed in"
        cut_out: Any = [float(c) for c in cuts]
    else:
        pred, cut_out = crossfit_classes(s, y, n_classes, n_folds=n_folds, seed=seed)
        method = f"macro-F1-optimal cut-points, {n_folds}-fold stratified cross-fitting (seed {seed})"
    point, reps = run_bootstrap(_ordinal_stat_fn(s, y, pred, n_classes), len(y), n_boot=n_boot, seed=seed)
    const = "undefined: constant scores or labels (zero variance)"
    reasons = {"spearman": const} if np.ptp(s) == 0 or np.ptp(y) == 0 else {}
    if np.ptp(pred) == 0 and np.ptp(y) == 0:
        reasons["qwk"] = "undefined: one class only"
    out: dict[str, Any] = {"n": {"value": int(len(y)), "ci": [int(len(y)), int(len(y))]}}
    for k in ("spearman", "qwk", "macro_f1", "accuracy"):
        out[k] = summarize(point[k], reps.get(k), level=level, reason=reasons.get(k))
    aucs: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for cut in range(1, n_classes):
        npos, nneg = int(point["auc_pos"][cut - 1]), int(point["auc_neg"][cut - 1])
        if npos == 0 or nneg == 0:
            skipped[str(cut)] = f"one class only ({npos} positives, {nneg} negatives)"
        elif min(npos, nneg) < min_per_class:
            skipped[str(cut)] = f"too few: {npos} positives, {nneg} negatives (minimum {min_per_class} each)"
        else:
            e = summarize(point["auc"][cut - 1], reps["auc"][:, cut - 1] if reps else None, level=level)
            aucs[str(cut)] = {**e, "n_pos": npos, "n_neg": nneg}
    out["auc_by_cut"] = aucs
    out["auc_skipped"] = skipped
    out["class_counts"] = [int(c) for c in np.bincount(y, minlength=n_classes)]
    if class_names is not None:
        out["class_names"] = list(class_names)
    out["cutpoints"] = cut_out
    out["cutpoint_method"] = method
    out["n_dropped_nan"] = int((~keep).sum())
    out["n_boot"], out["seed"], out["ci_level"] = n_boot, seed, level
    out["notes"] = notes
    return out
