"""A stored estimate becomes a monitoring point in one place (`services.estimate_point`)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from phqwatch.server.services.estimation import FALLBACK_HALF_WIDTH, estimate_point

WHEN = datetime(2026, 3, 1, tzinfo=UTC)


def row(value: float | None, low: float | None = None, high: float | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        id=7, value=value, interval_low=low, interval_high=high, window_end=WHEN, model_name="m", model_version="1"
    )


def test_abstained_estimates_are_no_point() -> None:
    assert estimate_point(row(None)) is None  # type: ignore[arg-type]


def test_a_missing_interval_falls_back_and_always_contains_the_value() -> None:
    p = estimate_point(row(1.0))  # type: ignore[arg-type]
    assert p is not None and (p.low, p.high) == (0.0, 1.0 + FALLBACK_HALF_WIDTH)
    assert p.ref == "7" and p.model == "m@1" and p.when == WHEN
    p = estimate_point(row(12.0, low=13.0, high=11.0))  # type: ignore[arg-type]
    assert p is not None and (p.low, p.high) == (12.0, 12.0)


def test_an_export_makes_up_no_interval() -> None:
    p = estimate_point(row(10.0, high=14.0), ref="estimate-7", fallback_half_width=0.0)  # type: ignore[arg-type]
    assert p is not None and (p.low, p.value, p.high, p.ref) == (10.0, 10.0, 14.0, "estimate-7")
