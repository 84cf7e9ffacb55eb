"""Pseudolabels for self-training: read a teacher's scores, score confidence, filter, record why.

A *teacher* is anything that gives PHQ-9 totals (0-27) for unlabeled users:

- a callable ``teacher(texts: dict[user_id, text])`` returning any of the forms below (the pluggable
  interface: an LLM run, another model, a rule);
- a `phqwatch.teacher.PseudolabelRun` or its frame (``user_id``, ``phq9_estimate``, optional
  ``confidence``, ``status``; a ``phq9_recalibrated`` column is preferred when present);
- a mapping user_id -> total, or a sequence aligned with the unlabeled users (NaN = abstained).

Filters (`filter_pseudolabels`): ``"confidence"`` keeps rows whose confidence is at least
`min_confidence`; ``"agreement"`` keeps rows where teacher and model are within `agreement_tol` PHQ-9
points; ``"none"`` keeps every row that has a score. Every rejected row keeps its reason.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from phqwatch import phq9
from phqwatch.errors import ConfigError, InputError

#: Class boundaries of the PHQ-9 severity bands (between 4|5, 9|10, 14|15, 19|20).
BAND_BOUNDARIES: tuple[float, ...] = tuple(hi + 0.5 for _, _, hi in phq9.BANDS[:-1])
FILTERS = ("confidence", "agreement", "none")
SOURCES = ("auto", "teacher", "model", "mean")
#: Reasons a row can carry in the pseudolabel table, in the order they are checked.
REASONS = (
    "accepted",
    "teacher_failed",
    "teacher_abstained",
    "teacher_missing",
    "low_confidence",
    "disagreement",
    "over_cap",
)

Teacher = Callable[[dict[str, str]], Any] | Any


@dataclass
class TeacherScores:
    """A teacher's scores aligned with the unlabeled users: NaN where it gave none."""

    score: np.ndarray
    confidence: np.ndarray
    status: list[str]
    column: str = "phq9_estimate"
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def n_scored(self) -> int:
        return int(np.isfinite(self.score).sum())


def _from_frame(frame: Any, ids: Sequence[str]) -> TeacherScores:
    cols = set(frame.columns)
    if "user_id" not in cols or "phq9_estimate" not in cols:
        raise InputError(
            f"teacher frame has columns {sorted(cols)}; expected at least user_id and phq9_estimate",
            fix="Pass the frame returned by phqwatch.teacher.pseudolabel (or a CSV written by `phqwatch pseudolabel`).",
        )
    column = "phq9_recalibrated" if "phq9_recalibrated" in cols else "phq9_estimate"
    by_id = frame.drop_duplicates("user_id", keep="last").set_index("user_id")
    by_id.index = by_id.index.astype(str)
    score = np.full(len(ids), np.nan)
    conf = np.full(len(ids), np.nan)
    status = ["missing"] * len(ids)
    for i, uid in enumerate(ids):
        if uid not in by_id.index:
            continue
        row = by_id.loc[uid]
        v = _float(row[column])
        score[i] = v
        if "confidence" in cols:
            conf[i] = _float(row["confidence"])
        st = row["status"] if "status" in cols else None
        status[i] = str(st) if isinstance(st, str) and st else ("ok" if math.isfinite(v) else "abstained")
    stats = dict(getattr(frame, "attrs", {}).get("teacher_run", {}) or {})
    return TeacherScores(score, conf, status, column=column, stats=stats)


def _float(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f if math.isfinite(f) else math.nan


def teacher_scores(teacher: Teacher, ids: Sequence[str], texts: Sequence[str]) -> TeacherScores:
    """Run or read `teacher` for the users `ids` (texts aligned) and align its scores with them."""
    import pandas as pd

    result = teacher(dict(zip(ids, texts, strict=True))) if callable(teacher) else teacher
    frame = getattr(result, "frame", None)  # a PseudolabelRun
    if frame is not None:
        out = _from_frame(frame, ids)
        stats = getattr(result, "stats", None)
        if stats is not None and hasattr(stats, "as_dict"):
            out.stats = stats.as_dict()
    elif isinstance(result, pd.DataFrame):
        out = _from_frame(result, ids)
    elif isinstance(result, Mapping):
        score = np.array([_float(result.get(uid, math.nan)) for uid in ids])
        out = TeacherScores(score, np.full(len(ids), np.nan), _statuses(score, [uid in result for uid in ids]))
    else:
        try:
            score = np.asarray([_float(v) for v in result], dtype=float)
        except TypeError:
            raise InputError(
                f"the teacher returned {type(result).__name__}; expected a DataFrame, PseudolabelRun, mapping "
                "user_id -> total, or a sequence of totals",
                fix="Make the teacher callable return one PHQ-9 total per user (NaN to abstain).",
            ) from None
        if len(score) != len(ids):
            raise InputError(
                f"the teacher returned {len(score)} scores for {len(ids)} users",
                fix="Return one score per user, in the order of the mapping it was given (NaN to abstain).",
            )
        out = TeacherScores(score, np.full(len(ids), np.nan), _statuses(score, [True] * len(ids)))
    bad = np.isfinite(out.score) & ((out.score < phq9.MIN_TOTAL) | (out.score > phq9.MAX_TOTAL))
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} teacher scores lie outside 0-27 (e.g. {out.score[bad][0]:g})",
            fix="Teacher scores must be PHQ-9 totals; rescale or recalibrate them first.",
        )
    return out


