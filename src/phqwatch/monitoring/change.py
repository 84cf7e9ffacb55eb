"""Reliable change, band and trend direction of smoothed estimates (and of administered PHQ-9s).

Change between two *smoothed estimates* uses phq9.estimate_change_threshold with each point's posterior SD.
The causal filter makes consecutive smoothed values positively correlated, so treating them as independent
overstates the variance of their difference: the test is conservative (it claims a change less often).
Even a reliable change of estimates is never reported as a confirmed change: it is a reason to administer a
PHQ-9. Change between two *administered* PHQ-9s uses the Jacobson-Truax index (phq9.reliable_change_index).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from phqwatch.errors import InputError
from phqwatch.monitoring.series import AdministeredPoint, SmoothedPoint
from phqwatch.phq9 import DEFAULT_SD, band, estimate_change_threshold, reliable_change_index

__all__ = [
    "EstimateChange",
    "AdministeredChange",
    "Trend",
    "estimate_change",
    "administered_change",
    "trend",
]

Direction = Literal["up", "down", "flat"]
ChangeDirection = Literal["worsening", "improvement", "none"]


@dataclass(frozen=True)
class EstimateChange:
    """Change between two smoothed estimates. ``reliable`` means |delta| >= threshold (z * SD of the diff)."""

    before: SmoothedPoint
    after: SmoothedPoint
    delta: float
    threshold: float
    reliable: bool
    direction: ChangeDirection


@dataclass(frozen=True)
class AdministeredChange:
    """Jacobson-Truax change between two administered PHQ-9s (positive RCI = worsening)."""

    before: AdministeredPoint
    after: AdministeredPoint
    delta: int
    rci: float
    reliable: bool
    direction: ChangeDirection


@dataclass(frozen=True)
class Trend:
    """What a dashboard needs for one person: the latest smoothed estimate, its band and an arrow.

    ``slope_per_week`` is the precision-weighted least-squares slope of the smoothed values over the last
    ``window_days``; ``direction`` is "up" (worsening) when the fitted change over the window is at least
    ``flat_points``, "down" when it is at most -flat_points, else "flat" (also with fewer than 2 points).
    """

    current: SmoothedPoint
    band: str
    direction: Direction
    slope_per_week: float
    change_over_window: float
    window_days: int
    n_points: int


def estimate_change(before: SmoothedPoint, after: SmoothedPoint, z: float = 1.96) -> EstimateChange:
    """Is the difference between two smoothed estimates larger than their combined uncertainty allows?"""
    threshold = estimate_change_threshold(before.sd, after.sd, z=z)
    delta = after.value - before.value
    reliable = abs(delta) >= threshold
    direction: ChangeDirection = ("worsening" if delta > 0 else "improvement") if reliable else "none"
    return EstimateChange(before, after, delta, threshold, reliable, direction)


def administered_change(
    before: AdministeredPoint, after: AdministeredPoint, sd: float = DEFAULT_SD, z: float = 1.96
) -> AdministeredChange:
    """Jacobson-Truax reliable change between two administered PHQ-9s (never estimates)."""
    for name, p in (("before", before), ("after", after)):
        if not isinstance(p, AdministeredPoint):
            raise InputError(
                f"{name} is a {type(p).__name__}; expected AdministeredPoint.",
                field=name,
                fix="Use estimate_change for smoothed estimates; never mix estimates and administered scores.",
            )
    rci = reliable_change_index(before.total, after.total, sd=sd)
    reliable = abs(rci) >= z
    direction: ChangeDirection = ("worsening" if rci > 0 else "improvement") if reliable else "none"
    return AdministeredChange(before, after, after.total - before.total, rci, reliable, direction)


def _weighted_slope_per_day(points: Sequence[SmoothedPoint]) -> float:
    t0 = points[0].when
    xs = [(p.when - t0) / timedelta(days=1) for p in points]
    ws = [1.0 / max(p.sd, 1e-6) ** 2 for p in points]
    ys = [p.value for p in points]
    sw = sum(ws)
    mx = sum(w * x for w, x in zip(ws, xs, strict=True)) / sw
    my = sum(w * y for w, y in zip(ws, ys, strict=True)) / sw
    sxx = sum(w * (x - mx) ** 2 for w, x in zip(ws, xs, strict=True))
    if sxx <= 1e-12:
        return 0.0
    return sum(w * (x - mx) * (y - my) for w, x, y in zip(ws, xs, ys, strict=True)) / sxx


def trend(smoothed: Sequence[SmoothedPoint], window_days: int = 28, flat_points: float = 1.5) -> Trend:
    """Band and up/down/flat arrow of the latest smoothed estimate (``smoothed`` sorted by time)."""
    if not smoothed:
        raise InputError(
            "no smoothed estimates to summarise.", field="smoothed", fix="Call trend() only when estimates exist."
        )
    if window_days < 1:
        raise InputError(f"window_days is {window_days}; expected >= 1.", field="window_days")
    current = smoothed[-1]
    start = current.when - timedelta(days=window_days)
    window = [p for p in smoothed if p.when >= start]
    slope = _weighted_slope_per_day(window) if len(window) >= 2 else 0.0
    span_days = (window[-1].when - window[0].when) / timedelta(days=1) if len(window) >= 2 else 0.0
    change = slope * span_days
    direction: Direction = "up" if change >= flat_points else "down" if change <= -flat_points else "flat"
    return Trend(
        current=current,
        band=band(current.value),
        direction=direction,
        slope_per_week=slope * 7.0,
        change_over_window=change,
        window_days=window_days,
        n_points=len(window),
    )
