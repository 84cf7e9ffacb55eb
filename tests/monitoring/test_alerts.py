from __future__ import annotations

import random
from datetime import timedelta

import pytest

from phqwatch.errors import InputError
from phqwatch.monitoring.alerts import ALERT_KINDS, AlertConfig, band_states, evaluate_alerts
from phqwatch.monitoring.series import AdministeredPoint
from phqwatch.monitoring.smoothing import kalman_filter

from .conftest import T0, est

FORBIDDEN = ("diagnos", "has depression", "is depressed", "confirmed", "confirms")


def _check_wording(alerts):
    for a in alerts:
        low = a.message.lower()
        assert "estimate" in low
        assert "consider administering a phq-9" in low
        assert not any(f in low for f in FORBIDDEN), a.message


def test_rising_series_crosses_band_once_and_reports_evidence():
    pts = [est(d, v) for d, v in [(0, 6), (7, 7), (14, 9), (21, 12), (28, 13), (35, 13), (42, 13)]]
    alerts = evaluate_alerts(pts, since=T0, config=AlertConfig(enabled=frozenset({"band_crossing_up"})))
    assert [a.kind for a in alerts] == ["band_crossing_up"]
    a = alerts[0]
    assert a.details["from_band"] == "mild" and a.details["to_band"] == "moderate"
    assert a.evidence and a.evidence[-1] == a.key.split(":", 1)[1]
    _check_wording(alerts)


def test_noise_around_a_band_line_does_not_flap():
    rng = random.Random(3)
    pts = [est(d, min(27, max(0, 9.5 + rng.uniform(-2.5, 2.5)))) for d in range(0, 180, 2)]
    sm = kalman_filter(pts)
    states = band_states(sm, hysteresis=1.0)
    changes = sum(1 for a, b in zip(states, states[1:], strict=False) if a != b)
    no_h = band_states(sm, hysteresis=0.0)
    changes_no_h = sum(1 for a, b in zip(no_h, no_h[1:], strict=False) if a != b)
    assert changes <= 2
    assert changes_no_h > changes
    ups = evaluate_alerts(pts, since=T0, config=AlertConfig(enabled=frozenset({"band_crossing_up"})))
    assert len(ups) <= 1


def test_sustained_worsening_fires_on_a_real_rise_not_on_a_flat_series():
    rising = [est(d, 4 + d * 0.4) for d in range(0, 29, 4)]
    cfg = AlertConfig(enabled=frozenset({"sustained_worsening"}))
    alerts = evaluate_alerts(rising, config=cfg)
    assert len(alerts) == 1 and alerts[0].kind == "sustained_worsening"
    assert alerts[0].details["rise"] >= 3 and len(alerts[0].evidence) >= 3
    _check_wording(alerts)
    flat = [est(d, 12 + (0.8 if d % 8 else -0.8)) for d in range(0, 29, 4)]
    assert evaluate_alerts(flat, since=T0, config=cfg) == []
    # Too few points in the window: no alert even with a rise.
    assert evaluate_alerts([est(0, 3), est(20, 20)], config=cfg) == []


def test_administer_phq9_when_high_and_none_recent():
    pts = [est(d, 14) for d in range(0, 30, 5)]
    now = pts[-1].when
    alerts = evaluate_alerts(pts, [AdministeredPoint(T0 - timedelta(days=90), 8, ref="q1")], now=now)
    adm = [a for a in alerts if a.kind == "administer_phq9"]
    assert len(adm) == 1 and "q1" in adm[0].evidence
    assert adm[0].details["last_administered"] is not None
    _check_wording(adm)
    recent = [AdministeredPoint(now - timedelta(days=10), 15, ref="q2")]
    assert not [a for a in evaluate_alerts(pts, recent, now=now) if a.kind == "administer_phq9"]
    low = [est(d, 6) for d in range(0, 30, 5)]
    assert not [a for a in evaluate_alerts(low, now=now) if a.kind == "administer_phq9"]


def test_since_defaults_to_latest_point_and_keys_are_stable():
    pts = [est(d, v) for d, v in [(0, 6), (7, 7), (14, 13), (21, 14), (28, 14), (35, 14), (42, 14)]]
    cfg = AlertConfig(enabled=frozenset({"band_crossing_up"}))
    all_alerts = evaluate_alerts(pts, since=T0, config=cfg)
    latest_only = evaluate_alerts(pts, config=cfg)
    assert len(all_alerts) == 1 and all_alerts[0].when < pts[-1].when
    assert latest_only == []
    at_crossing = [p for p in pts if p.when <= all_alerts[0].when]
    assert [a.key for a in evaluate_alerts(at_crossing, config=cfg)] == [all_alerts[0].key]
    again = evaluate_alerts(pts, since=T0, config=cfg)
    assert [a.key for a in again] == [a.key for a in all_alerts]


def test_config_validation_and_empty_input():
    with pytest.raises(InputError, match="unknown alert kinds"):
        AlertConfig(enabled=frozenset({"nope"}))
    with pytest.raises(InputError):
        AlertConfig(band_hysteresis=3.0)
    assert evaluate_alerts([]) == []
    assert set(ALERT_KINDS) == set(AlertConfig().enabled)
    with pytest.raises(InputError, match="never mix"):
        evaluate_alerts([AdministeredPoint(T0, 12)])  # type: ignore[list-item]