def _statuses(score: np.ndarray, present: list[bool]) -> list[str]:
    return [
        "missing" if not p else ("ok" if math.isfinite(s) else "abstained") for s, p in zip(score, present, strict=True)
    ]


def class_of(values: np.ndarray, boundaries: Sequence[float]) -> np.ndarray:
    """Class index of each value given increasing class boundaries."""
    return np.searchsorted(np.asarray(boundaries, dtype=float), np.asarray(values, dtype=float), side="right")


def class_midpoints(boundaries: Sequence[float]) -> np.ndarray:
    """Midpoint of every class, with 0 and 27 as the outer edges."""
    edges = np.r_[phq9.MIN_TOTAL - 0.5, np.asarray(boundaries, dtype=float), phq9.MAX_TOTAL + 0.5]
    return (edges[:-1] + edges[1:]) / 2


def interval_confidence(pred: np.ndarray, halfwidth: float, boundaries: Sequence[float]) -> np.ndarray:
    """Share of the interval [pred - h, pred + h] (clipped to 0-27) inside the class that holds `pred`.

    1.0 when the whole (conformal) interval stays in one class; lower the closer the estimate sits to a
    class boundary relative to the interval's width.
    """
    p = np.asarray(pred, dtype=float)
    if not halfwidth > 0:
        return np.ones_like(p)
    lo = np.clip(p - halfwidth, phq9.MIN_TOTAL, phq9.MAX_TOTAL)
    hi = np.clip(p + halfwidth, phq9.MIN_TOTAL, phq9.MAX_TOTAL)
    edges = np.r_[-np.inf, np.asarray(boundaries, dtype=float), np.inf]
    k = class_of(p, boundaries)
    c_lo, c_hi = edges[k], edges[k + 1]
    inside = np.clip(np.minimum(hi, c_hi) - np.maximum(lo, c_lo), 0, None)
    width = hi - lo
    return np.where(width > 0, inside / np.where(width > 0, width, 1), 1.0)


@dataclass
class FilterResult:
    """One round's pseudolabels: values, confidence, acceptance and the reason for every row."""

    pseudolabel: np.ndarray
    confidence: np.ndarray
    accepted: np.ndarray
    reason: list[str]

    @property
    def n_accepted(self) -> int:
        return int(self.accepted.sum())

    def reasons(self) -> dict[str, int]:
        """Count per reason (every reason listed, zeros included)."""
        c = Counter(self.reason)
        return {r: int(c.get(r, 0)) for r in REASONS}


