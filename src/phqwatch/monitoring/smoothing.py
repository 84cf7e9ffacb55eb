"""Smoothing a user's PHQ-9 estimates over time with a local-level Kalman filter.

Why this model: a single estimate is noisy (error ~4 points) and its noise differs from one estimate to the
next (short windows give wide intervals). The local-level model treats the person's true severity as a
random walk and each estimate as a noisy reading of it:

    state:        x_t = x_{t-1} + w_t,   w_t ~ N(0, q * dt_days)      (q = process_sd_per_day ** 2)
    observation:  y_t = x_t + v_t,       v_t ~ N(0, r_t),  r_t = ((high - low) / (2 * z_level)) ** 2

so every estimate is weighted by the inverse of its own variance (derived from its interval: for an 80%
interval z_level = 1.2816), and irregular gaps are handled exactly: a longer gap adds more process variance,
so old information counts less. Estimates at the same instant (dt = 0) are pooled by precision. The state
variance is capped at the population variance (``max_state_sd``; PHQ-9 SD ~5.5): after a long silence the
old level says no less than a population prior would. The start is diffuse: the first estimate alone sets
the state, with its own variance.

Two outputs:
- ``kalman_filter`` (causal): each smoothed point uses only that estimate and earlier ones. Alerts use it,
  so an alert never depends on data that arrived later.
- ``rts_smooth`` (Rauch-Tung-Striebel, uses later estimates too): better for drawing a past trend.

Alternatives considered: a moving average ignores the intervals and the gaps; exponential smoothing with a
fixed factor ignores both too; a Gaussian process would need hyperparameter fitting per person, which a
few points cannot support. Smoothed values are still *estimates* and are labelled so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist

from phqwatch.errors import InputError
from phqwatch.monitoring.series import EstimatePoint, SmoothedPoint, sorted_estimates
from phqwatch.phq9 import DEFAULT_SD, MAX_TOTAL, MIN_TOTAL

__all__ = ["SmoothingConfig", "observation_sd", "kalman_filter", "rts_smooth", "smooth"]

_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class SmoothingConfig:
    """Smoothing settings.

    interval_level: coverage of the input intervals (and of the smoothed intervals returned), e.g. 0.80.
    process_sd_per_day: how much true severity may drift per day (random-walk SD); 0.5 means ~1.9 points
        over 14 days and ~2.7 over 30 days.
    min_observation_sd: floor on an estimate's SD, so a degenerate (zero-width) interval cannot pin the state.
    max_state_sd: cap on the state SD (population SD of PHQ-9 totals).
    """

    interval_level: float = 0.80
    process_sd_per_day: float = 0.5
    min_observation_sd: float = 0.5
    max_state_sd: float = DEFAULT_SD

    def __post_init__(self) -> None:
        if not 0.0 < self.interval_level < 1.0:
            raise InputError(
                f"interval_level is {self.interval_level!r}; expected a coverage between 0 and 1 (e.g. 0.8).",
                field="interval_level",
            )
        for name in ("process_sd_per_day", "min_observation_sd", "max_state_sd"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name} is {getattr(self, name)!r}; expected a positive number.", field=name)

    @property
    def z(self) -> float:
        """Two-sided normal quantile for the interval level (1.2816 for 80%)."""
        return NormalDist().inv_cdf(0.5 + self.interval_level / 2.0)


def observation_sd(point: EstimatePoint, config: SmoothingConfig | None = None) -> float:
    """Standard deviation of one estimate derived from its interval: (high - low) / (2 * z_level)."""
    cfg = config or SmoothingConfig()
    return max((point.high - point.low) / (2.0 * cfg.z), cfg.min_observation_sd)


def _clip(x: float) -> float:
    return min(max(x, float(MIN_TOTAL)), float(MAX_TOTAL))


def _point(p: EstimatePoint, mean: float, var: float, z: float) -> SmoothedPoint:
    sd = math.sqrt(var)
    return SmoothedPoint(
        when=p.when,
        value=_clip(mean),
        low=_clip(mean - z * sd),
        high=_clip(mean + z * sd),
        sd=sd,
        source=p,
    )


def _forward(points: list[EstimatePoint], cfg: SmoothingConfig) -> tuple[list, list, list, list]:
    """Filtered means/variances and one-step predicted means/variances (pred[0] is the prior)."""
    q = cfg.process_sd_per_day**2
    max_var = cfg.max_state_sd**2
    xf: list[float] = []
    pf: list[float] = []
    xp: list[float] = []
    pp: list[float] = []
    for i, p in enumerate(points):
        r = observation_sd(p, cfg) ** 2
        if i == 0:  # diffuse prior: the first estimate alone sets the state
            xp.append(p.value)
            pp.append(math.inf)
            xf.append(p.value)
            pf.append(r)
            continue
        else:
            dt = (p.when - points[i - 1].when).total_seconds() / _SECONDS_PER_DAY
            x_pred, p_pred = xf[-1], min(pf[-1] + q * max(dt, 0.0), max(max_var, pf[-1]))
        gain = p_pred / (p_pred + r)
        xp.append(x_pred)
        pp.append(p_pred)
        xf.append(x_pred + gain * (p.value - x_pred))
        pf.append((1.0 - gain) * p_pred)
    return xf, pf, xp, pp


def kalman_filter(estimates: Iterable[EstimatePoint], config: SmoothingConfig | None = None) -> list[SmoothedPoint]:
    """Causal smoothing: one SmoothedPoint per estimate (sorted by time), each using only past estimates."""
    cfg = config or SmoothingConfig()
    points = sorted_estimates(estimates)
    if not points:
        return []
    xf, pf, _, _ = _forward(points, cfg)
    z = cfg.z
    return [_point(p, m, v, z) for p, m, v in zip(points, xf, pf, strict=True)]


def rts_smooth(estimates: Iterable[EstimatePoint], config: SmoothingConfig | None = None) -> list[SmoothedPoint]:
    """Two-sided (Rauch-Tung-Striebel) smoothing: each point also uses later estimates. For display."""
    cfg = config or SmoothingConfig()
    points = sorted_estimates(estimates)
    if not points:
        return []
    xf, pf, xp, pp = _forward(points, cfg)
    n = len(points)
    xs, ps = xf[:], pf[:]
    for t in range(n - 2, -1, -1):
        g = pf[t] / pp[t + 1] if 0 < pp[t + 1] < math.inf else 0.0
        xs[t] = xf[t] + g * (xs[t + 1] - xp[t + 1])
        ps[t] = max(pf[t] + g * g * (ps[t + 1] - pp[t + 1]), 1e-12)
    z = cfg.z
    return [_point(p, m, v, z) for p, m, v in zip(points, xs, ps, strict=True)]


def smooth(
    estimates: Iterable[EstimatePoint], config: SmoothingConfig | None = None, *, causal: bool = True
) -> list[SmoothedPoint]:
    """Smooth estimates: causal filter by default (alerts), ``causal=False`` for the two-sided smoother."""
    return kalman_filter(estimates, config) if causal else rts_smooth(estimates, config)
