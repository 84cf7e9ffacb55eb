"""PHQ-9 agreement metrics, vectorised over bootstrap replicates.

Every metric is computed from per-row weights `W` of shape (B, n): a row of ones gives the point
estimate, bootstrap counts give the replicates, so point values and CIs come from one implementation.

Definitions (stated in the report and in metrics.json's `definitions`):
- MAE, RMSE, mean error (prediction - label), Pearson r, Spearman rho (Pearson on mid-ranks), Lin's
  CCC (population variances, as in Lin 1989).
- AUC at threshold t: label >= t is positive, the continuous estimate is the score; computed from
  mid-ranks (Mann-Whitney U), so ties count one half. Only thresholds with at least `min_per_class`
  positives and negatives are evaluated; the others are reported with the reason.
- Sensitivity/specificity at >= 10: the estimate itself (not rounded) >= 10 is a positive screen,
  as in `phqwatch.phq9.is_positive_screen`.
- Band accuracy and `qwk_bands`: the estimate is rounded (half to even, as `phqwatch.phq9.band`) and
  banded 0-4/5-9/10-14/15-19/20-27.
- `qwk`: quadratic-weighted kappa on the ROUNDED TOTAL (28 categories 0..27). For integer ratings it
  equals 2 cov / (var_a + var_b + (mean_a - mean_b)^2), which is what is computed.
- Interval coverage: share of rows with an interval whose [low, high] contains the label.

Over 400 lines because every metric shares the one weighted, vectorised implementation above; splitting them
would split the definitions a report cites from the code that computes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from phqwatch import phq9
from phqwatch.errors import InputError

N_LEVELS = phq9.MAX_TOTAL + 1  # labels 0..27
THRESHOLDS: tuple[int, ...] = tuple(range(1, N_LEVELS))
DEFAULT_MIN_PER_CLASS = 10
SCREEN_CUTOFF = phq9.CUTOFF
_BAND_UPPER = np.array([hi for _, _, hi in phq9.BANDS[:-1]], dtype=float)  # 4, 9, 14, 19

#: Scalar metrics in metrics.json order (the first ten keys after `n` are the stable contract).
SCALAR_METRICS: tuple[str, ...] = (
    "mae",
    "rmse",
    "pearson",
    "spearman",
    "ccc",
    "qwk",
    "band_accuracy",
    "sensitivity_ge_10",
    "specificity_ge_10",
    "mean_error",
    "qwk_bands",
    "interval_coverage",
)


def bands_of(values: np.ndarray) -> np.ndarray:
    """Band index 0 (minimal) .. 4 (severe) of totals or estimates (rounded half to even first)."""
    r = np.clip(np.round(np.asarray(values, dtype=float)), phq9.MIN_TOTAL, phq9.MAX_TOTAL)
    return np.searchsorted(_BAND_UPPER, r, side="left").astype(np.int64)


class RankEngine:
    """Weighted mid-rank statistics of a continuous score against integer label codes 0..L-1.

    For weights W (B, n) it gives, per replicate, the summed mid-rank of the score per label level
    (for AUC at every cut via Mann-Whitney) and what Spearman's rho needs, in a few vectorised passes.
    """

    def __init__(self, score: np.ndarray, codes: np.ndarray, n_levels: int) -> None:
        score = np.asarray(score, dtype=float)
        codes = np.asarray(codes, dtype=np.int64)
        self.n_levels = n_levels
        self.order = np.argsort(score, kind="stable")
        s = score[self.order]
        new = np.r_[True, s[1:] != s[:-1]] if len(s) else np.zeros(0, dtype=bool)
        self.starts = np.flatnonzero(new)
        self.group = np.cumsum(new) - 1  # group (unique value) index of each sorted position
        self.onehot = np.zeros((len(s), n_levels))
        self.onehot[np.arange(len(s)), codes[self.order]] = 1.0

    def stats(self, W: np.ndarray) -> dict[str, np.ndarray]:
        """Per replicate: N, per-level weight `count` (B, L), per-level rank sum `rank_sum` (B, L), sum w*R^2."""
        Ws = W[:, self.order]
        G = np.add.reduceat(Ws, self.starts, axis=1)
        mid = np.cumsum(G, axis=1) - (G - 1.0) / 2.0
        R = mid[:, self.group]
        WR = Ws * R
        return {
            "N": Ws.sum(axis=1),
            "count": Ws @ self.onehot,
            "rank_sum": WR @ self.onehot,
            "sum_wr2": np.einsum("ij,ij->i", WR, R),
        }

    @staticmethod
    def auc_by_cut(st: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(auc, positives, negatives), each (B, L-1): cut k means code >= k is positive."""
        N = st["N"][:, None]
        pos = np.cumsum(st["count"][:, ::-1], axis=1)[:, ::-1][:, 1:]
        rpos = np.cumsum(st["rank_sum"][:, ::-1], axis=1)[:, ::-1][:, 1:]
        neg = N - pos
        with np.errstate(divide="ignore", invalid="ignore"):
            auc = (rpos - pos * (pos + 1.0) / 2.0) / (pos * neg)
        auc[(pos <= 0) | (neg <= 0)] = np.nan
        return auc, pos, neg

    @staticmethod
    def spearman(st: dict[str, np.ndarray]) -> np.ndarray:
        """Spearman rho (Pearson on mid-ranks of score and of label codes), (B,)."""
        N, cy = st["N"], st["count"]
        midy = np.cumsum(cy, axis=1) - (cy - 1.0) / 2.0
        mean = (N + 1.0) / 2.0
        cov = (midy * st["rank_sum"]).sum(axis=1) / N - mean**2
        vx = st["sum_wr2"] / N - mean**2
        vy = (cy * midy**2).sum(axis=1) / N - mean**2
        return safe_corr(cov, vx, vy, N)