def filter_pseudolabels(
    *,
    model_score: np.ndarray | None,
    teacher: TeacherScores | None,
    model_confidence: np.ndarray | None,
    how: str = "confidence",
    source: str = "auto",
    min_confidence: float = 0.8,
    agreement_tol: float = 3.0,
    max_accept: int | None = None,
    class_shares: Sequence[float] | np.ndarray | None = None,
    hard: bool = False,
    boundaries: Sequence[float] = BAND_BOUNDARIES,
) -> FilterResult:
    """Choose the pseudolabel of each unlabeled user and decide whether to keep it.

    source: "teacher", "model", "mean" (of both) or "auto" (teacher when there is one, else model).
    Confidence: the teacher's own confidence (1.0 when it gives none) for teacher labels, the model's
    interval confidence for model labels, the smaller of the two for "mean". `max_accept` keeps only the
    most confident accepted rows (the rest: "over_cap"); with `class_shares` (one share per class of
    `boundaries`, e.g. the administered class proportions) that quota is split over the pseudolabels'
    classes, so confident extremes cannot crowd out the middle classes. `hard` snaps each label to its
    class midpoint.
    """
    if how not in FILTERS:
        raise ConfigError(f"filter '{how}' is unknown; expected one of {', '.join(FILTERS)}.")
    if source not in SOURCES:
        raise ConfigError(f"pseudolabel source '{source}' is unknown; expected one of {', '.join(SOURCES)}.")
    if source == "auto":
        source = "teacher" if teacher is not None else "model"
    if source in ("teacher", "mean") and teacher is None:
        raise ConfigError(
            f"pseudolabel source '{source}' needs a teacher.", fix="Pass a teacher or use source='model'."
        )
    if (source in ("model", "mean") or how == "agreement") and model_score is None:
        raise ConfigError("these pseudolabels need the previous round's model scores.")
    if how == "agreement" and teacher is None:
        raise ConfigError(
            "the 'agreement' filter compares the teacher with the model, and there is no teacher.",
            fix="Pass a teacher (e.g. --teacher with PHQWATCH_TEACHER_* set) or use --filter confidence.",
        )
    # Checked above: "teacher" and "mean" have a teacher; "model", "mean" and "agreement" have model scores.
    if teacher is None:
        assert model_score is not None
        n = len(model_score)
    else:
        n = len(teacher.score)
    ones = np.ones(n)
    t_conf = None
    if teacher is not None:
        t_conf = np.where(np.isfinite(teacher.confidence), np.clip(teacher.confidence, 0, 1), 1.0)
    m_conf = ones if model_confidence is None else np.asarray(model_confidence, dtype=float)
    if source == "teacher":
        assert teacher is not None and t_conf is not None
        label, conf = teacher.score.copy(), t_conf
    elif source == "model":
        label, conf = np.asarray(model_score, dtype=float).copy(), m_conf
    else:
        assert teacher is not None and t_conf is not None
        label = (teacher.score + np.asarray(model_score, dtype=float)) / 2
        conf = np.minimum(t_conf, m_conf)
    if hard:
        mids = class_midpoints(boundaries)
        finite = np.isfinite(label)
        label[finite] = mids[class_of(label[finite], boundaries)]
    reason = ["accepted"] * n
    for i in range(n):
        if teacher is not None and (source != "model" or how == "agreement"):
            st = teacher.status[i]
            if not math.isfinite(teacher.score[i]):
                reason[i] = {"failed": "teacher_failed", "missing": "teacher_missing"}.get(st, "teacher_abstained")
                continue
        if not math.isfinite(label[i]):
            reason[i] = "teacher_abstained"
        elif how == "confidence" and not conf[i] >= min_confidence:
            reason[i] = "low_confidence"
        elif (
            how == "agreement"
            and teacher is not None
            and model_score is not None
            and not abs(teacher.score[i] - model_score[i]) <= agreement_tol
        ):
            reason[i] = "disagreement"
    accepted = np.array([r == "accepted" for r in reason], dtype=bool)
    if max_accept is not None:
        conf_key = np.nan_to_num(np.asarray(conf, dtype=float), nan=-1.0)
        if class_shares is None:
            groups = [(np.flatnonzero(accepted), max_accept)]
        else:
            shares = np.asarray(class_shares, dtype=float)
            if len(shares) != len(boundaries) + 1 or shares.sum() <= 0:
                raise ConfigError(f"class_shares has {len(shares)} entries for {len(boundaries) + 1} classes.")
            shares = shares / shares.sum()
            cls = class_of(np.nan_to_num(label), boundaries)
            quotas = _split_quota(max_accept, shares)
            groups = [(np.flatnonzero(accepted & (cls == k)), int(quotas[k])) for k in range(len(shares))]
        for idx, quota in groups:
            order = idx[np.argsort(-conf_key[idx], kind="stable")]
            for i in order[quota:]:
                reason[i] = "over_cap"
                accepted[i] = False
    return FilterResult(np.clip(label, phq9.MIN_TOTAL, phq9.MAX_TOTAL), np.asarray(conf, dtype=float), accepted, reason)


def _split_quota(total: int, shares: np.ndarray) -> np.ndarray:
    """Whole-number quotas in proportion to ``shares`` that add up to ``total`` (largest remainders), so
    rounding never lets more than ``total`` rows through."""
    exact = total * shares
    quotas = np.floor(exact).astype(int)
    for k in np.argsort(-(exact - quotas), kind="stable")[: total - int(quotas.sum())]:
        quotas[k] += 1
    return quotas


__all__ = [
    "BAND_BOUNDARIES",
    "FILTERS",
    "REASONS",
    "SOURCES",
    "FilterResult",
    "TeacherScores",
    "class_midpoints",
    "class_of",
    "filter_pseudolabels",
    "interval_confidence",
    "teacher_scores",
]
