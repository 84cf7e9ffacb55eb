"""Per-source heads on the PHQ-9 scale, as the CPU default does it (pure numpy; no torch).

Public proxy sets label different things (DepSeverity's four bands, LT-EDI's three grades, Reddit DR's
subreddit of origin). Mixing their codes as one target would say "LT-EDI moderate (1) = DepSeverity mild
(1)". So with `sources`, each source gets its own output: its codes standardised within the source, the
loss taken only on a row's own source. The PHQ-9 output then follows `models.cpu`: every head's score is
standardised over the pooled training posts, the standardised scores are averaged (equal weights), and the
average is mapped onto 0-27 through the *anchor* source (DepSeverity when present, else the source with
the most classes): its latent quantiles at its cumulative class shares are placed at the band edges of its
weak PHQ-9 ranges, extended to 0 and 27.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from phqwatch.errors import InputError
from phqwatch.models.ordinal import check_source_codes

DEFAULT_ANCHOR = "depseverity"


def source_edges(name: str, n_classes: int) -> tuple[float, ...]:
    """Weak PHQ-9 band edges between a source's classes (known sets; else evenly spaced on 0-27)."""
    from phqwatch.models.cpu import SOURCE_EDGES

    edges = SOURCE_EDGES.get(name)
    if edges is None or len(edges) != n_classes - 1:
        edges = tuple(float(v) for v in np.linspace(0.0, 27.0, n_classes + 1)[1:-1])
    return tuple(edges)


def source_targets(y: np.ndarray, sources: Sequence[str]) -> tuple[list[str], np.ndarray, dict[str, dict[str, float]]]:
    """(source names in first-seen order, (n, S) standardised targets with NaN off each row's source, stats)."""
    src = np.asarray(list(sources))
    if len(src) != len(y):
        raise InputError(f"sources has {len(src)} entries for {len(y)} labels", fix="Align sources with X.")
    names = list(dict.fromkeys(src.tolist()))
    z = np.full((len(y), len(names)), np.nan)
    stats: dict[str, dict[str, float]] = {}
    for j, name in enumerate(names):
        idx = np.flatnonzero(src == name)
        yl = y[idx]
        check_source_codes(yl, name)
        mu, sd = float(yl.mean()), float(yl.std()) or 1.0
        z[idx, j] = (yl - mu) / sd
        stats[name] = {"mean": mu, "std": sd, "n_classes": int(yl.max()) + 1, "n": len(idx)}
    return names, z, stats


def anchor_name(stats: dict[str, dict[str, float]], preferred: str = DEFAULT_ANCHOR) -> str:
    if preferred in stats:
        return preferred
    return max(stats, key=lambda s: (stats[s]["n_classes"], stats[s]["n"]))


def phq9_knots(latent: np.ndarray, labels: np.ndarray, edges: Sequence[float]) -> dict[str, list[float]]:
    """Knots mapping a latent score to 0-27: the latent quantiles at the cumulative class shares go to
    `edges`; 0 and 27 sit at the nearest segment's slope extended, or at the 0.5% / 99.5% quantiles."""
    latent = np.asarray(latent, dtype=float)
    labels = np.asarray(labels, dtype=int)
    k = len(edges)
    shares = np.array([(labels <= c).mean() for c in range(k)])
    cuts = np.quantile(latent, shares)
    spread = float(latent.std()) + 1e-9
    for i in range(1, k):  # strictly increasing knots
        cuts[i] = max(cuts[i], cuts[i - 1] + 1e-3 * spread)
    if k == 1:
        lo_slope = hi_slope = 4.5 / spread
    else:
        seg = np.diff(edges) / np.maximum(np.diff(cuts), 1e-6)
        lo_slope, hi_slope = float(seg[0]), float(seg[-1])
    x0 = min(cuts[0] - edges[0] / lo_slope, float(np.quantile(latent, 0.005)), cuts[0] - 1e-3 * spread)
    x1 = max(cuts[-1] + (27.0 - edges[-1]) / hi_slope, float(np.quantile(latent, 0.995)), cuts[-1] + 1e-3 * spread)
    return {"knots_latent": [float(x0), *map(float, cuts), float(x1)], "knots_phq9": [0.0, *map(float, edges), 27.0]}


def fit_source_scale(
    raw: np.ndarray, y: np.ndarray, sources: Sequence[str], names: list[str], stats: dict[str, Any]
) -> tuple[dict[str, Any], str, dict[str, list[float]]]:
    """(ensemble spec, anchor, PHQ-9 knots) from the heads' scores `raw` (n, S) on the training posts."""
    mu, sd = raw.mean(axis=0), raw.std(axis=0) + 1e-9
    w = np.full(len(names), 1.0 / len(names))
    latent = ((raw - mu) / sd) @ w
    anchor = anchor_name(stats)
    rows = np.flatnonzero(np.asarray(list(sources)) == anchor)
    n_classes = int(stats[anchor]["n_classes"])
    knots = phq9_knots(latent[rows], y[rows].astype(int), source_edges(anchor, n_classes))
    ensemble = {"heads": list(names), "mean": mu.tolist(), "std": sd.tolist(), "weights": w.tolist()}
    return ensemble, anchor, knots


def ensemble_latent(raw: np.ndarray, ensemble: dict[str, Any]) -> np.ndarray:
    """The weighted mean of the standardised head scores (before the PHQ-9 map)."""
    mu, sd, w = (np.asarray(ensemble[k], dtype=float) for k in ("mean", "std", "weights"))
    return ((np.asarray(raw, dtype=float) - mu) / sd) @ w


def to_phq9(latent: np.ndarray, knots: dict[str, list[float]]) -> np.ndarray:
    return np.interp(latent, knots["knots_latent"], knots["knots_phq9"])