def safe_corr(cov: np.ndarray, vx: np.ndarray, vy: np.ndarray, N: np.ndarray) -> np.ndarray:
    """Pearson r from moments; NaN where a variance is (numerically) zero."""
    tol = 1e-12 * np.maximum(1.0, N) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cov / np.sqrt(vx * vy)
    r[(vx <= tol) | (vy <= tol)] = np.nan
    return np.clip(r, -1.0, 1.0)


def agreement(cov: np.ndarray, vx: np.ndarray, vy: np.ndarray, dm: np.ndarray) -> np.ndarray:
    """Lin's CCC / quadratic kappa: 2 cov / (vx + vy + dm^2)."""
    den = vx + vy + dm**2
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 2.0 * cov / den
    out[den <= 1e-12] = np.nan
    return out


@dataclass
class Prepared:
    """Validated arrays for PHQ-9 metrics; rows with a NaN label or estimate are dropped and counted."""

    y: np.ndarray  # int64 labels 0..27
    pred: np.ndarray  # float estimates 0..27
    low: np.ndarray  # float, NaN where no interval
    high: np.ndarray
    dropped_nan: int
    engine: RankEngine
    features: np.ndarray  # (n, k) moment features, see _FEATURES
    keep: np.ndarray  # boolean mask of kept input rows


_FEATURES = (
    "one",
    "x",
    "y",
    "xx",
    "yy",
    "xy",
    "abs_e",
    "sq_e",
    "e",
    "r",
    "rr",
    "ry",
    "bx",
    "by",
    "bxbx",
    "byby",
    "bxby",
    "band_eq",
    "pos",
    "tp",
    "neg",
    "tn",
    "has_int",
    "inside",
)
_F = {name: i for i, name in enumerate(_FEATURES)}


