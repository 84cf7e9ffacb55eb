"""Plain data types for monitoring.

Estimated and administered PHQ-9 scores are different types on purpose: an estimate is a model's guess
from conversation text with an interval; an administered score is what the person answered. Functions that
smooth or alert on estimates refuse administered points (and vice versa), so the two never end up in one
series.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from phqwatch.errors import InputError
from phqwatch.phq9 import MAX_TOTAL, MIN_TOTAL

__all__ = ["EstimatePoint", "AdministeredPoint", "SmoothedPoint", "sorted_estimates", "sorted_administered"]


@dataclass(frozen=True)
class EstimatePoint:
    """One PHQ-9 *estimate* with its interval (by default an ~80% interval, see SmoothingConfig).

    ``ref`` is an opaque reference to the stored estimate (its id), carried into alert evidence.
    """

    when: datetime
    value: float
    low: float
    high: float
    ref: str | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        for name in ("value", "low", "high"):
            v = getattr(self, name)
            if v is None or v != v or not MIN_TOTAL <= v <= MAX_TOTAL:
                raise InputError(
                    f"estimate {name} is {v!r}; expected a number from 0 to 27.",
                    field=name,
                    fix="Pass the estimate and its interval bounds on the PHQ-9 scale (0-27).",
                )
        if not self.low <= self.value <= self.high:
            raise InputError(
                f"estimate interval [{self.low}, {self.high}] does not contain the value {self.value}.",
                field="low/high",
                fix="Pass low <= value <= high.",
            )


@dataclass(frozen=True)
class AdministeredPoint:
    """One *administered* PHQ-9 (what the person answered), total 0-27."""

    when: datetime
    total: int
    ref: str | None = None

    def __post_init__(self) -> None:
        t = self.total
        if isinstance(t, bool) or not isinstance(t, int) or not MIN_TOTAL <= t <= MAX_TOTAL:
            raise InputError(
                f"administered PHQ-9 total is {t!r}; expected an integer from 0 to 27.",
                field="total",
                fix="Pass the sum of the nine item scores.",
            )


@dataclass(frozen=True)
class SmoothedPoint:
    """The smoothed estimate at the time of one input estimate, with its own interval.

    ``sd`` is the posterior standard deviation; ``low``/``high`` is the interval at the configured level.
    ``source`` is the raw estimate this point was computed at. Still an *estimate*, never a score.
    """

    when: datetime
    value: float
    low: float
    high: float
    sd: float
    source: EstimatePoint

    @property
    def ref(self) -> str | None:
        return self.source.ref


def _check_type(points: Iterable[object], kind: type, what: str) -> list:
    out = list(points)
    for i, p in enumerate(out):
        if not isinstance(p, kind):
            raise InputError(
                f"{what}[{i}] is a {type(p).__name__}; expected {kind.__name__}.",
                field=what,
                fix="Keep estimated and administered PHQ-9 scores in separate lists; never mix them.",
            )
    return out


def _check_times(points: list, what: str) -> None:
    aware = {p.when.tzinfo is not None and p.when.utcoffset() is not None for p in points}
    if len(aware) > 1:
        raise InputError(
            f"{what} mixes timezone-aware and naive datetimes.",
            field="when",
            fix="Use timezone-aware UTC datetimes everywhere.",
        )


def sorted_estimates(points: Iterable[EstimatePoint]) -> list[EstimatePoint]:
    """Validate that every point is an EstimatePoint and return them sorted by time (stable)."""
    out = _check_type(points, EstimatePoint, "estimates")
    _check_times(out, "estimates")
    return sorted(out, key=lambda p: p.when)


def sorted_administered(points: Iterable[AdministeredPoint]) -> list[AdministeredPoint]:
    """Validate that every point is an AdministeredPoint and return them sorted by time (stable)."""
    out = _check_type(points, AdministeredPoint, "administered")
    _check_times(out, "administered")
    return sorted(out, key=lambda p: p.when)
