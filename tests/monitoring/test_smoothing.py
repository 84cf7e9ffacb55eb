from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest

from phqwatch.errors import InputError
from phqwatch.monitoring.series import AdministeredPoint, EstimatePoint
from phqwatch.monitoring.smoothing import SmoothingConfig, kalman_filter, observation_sd, rts_smooth, smooth

from .conftest import T0, est


def test_observation_sd_from_80_percent_interval():
    p = est(0, 10, half_width=4.0)
    assert observation_sd(p) == pytest.approx(8.0 / (2 * 1.2816), rel=1e-3)
    assert SmoothingConfig(interval_level=0.95).z == pytest.approx(1.96, rel=1e-3)


def test_single_point_keeps_value_and_gets_interval_no_wider_than_input():
    (s,) = kalman_filter([est(0, 12)])
    assert s.value == pytest.approx(12.0)
    assert s.low < 12 < s.high
    assert s.high - s.low <= 8.0 + 1e-9


def test_narrow_interval_estimates_pull_harder_than_wide_ones():
    wide = EstimatePoint(T0, 20.0, 12.0, 27.0)
    narrow = EstimatePoint(T0 + timedelta(hours=1), 8.0, 7.0, 9.0)
    s = kalman_filter([wide, narrow])[-1]
    assert abs(s.value - 8.0) < abs(s.value - 20.0)
    # Reversed precision: the value should now stay nearer 20.
    narrow0 = EstimatePoint(T0, 20.0, 19.0, 21.0)
    wide1 = EstimatePoint(T0 + timedelta(hours=1), 8.0, 1.0, 16.0)
    s2 = kalman_filter([narrow0, wide1])[-1]
    assert abs(s2.value - 20.0) < abs(s2.value - 8.0)


def test_long_gap_forgets_more_than_short_gap():
    short = kalman_filter([est(0, 5), est(1, 15)])[-1]
    long = kalman_filter([est(0, 5), est(60, 15)])[-1]
    assert long.value > short.value  # after a long gap the new estimate dominates
    assert long.sd > short.sd


def test_same_instant_pools_by_precision():
    a = EstimatePoint(T0, 10.0, 6.0, 14.0)
    b = EstimatePoint(T0, 14.0, 10.0, 18.0)
    s = kalman_filter([a, b])[-1]
    assert s.value == pytest.approx(12.0, abs=0.05)  # equal widths -> near the mean (prior is weak)
    assert s.sd < observation_sd(a)


def test_smoothing_reduces_noise_on_a_constant_truth():
    rng = random.Random(7)
    pts = [est(d, min(27, max(0, 12 + rng.gauss(0, 3.1))), 4.0) for d in range(0, 90, 3)]
    pts = [EstimatePoint(p.when, p.value, max(0, p.value - 4), min(27, p.value + 4)) for p in pts]
    sm = kalman_filter(pts)
    raw_err = math.sqrt(sum((p.value - 12) ** 2 for p in pts[5:]) / len(pts[5:]))
    sm_err = math.sqrt(sum((s.value - 12) ** 2 for s in sm[5:]) / len(sm[5:]))
    assert sm_err < 0.7 * raw_err
    two = rts_smooth(pts)
    two_err = math.sqrt(sum((s.value - 12) ** 2 for s in two[5:]) / len(two[5:]))
    assert two_err <= sm_err + 0.2
    assert all(a.sd <= b.sd + 1e-9 for a, b in zip(two, sm, strict=True))  # two-sided is never less sure


def test_causal_filter_ignores_future_points():
    pts = [est(0, 8), est(7, 9), est(14, 10)]
    a = kalman_filter(pts)
    b = kalman_filter([*pts, est(21, 27)])
    assert [p.value for p in a] == pytest.approx([p.value for p in b[:3]])
    assert smooth(pts, causal=False)[0].value != a[0].value


def test_output_sorted_and_clipped():
    pts = [est(5, 26, 1.0), est(0, 1, 1.0)]
    sm = kalman_filter(pts)
    assert [s.when for s in sm] == sorted(s.when for s in sm)
    assert all(0 <= s.low <= s.value <= s.high <= 27 for s in sm)


def test_rejects_administered_points_and_bad_values():
    with pytest.raises(InputError, match="never mix"):
        kalman_filter([est(0, 5), AdministeredPoint(T0, 7)])  # type: ignore[list-item]
    with pytest.raises(InputError, match="0 to 27"):
        EstimatePoint(T0, 30.0, 25.0, 31.0)
    with pytest.raises(InputError, match="does not contain"):
        EstimatePoint(T0, 5.0, 6.0, 9.0)
    with pytest.raises(InputError):
        SmoothingConfig(interval_level=1.5)
    assert kalman_filter([]) == []