def prepare(y: Any, pred: Any, low: Any = None, high: Any = None, *, cutoff: int = SCREEN_CUTOFF) -> Prepared:
    """Check and prepare labels (integers 0-27) and estimates (0-27) for the vectorised metrics."""
    y_arr = np.asarray(y, dtype=float).ravel()
    x_arr = np.asarray(pred, dtype=float).ravel()
    n = len(y_arr)
    if len(x_arr) != n:
        raise InputError(f"labels have {n} rows but predictions have {len(x_arr)}", fix="Pass aligned arrays.")
    lo = np.full(n, np.nan) if low is None else np.asarray(low, dtype=float).ravel()
    hi = np.full(n, np.nan) if high is None else np.asarray(high, dtype=float).ravel()
    if len(lo) != n or len(hi) != n:
        raise InputError("interval arrays must have one value per row", fix="Pass aligned arrays.")
    keep = ~(np.isnan(y_arr) | np.isnan(x_arr))
    y_arr, x_arr, lo, hi = y_arr[keep], x_arr[keep], lo[keep], hi[keep]
    if len(y_arr) == 0:
        raise InputError("no rows with both a label and an estimate", fix="Check that the inputs are not all NaN.")
    if (y_arr < 0).any() or (y_arr > phq9.MAX_TOTAL).any() or (y_arr != np.round(y_arr)).any():
        raise InputError("labels must be integer PHQ-9 totals 0-27", fix="Check the questionnaire scoring.")
    if (x_arr < 0).any() or (x_arr > phq9.MAX_TOTAL).any():
        raise InputError("estimates must lie in 0-27", fix="Clip model outputs to the PHQ-9 range.")
    yi = y_arr.astype(np.int64)
    # Centre on the full-sample means: moments are shift-invariant and centring avoids cancellation.
    x0, y0 = x_arr - x_arr.mean(), y_arr - y_arr.mean()
    r = np.clip(np.round(x_arr), 0, phq9.MAX_TOTAL)
    r0 = r - y_arr.mean()  # same shift as y so that means stay comparable
    bx, by = bands_of(x_arr).astype(float), bands_of(y_arr).astype(float)
    bshift = by.mean()
    bx0, by0 = bx - bshift, by - bshift
    e = x_arr - y_arr
    has_int = ~(np.isnan(lo) | np.isnan(hi))
    inside = has_int & (np.nan_to_num(lo, nan=np.inf) <= y_arr) & (y_arr <= np.nan_to_num(hi, nan=-np.inf))
    pos, ppos = y_arr >= cutoff, x_arr >= cutoff
    cols = {
        "one": np.ones_like(x0),
        "x": x0,
        "y": y0,
        "xx": x0 * x0,
        "yy": y0 * y0,
        "xy": x0 * y0,
        "abs_e": np.abs(e),
        "sq_e": e * e,
        "e": e,
        "r": r0,
        "rr": r0 * r0,
        "ry": r0 * y0,
        "bx": bx0,
        "by": by0,
        "bxbx": bx0 * bx0,
        "byby": by0 * by0,
        "bxby": bx0 * by0,
        "band_eq": (bx == by).astype(float),
        "pos": pos.astype(float),
        "tp": (pos & ppos).astype(float),
        "neg": (~pos).astype(float),
        "tn": (~pos & ~ppos).astype(float),
        "has_int": has_int.astype(float),
        "inside": inside.astype(float),
    }
    feats = np.column_stack([cols[k] for k in _FEATURES])
    return Prepared(yi, x_arr, lo, hi, int((~keep).sum()), RankEngine(x_arr, yi, N_LEVELS), feats, keep)


def weighted_metrics(p: Prepared, W: np.ndarray) -> dict[str, np.ndarray]:
    """All PHQ-9 metrics for each row of weights W (B, n). Scalars are (B,); `auc` is (B, 27)."""
    W = np.atleast_2d(np.asarray(W, dtype=float))
    M = W @ p.features
    N = M[:, _F["one"]]
    with np.errstate(divide="ignore", invalid="ignore"):
        m = M / N[:, None]

    def col(name: str) -> np.ndarray:
        return m[:, _F[name]]

    mx, my = col("x"), col("y")
    vx, vy = col("xx") - mx**2, col("yy") - my**2
    cov = col("xy") - mx * my
    # x0 and y0 are centred on different means, so the mean difference comes from the error column;
    # r0 and y0 share y's shift, as do the two band columns.
    mr = col("r")
    vr = col("rr") - mr**2
    cov_ry = col("ry") - mr * my
    mbx, mby = col("bx"), col("by")
    vbx, vby = col("bxbx") - mbx**2, col("byby") - mby**2
    cov_b = col("bxby") - mbx * mby
    x_minus_y = col("e")  # mean(x) - mean(y), unaffected by centring
    with np.errstate(divide="ignore", invalid="ignore"):
        sens = M[:, _F["tp"]] / M[:, _F["pos"]]
        spec = M[:, _F["tn"]] / M[:, _F["neg"]]
        cover = M[:, _F["inside"]] / M[:, _F["has_int"]]
    st = p.engine.stats(W)
    auc, npos, nneg = RankEngine.auc_by_cut(st)
    return {
        "n": N,
        "mae": col("abs_e"),
        "rmse": np.sqrt(col("sq_e")),
        "mean_error": x_minus_y,
        "pearson": safe_corr(cov, vx, vy, N),
        "spearman": RankEngine.spearman(st),
        "ccc": agreement(cov, vx, vy, x_minus_y),
        "qwk": agreement(cov_ry, vr, vy, mr - my),
        "qwk_bands": agreement(cov_b, vbx, vby, mbx - mby),
        "band_accuracy": col("band_eq"),
        "sensitivity_ge_10": sens,
        "specificity_ge_10": spec,
        "interval_coverage": cover,
        "auc": auc,
        "auc_pos": npos,
        "auc_neg": nneg,
    }


