from __future__ import annotations

from datetime import timedelta

import pytest

from phqwatch.errors import InputError
from phqwatch.monitoring.change import administered_change, estimate_change, trend
from phqwatch.monitoring.series import AdministeredPoint
from phqwatch.monitoring.smoothing import kalman_filter
from phqwatch.phq9 import band, estimate_change_threshold

from .conftest import T0, est


def test_estimate_change_uses_both_sds():
    sm = kalman_filter([est(0, 6), est(10, 6), est(20, 6), est(40, 20), est(45, 20), est(50, 20)])
    ch = estimate_change(sm[0], sm[-1])
    assert ch.threshold == pytest.approx(estimate_change_threshold(sm[0].sd, sm[-1].sd))
    assert ch.delta > 0
    assert ch.reliable and ch.direction == "worsening"
    flat = estimate_change(sm[0], sm[1])
    assert not flat.reliable and flat.direction == "none"


def test_administered_change_is_jacobson_truax_and_refuses_estimates():
    ch = administered_change(AdministeredPoint(T0, 6), AdministeredPoint(T0 + timedelta(days=30), 14))
    assert ch.reliable and ch.direction == "worsening" and ch.delta == 8
    small = administered_change(AdministeredPoint(T0, 10), AdministeredPoint(T0 + timedelta(days=30), 13))
    assert not small.reliable
    with pytest.raises(InputError, match="never mix"):
        administered_change(est(0, 5), AdministeredPoint(T0, 7))  # type: ignore[arg-type]


def test_trend_direction_and_band():
    up = trend(kalman_filter([est(d, 5 + d / 2) for d in range(0, 29, 4)]))
    assert up.direction == "up" and up.slope_per_week > 0 and up.n_points == 8
    assert 10 < up.current.value < 19 and up.band == band(up.current.value)
    down = trend(kalman_filter([est(d, 20 - d / 2) for d in range(0, 29, 4)]))
    assert down.direction == "down" and down.slope_per_week < 0
    flat = trend(kalman_filter([est(d, 12 + (1 if d % 8 else -1) * 0.5) for d in range(0, 29, 4)]))
    assert flat.direction == "flat" and flat.band == "moderate"
    single = trend(kalman_filter([est(0, 3)]))
    assert single.direction == "flat" and single.band == "minimal" and single.n_points == 1
    # Points older than the window do not count.
    old = trend(kalman_filter([est(0, 2), est(100, 12), est(110, 12)]), window_days=28)
    assert old.n_points == 2
    with pytest.raises(InputError):
        trend([])
