"""Teacher calibration: score the LLM teacher on users with administered PHQ-9s before its
pseudolabels are used, and optionally fit a linear recalibration. Lives in training/ because it uses
phqwatch.evaluation (a layer above the teacher).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from phqwatch.errors import InputError
from phqwatch.phq9 import MAX_TOTAL, MIN_TOTAL


def _metrics(
    y_true: np.ndarray, y_pred: np.ndarray, units: np.ndarray | None, n_boot: int, seed: int
) -> dict[str, Any]:
    """Every PHQ-9 metric with user-bootstrap CIs, from phqwatch.evaluation (JSON-safe)."""
    from phqwatch.evaluation import phq9_metrics

    return phq9_metrics(y_true, y_pred, units=units, n_boot=n_boot, seed=seed)


@dataclass
class Calibration:
    """How well the teacher agrees with administered PHQ-9 totals, and an optional linear recalibration."""

    n_labeled: int
    n_scored: int
    n_abstained: int
    slope: float = 1.0
    intercept: float = 0.0
    recalibrated: bool = False
    metrics_raw: dict[str, Any] = field(default_factory=dict)
    metrics_recalibrated: dict[str, Any] | None = None
    note: str = ""

    def apply(self, scores: Any) -> np.ndarray:
        """Recalibrated scores clipped to 0-27 (identity when no recalibration was fitted); NaN stays NaN."""
        s = np.asarray(scores, dtype=float)
        out = self.intercept + self.slope * s if self.recalibrated else s.copy()
        return np.where(np.isnan(out), np.nan, np.clip(out, MIN_TOTAL, MAX_TOTAL))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _as_series(x: Any, name: str) -> pd.Series:
    if isinstance(x, pd.Series):
        return x.astype(float)
    if isinstance(x, Mapping):
        return pd.Series({str(k): v for k, v in x.items()}, dtype=float)
    raise InputError(f"calibrate expects {name} as a pandas Series or mapping user_id -> score.", field=name)


def calibrate(
    teacher_scores: pd.Series | Mapping[str, float],
    labels: pd.Series | Mapping[str, float],
    *,
    recalibrate: bool = True,
    min_n: int = 10,
    units: Mapping[str, str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> Calibration:
    """Score the teacher on users with administered labels; optionally fit y = a + b * teacher.

    Rows are matched by id; rows the teacher abstained on (NaN) are counted, not scored. When ids are
    windows (several per user), `units` maps each id to its user so the bootstrap resamples users. The linear fit
    (ordinary least squares) is only made with at least `min_n` scored users and a non-constant teacher;
    metrics_recalibrated are in-sample, so treat them as optimistic. Metrics come from
    phqwatch.evaluation.phq9_metrics: {"mae": {"value": x, "ci": [lo, hi]}, "rmse": ..., "pearson": ...}.
    """
    t = _as_series(teacher_scores, "teacher_scores")
    y = _as_series(labels, "labels").dropna()
    common = y.index.intersection(t.index)
    if len(common) == 0:
        raise InputError(
            "No user has both a teacher score and an administered label.",
            field="user_id",
            fix="Pass teacher scores and labels indexed by the same user ids.",
        )
    tt, yy = t.loc[common], y.loc[common]
    mask = tt.notna().to_numpy()
    cal = Calibration(n_labeled=len(common), n_scored=int(mask.sum()), n_abstained=int((~mask).sum()))
    if cal.n_scored == 0:
        cal.note = "The teacher abstained on every labeled user; nothing to score."
        return cal
    xt, yt = tt.to_numpy()[mask], yy.to_numpy()[mask]
    unit_arr = np.array([units.get(k, k) for k in common[mask]], dtype=object) if units is not None else None
    cal.metrics_raw = _metrics(yt, xt, unit_arr, n_boot, seed)
    if recalibrate:
        if cal.n_scored < min_n or np.std(xt) == 0:
            cal.note = f"No recalibration: {cal.n_scored} scored users (need {min_n}) or constant teacher scores."
        else:
            b, a = np.polyfit(xt, yt, 1)
            cal.slope, cal.intercept, cal.recalibrated = float(b), float(a), True
            cal.metrics_recalibrated = _metrics(yt, cal.apply(xt), unit_arr, n_boot, seed)
    return cal