def point_reasons(p: Prepared, min_per_class: int = DEFAULT_MIN_PER_CLASS) -> dict[str, str]:
    """Why a point metric is undefined (metric name -> reason); empty when all are defined."""
    reasons: dict[str, str] = {}
    const_x = np.ptp(p.pred) == 0
    const_y = np.ptp(p.y) == 0
    if const_x or const_y:
        what = "predictions" if const_x and not const_y else "labels" if const_y and not const_x else "both"
        reasons["pearson"] = reasons["spearman"] = f"undefined: constant {what} (zero variance)"
    if len(p.y) == 1:
        reasons["ccc"] = reasons["qwk"] = reasons["qwk_bands"] = "undefined: a single row"
    if not (p.y >= SCREEN_CUTOFF).any():
        reasons["sensitivity_ge_10"] = "undefined: no label >= 10"
    if not (p.y < SCREEN_CUTOFF).any():
        reasons["specificity_ge_10"] = "undefined: no label < 10"
    if np.isnan(p.low).all() or np.isnan(p.high).all():
        reasons["interval_coverage"] = "no intervals in the predictions"
    return reasons


def auc_threshold_status(
    y: np.ndarray, min_per_class: int = DEFAULT_MIN_PER_CLASS, thresholds: tuple[int, ...] = THRESHOLDS
) -> tuple[list[int], dict[str, str]]:
    """(evaluated thresholds, {threshold: reason skipped}) for the minimum of positives and negatives."""
    ok, skipped = [], {}
    y = np.asarray(y)
    for t in thresholds:
        npos = int((y >= t).sum())
        nneg = int(len(y) - npos)
        if npos == 0 or nneg == 0:
            skipped[str(t)] = f"one class only ({npos} positives, {nneg} negatives)"
        elif npos < min_per_class or nneg < min_per_class:
            skipped[str(t)] = f"too few: {npos} positives, {nneg} negatives (minimum {min_per_class} each)"
        else:
            ok.append(t)
    return ok, skipped


# ---- simple scalar functions (thin wrappers over the same engine) -------------------------------


def _one(y: Any, pred: Any, key: str, low: Any = None, high: Any = None) -> float:
    p = prepare(y, pred, low, high)
    v = float(weighted_metrics(p, np.ones((1, len(p.y))))[key][0])
    return v


def mae(y: Any, pred: Any) -> float:
    """Mean absolute error."""
    return _one(y, pred, "mae")


def rmse(y: Any, pred: Any) -> float:
    """Root mean squared error."""
    return _one(y, pred, "rmse")


def pearson(y: Any, pred: Any) -> float:
    """Pearson r (NaN for constant input)."""
    return _one(y, pred, "pearson")


def spearman(y: Any, pred: Any) -> float:
    """Spearman rho with mid-ranks (NaN for constant input)."""
    return _one(y, pred, "spearman")


def ccc(y: Any, pred: Any) -> float:
    """Lin's concordance correlation coefficient."""
    return _one(y, pred, "ccc")


def qwk(y: Any, pred: Any, *, on: str = "totals") -> float:
    """Quadratic-weighted kappa on rounded totals (`on="totals"`) or on bands (`on="bands"`)."""
    if on not in ("totals", "bands"):
        raise ValueError("on must be 'totals' or 'bands'")
    return _one(y, pred, "qwk" if on == "totals" else "qwk_bands")


