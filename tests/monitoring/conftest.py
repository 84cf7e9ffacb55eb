from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from phqwatch.monitoring.series import EstimatePoint

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def est(day: float, value: float, half_width: float = 4.0, ref: str | None = None) -> EstimatePoint:
    lo, hi = max(0.0, value - half_width), min(27.0, value + half_width)
    return EstimatePoint(T0 + timedelta(days=day), value, lo, hi, ref=ref or f"e{day:g}")


@pytest.fixture
def make_est():
    return est
