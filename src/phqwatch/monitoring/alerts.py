"""Alert rules over a person's estimates: they *propose* alerts; the service stores and routes them.

Rules (each can be disabled in AlertConfig.enabled):
- ``band_crossing_up``: the causally smoothed estimate moved into a higher band. Hysteresis: to move up from
  band k the smoothed value must reach the band line above k plus ``band_hysteresis`` (e.g. 9.5 + 1 = 10.5
  to enter "moderate"); to move down it must fall below the line minus the hysteresis. Noise around a
  line therefore cannot make the alert flap.
- ``sustained_worsening``: over the last ``worsening_window_days`` (at least ``worsening_min_points``
  estimates spanning ``worsening_min_span_days``), the smoothed estimate rose by at least
  ``worsening_min_rise`` points *and* by more than the one-sided reliable-change threshold of the two
  smoothed points (phq9.estimate_change_threshold, z = ``worsening_z``).
- ``administer_phq9``: the latest smoothed estimate is >= ``high_estimate_threshold`` (10) and no PHQ-9 was
  administered in the last ``administer_lookback_days`` (30) before ``now``.

Wording never claims a diagnosis or a confirmed change: estimates are called estimates, and every message
asks the clinician to consider administering a PHQ-9. Rules use the causal filter, so an alert at time t
depends only on estimates up to t. Each proposal has a stable ``key`` (kind + triggering estimate) that the
service can use to open each alert once; the service should also not open a second alert of a kind while
one of that kind is still open for the person.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from phqwatch.errors import InputError
from phqwatch.monitoring.change import estimate_change
from phqwatch.monitoring.series import (
    AdministeredPoint,
    EstimatePoint,
    SmoothedPoint,
    sorted_administered,
    sorted_estimates,
)
from phqwatch.monitoring.smoothing import SmoothingConfig, kalman_filter
from phqwatch.phq9 import BAND_LINES, BAND_NAMES, band_index

__all__ = [
    "ALERT_KINDS",
    "AlertConfig",
    "AlertProposal",
    "band_states",
    "band_crossing_alerts",
    "sustained_worsening_alerts",
    "administer_phq9_alert",
    "evaluate_alerts",
]

AlertKind = Literal["band_crossing_up", "sustained_worsening", "administer_phq9"]
ALERT_KINDS: tuple[str, ...] = ("band_crossing_up", "sustained_worsening", "administer_phq9")
Severity = Literal["info", "warning", "high", "urgent"]
ADVICE = "consider administering a PHQ-9"


@dataclass(frozen=True)
class AlertConfig:
    """Thresholds of the alert rules (see the module docstring)."""

    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    band_hysteresis: float = 1.0
    worsening_window_days: int = 28
    worsening_min_points: int = 3
    worsening_min_span_days: int = 14
    worsening_min_rise: float = 3.0
    worsening_z: float = 1.645
    high_estimate_threshold: float = 10.0
    administer_lookback_days: int = 30
    enabled: frozenset[str] = frozenset(ALERT_KINDS)

    def __post_init__(self) -> None:
        unknown = set(self.enabled) - set(ALERT_KINDS)
        if unknown:
            raise InputError(
                f"unknown alert kinds {sorted(unknown)}; expected some of {list(ALERT_KINDS)}.", field="enabled"
            )
        if self.band_hysteresis < 0 or self.band_hysteresis >= 2.5:
            raise InputError(
                f"band_hysteresis is {self.band_hysteresis}; expected 0 <= h < 2.5 (half a band).",
                field="band_hysteresis",
            )
        if self.worsening_min_points < 2 or self.worsening_window_days < 1:
            raise InputError("worsening_min_points must be >= 2 and worsening_window_days >= 1.", field="worsening_*")


@dataclass(frozen=True)
class AlertProposal:
    """An alert the service may open. ``evidence`` holds refs of the estimates (and administered PHQ-9s)
    it rests on; ``details`` holds the numbers behind the message (JSON-serialisable)."""

    kind: AlertKind
    severity: Severity
    message: str
    evidence: tuple[str, ...]
    when: datetime
    key: str
    details: dict[str, Any] = field(default_factory=dict)


def _refs(points: Iterable[SmoothedPoint | AdministeredPoint]) -> tuple[str, ...]:
    return tuple(p.ref for p in points if p.ref is not None)


def _key(kind: str, p: SmoothedPoint) -> str:
    return f"{kind}:{p.ref if p.ref is not None else p.when.isoformat()}"


def _fmt_interval(p: SmoothedPoint) -> str:
    return f"~{p.value:.0f} (80% interval {p.low:.0f}-{p.high:.0f})"


def band_states(smoothed: Sequence[SmoothedPoint], hysteresis: float = 1.0) -> list[int]:
    """Band index (0 minimal .. 4 severe) after each smoothed point, with hysteresis around band lines."""
    states: list[int] = []
    state = -1
    for p in smoothed:
        if state < 0:
            state = band_index(p.value)
        else:
            while state < len(BAND_LINES) and p.value >= BAND_LINES[state] + hysteresis:
                state += 1
            while state > 0 and p.value < BAND_LINES[state - 1] - hysteresis:
                state -= 1
        states.append(state)
    return states


def _window(smoothed: Sequence[SmoothedPoint], i: int, days: int) -> list[SmoothedPoint]:
    start = smoothed[i].when - timedelta(days=days)
    return [p for p in smoothed[: i + 1] if p.when >= start]


def band_crossing_alerts(
    smoothed: Sequence[SmoothedPoint], config: AlertConfig | None = None, since: datetime | None = None
) -> list[AlertProposal]:
    """Upward band crossings of the smoothed estimate at points at or after ``since`` (None: all)."""
    cfg = config or AlertConfig()
    states = band_states(smoothed, cfg.band_hysteresis)
    out: list[AlertProposal] = []
    for i in range(1, len(smoothed)):
        p = smoothed[i]
        if states[i] <= states[i - 1] or (since is not None and p.when < since):
            continue
        new, old = BAND_NAMES[states[i]], BAND_NAMES[states[i - 1]]
        severity: Severity = "high" if states[i] >= 3 else "warning"
        msg = (
            f"Smoothed PHQ-9 estimate moved from the {old} into the {new} range: {_fmt_interval(p)}. "
            f"This is an estimate from conversation text, not an administered score; {ADVICE}."
        )
        out.append(
            AlertProposal(
                kind="band_crossing_up",
                severity=severity,
                message=msg,
                evidence=_refs(_window(smoothed, i, cfg.worsening_window_days)),
                when=p.when,
                key=_key("band_crossing_up", p),
                details={
                    "from_band": old,
                    "to_band": new,
                    "smoothed": round(p.value, 2),
                    "low": round(p.low, 2),
                    "high": round(p.high, 2),
                    "hysteresis": cfg.band_hysteresis,
                },
            )
        )
    return out


def sustained_worsening_alerts(
    smoothed: Sequence[SmoothedPoint], config: AlertConfig | None = None, since: datetime | None = None
) -> list[AlertProposal]:
    """Sustained rise of the smoothed estimate over the window ending at each point at/after ``since``."""
    cfg = config or AlertConfig()
    out: list[AlertProposal] = []
    for i in range(len(smoothed)):
        p = smoothed[i]
        if since is not None and p.when < since:
            continue
        win = _window(smoothed, i, cfg.worsening_window_days)
        if len(win) < cfg.worsening_min_points:
            continue
        span = (win[-1].when - win[0].when) / timedelta(days=1)
        if span < cfg.worsening_min_span_days:
            continue
        ch = estimate_change(win[0], win[-1], z=cfg.worsening_z)
        if ch.delta < max(cfg.worsening_min_rise, ch.threshold):
            continue
        msg = (
            f"Smoothed PHQ-9 estimates rose by ~{ch.delta:.1f} points over {span:.0f} days "
            f"({len(win)} estimates, from ~{win[0].value:.0f} to ~{p.value:.0f}). Estimates from conversation "
            f"text cannot confirm a change; {ADVICE}."
        )
        out.append(
            AlertProposal(
                kind="sustained_worsening",
                severity="warning",
                message=msg,
                evidence=_refs(win),
                when=p.when,
                key=_key("sustained_worsening", p),
                details={
                    "rise": round(ch.delta, 2),
                    "threshold": round(ch.threshold, 2),
                    "days": round(span, 1),
                    "n_estimates": len(win),
                },
            )
        )
    return out


def administer_phq9_alert(
    smoothed: Sequence[SmoothedPoint],
    administered: Sequence[AdministeredPoint],
    now: datetime,
    config: AlertConfig | None = None,
) -> AlertProposal | None:
    """Propose administering a PHQ-9 when the latest smoothed estimate is high and none was given lately."""
    cfg = config or AlertConfig()
    if not smoothed:
        return None
    latest = smoothed[-1]
    if latest.value < cfg.high_estimate_threshold:
        return None
    since = now - timedelta(days=cfg.administer_lookback_days)
    recent = [a for a in administered if since <= a.when <= now]
    if recent:
        return None
    before = [a for a in administered if a.when < since]
    last_admin = before[-1] if before else None
    when_txt = f"the last one was on {last_admin.when.date().isoformat()}" if last_admin else "none on record"
    msg = (
        f"Smoothed PHQ-9 estimate is {_fmt_interval(latest)}, in the {BAND_NAMES[band_index(latest.value)]} "
        f"range (estimated from conversation text), and no PHQ-9 was administered in the last "
        f"{cfg.administer_lookback_days} days ({when_txt}); {ADVICE}."
    )
    evidence = _refs(_window(smoothed, len(smoothed) - 1, cfg.worsening_window_days))
    if last_admin is not None:
        evidence += _refs([last_admin])
    return AlertProposal(
        kind="administer_phq9",
        severity="warning",
        message=msg,
        evidence=evidence,
        when=latest.when,
        key=_key("administer_phq9", latest),
        details={
            "smoothed": round(latest.value, 2),
            "threshold": cfg.high_estimate_threshold,
            "lookback_days": cfg.administer_lookback_days,
            "last_administered": last_admin.when.isoformat() if last_admin else None,
        },
    )


def evaluate_alerts(
    estimates: Iterable[EstimatePoint],
    administered: Iterable[AdministeredPoint] = (),
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    config: AlertConfig | None = None,
) -> list[AlertProposal]:
    """Run every enabled rule on one person's estimates and administered PHQ-9s.

    ``since``: only propose band/worsening alerts triggered by estimates at or after this time; None means
    the latest estimate only (what the service wants after each new estimate). ``now`` (default: the latest
    estimate's time) is the reference time of the administer-a-PHQ-9 rule. Returns proposals sorted by time.
    """
    cfg = config or AlertConfig()
    est = sorted_estimates(estimates)
    adm = sorted_administered(administered)
    if not est:
        return []
    smoothed = kalman_filter(est, cfg.smoothing)
    cutoff = since if since is not None else smoothed[-1].when
    ref_now = now if now is not None else smoothed[-1].when
    out: list[AlertProposal] = []
    if "band_crossing_up" in cfg.enabled:
        out += band_crossing_alerts(smoothed, cfg, since=cutoff)
    if "sustained_worsening" in cfg.enabled:
        out += sustained_worsening_alerts(smoothed, cfg, since=cutoff)
    if "administer_phq9" in cfg.enabled:
        a = administer_phq9_alert(smoothed, adm, ref_now, cfg)
        if a is not None:
            out.append(a)
    return sorted(out, key=lambda a: (a.when, ALERT_KINDS.index(a.kind)))