def band_accuracy(y: Any, pred: Any) -> float:
    """Share of rows whose rounded estimate falls in the label's severity band."""
    return _one(y, pred, "band_accuracy")


def sensitivity_specificity(y: Any, pred: Any) -> tuple[float, float]:
    """(sensitivity, specificity) of estimate >= 10 against label >= 10."""
    p = prepare(y, pred)
    out = weighted_metrics(p, np.ones((1, len(p.y))))
    return float(out["sensitivity_ge_10"][0]), float(out["specificity_ge_10"][0])


def interval_coverage(y: Any, low: Any, high: Any) -> float:
    """Share of rows with an interval that contains the label."""
    y_arr = np.asarray(y, dtype=float)
    return _one(y_arr, np.clip(np.nan_to_num(y_arr), 0, 27), "interval_coverage", low, high)


def auc_at(y: Any, pred: Any, threshold: int) -> float:
    """AUC of the estimate for label >= threshold (Mann-Whitney; NaN when one class is absent)."""
    if not 1 <= threshold <= phq9.MAX_TOTAL:
        raise ValueError("threshold must be 1..27")
    p = prepare(y, pred)
    auc, _, _ = RankEngine.auc_by_cut(p.engine.stats(np.ones((1, len(p.y)))))
    return float(auc[0, threshold - 1])


def binary_auc(labels: Any, score: Any) -> float:
    """AUC of a score for binary labels (0/1) via mid-ranks; NaN when one class is absent."""
    lab = np.asarray(labels).astype(np.int64).ravel()
    s = np.asarray(score, dtype=float).ravel()
    eng = RankEngine(s, lab, 2)
    auc, _, _ = RankEngine.auc_by_cut(eng.stats(np.ones((1, len(s)))))
    return float(auc[0, 0])


def finite_or_none(v: float) -> float | None:
    """A float for JSON, or None for NaN/inf."""
    return None if v is None or not math.isfinite(v) else float(v)


def phq9_metrics(
    y: Any,
    pred: Any,
    low: Any = None,
    high: Any = None,
    *,
    units: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
    min_per_class: int = DEFAULT_MIN_PER_CLASS,
    level: float = 0.95,
) -> dict[str, Any]:
    """Every PHQ-9 metric as {"value": x, "ci": [low, high]} (bootstrap over users, fixed seed).

    `units` names each row's user when users have several rows (they are resampled together).
    Keys: n, the SCALAR_METRICS, auc_by_threshold {"t": {...}}, auc_skipped {"t": reason}, and
    bookkeeping (n_dropped_nan, n_with_interval, auc_min_per_class). JSON-safe: no NaN anywhere.
    """
    from phqwatch.evaluation.bootstrap import run_bootstrap, summarize

    p = prepare(y, pred, low, high)
    unit_idx = None
    if units is not None:
        u = np.asarray(units).ravel()
        if len(u) != len(p.keep):
            raise InputError("units must have one entry per row", fix="Pass one user id per row.")
        unit_idx = np.unique(u[p.keep], return_inverse=True)[1]
    point, reps = run_bootstrap(lambda W: weighted_metrics(p, W), len(p.y), units=unit_idx, n_boot=n_boot, seed=seed)
    reasons = point_reasons(p, min_per_class)
    n = len(p.y)
    out: dict[str, Any] = {"n": {"value": n, "ci": [n, n]}}
    for name in SCALAR_METRICS:
        out[name] = summarize(point[name], reps.get(name), level=level, reason=reasons.get(name))
    ok, skipped = auc_threshold_status(p.y, min_per_class)
    aucs: dict[str, Any] = {}
    for t in ok:
        entry = summarize(point["auc"][t - 1], None if not reps else reps["auc"][:, t - 1], level=level)
        entry["n_pos"] = int(point["auc_pos"][t - 1])
        entry["n_neg"] = int(point["auc_neg"][t - 1])
        aucs[str(t)] = entry
    out["auc_by_threshold"] = aucs
    out["auc_skipped"] = skipped
    out["auc_min_per_class"] = min_per_class
    out["n_dropped_nan"] = p.dropped_nan
    out["n_with_interval"] = int((~(np.isnan(p.low) | np.isnan(p.high))).sum())
    out["n_users"] = n if unit_idx is None else int(unit_idx.max()) + 1
    return out
