"""Percentile bootstrap that resamples users, with a fixed seed.

Replicates are drawn as per-user counts (how often each user appears in the resample), so every
metric is a weighted statistic and all replicates are computed together with matrix products. When a
user has several rows (one per questionnaire date), the user is resampled with all their rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

DEFAULT_N_BOOT = 1000
DEFAULT_LEVEL = 0.95
_CHUNK = 200


def bootstrap_counts(n_units: int, n_boot: int, seed: int = 0, chunk: int = _CHUNK) -> Iterator[np.ndarray]:
    """Yield (b, n_units) float arrays of resampling counts, `n_boot` rows in all (same seed, same draws)."""
    if n_units < 1:
        raise ValueError("need at least one unit to resample")
    rng = np.random.default_rng(seed)
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        idx = rng.integers(0, n_units, size=(b, n_units))
        idx += (np.arange(b) * n_units)[:, None]
        counts = np.bincount(idx.ravel(), minlength=b * n_units).reshape(b, n_units)
        yield counts.astype(float)
        done += b


def run_bootstrap(
    stat_fn: Callable[[np.ndarray], dict[str, np.ndarray]],
    n_rows: int,
    *,
    units: np.ndarray | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(point, replicates): `stat_fn` on unit weights and on `n_boot` resamples of the units.

    `stat_fn(W)` takes row weights (B, n_rows) and returns arrays with B as the first axis.
    `units[i]` is the resampling unit (user) of row i, 0..U-1; by default each row is its own unit.
    """
    point = stat_fn(np.ones((1, n_rows)))
    point = {k: v[0] for k, v in point.items()}
    if n_boot <= 0:
        return point, {}
    if units is None:
        n_units, gather = n_rows, None
    else:
        units = np.asarray(units, dtype=np.int64)
        n_units, gather = int(units.max()) + 1, units
    parts: dict[str, list[np.ndarray]] = {}
    for counts in bootstrap_counts(n_units, n_boot, seed):
        W = counts if gather is None else counts[:, gather]
        for k, v in stat_fn(W).items():
            parts.setdefault(k, []).append(v)
    return point, {k: np.concatenate(v, axis=0) for k, v in parts.items()}


def percentile_ci(samples: np.ndarray, level: float = DEFAULT_LEVEL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(low, high, n_valid) percentile bounds along axis 0, ignoring undefined (NaN) replicates."""
    s = np.asarray(samples, dtype=float)
    valid = np.isfinite(s)
    n_valid = valid.sum(axis=0)
    alpha = (1.0 - level) / 2.0
    lo = np.full(s.shape[1:], np.nan)
    hi = np.full(s.shape[1:], np.nan)
    if s.size and n_valid.max(initial=0) > 0:
        filled = np.where(valid, s, np.nan)
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                q = np.nanpercentile(filled, [100 * alpha, 100 * (1 - alpha)], axis=0)
        lo, hi = q[0], q[1]
    return lo, hi, n_valid


def _f(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def summarize(
    value: float | np.ndarray,
    samples: np.ndarray | None,
    *,
    level: float = DEFAULT_LEVEL,
    reason: str | None = None,
    digits: int | None = None,
) -> dict[str, Any]:
    """{"value": x, "ci": [low, high]} with None (never NaN) and a `reason` when undefined (`value`: a
    number or a 0-d array, as `run_bootstrap` returns).

    Full precision by default (metrics.json keeps it; displays round); `digits` rounds when given.
    """
    v = _f(value)

    def rnd(x: float) -> float:
        return x if digits is None else round(x, digits)

    out: dict[str, Any] = {"value": None if v is None else rnd(v), "ci": [None, None]}
    if samples is not None and len(samples):
        lo, hi, n_valid = percentile_ci(np.asarray(samples, dtype=float)[:, None], level)
        lo_f, hi_f = _f(lo[0]), _f(hi[0])
        if v is not None and lo_f is not None and hi_f is not None:
            out["ci"] = [rnd(lo_f), rnd(hi_f)]
        nv = int(n_valid[0])
        if v is not None and nv < len(samples):
            out["ci_note"] = f"{len(samples) - nv} of {len(samples)} resamples undefined; CI from the rest"
    if v is None:
        out["reason"] = reason or "undefined for these data"
    return out
