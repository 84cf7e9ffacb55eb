"""Monthly analysis (InterMind's cyclical view): each day of a month scored from the estimate in force.

Day score: 0 no chat, 25 normal (minimal band), 50 mild, 75 moderate, 100 severe (moderately severe or
severe band). A chat day with no estimate in force (the model abstained or nothing was scored yet) is
counted as a chat day but gets no score, and is reported as such rather than guessed.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import mean
from typing import Any

from phqwatch import phq9
from phqwatch.errors import InputError

LEVELS = ("no chat", "normal", "mild", "moderate", "severe")
LEVEL_SCORE = {"no chat": 0, "normal": 25, "mild": 50, "moderate": 75, "severe": 100}
BAND_LEVEL = {
    "minimal": "normal",
    "mild": "mild",
    "moderate": "moderate",
    "moderately severe": "severe",
    "severe": "severe",
}


@dataclass(frozen=True)
class DayEstimate:
    """An estimate and when it was made (its window end)."""

    when: datetime
    value: float


def _as_utc(d: datetime) -> datetime:
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)


def estimate_in_force(
    day: date, estimates: Sequence[DayEstimate], max_age_days: int = phq9.RECALL_DAYS
) -> DayEstimate | None:
    """The day's estimate: the last one made on that day, else the latest one made in the `max_age_days` before."""
    end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    start = end - timedelta(days=max_age_days + 1)
    best = None
    for e in estimates:
        w = _as_utc(e.when)
        if start <= w < end and (best is None or w >= _as_utc(best.when)):
            best = e
    return best


def monthly_analysis(
    year: int,
    month: int,
    turns_by_day: Mapping[date, int],
    estimates: Sequence[DayEstimate],
    *,
    max_age_days: int = phq9.RECALL_DAYS,
    today: date | None = None,
) -> dict[str, Any]:
    """The month as a JSON-able dict: days, chat days and turns, level distribution, averages and a summary.

    `turns_by_day` counts the patient's own messages per (UTC) day; `estimates` are the patient's estimates.
    Days after `today` are left out of the counts (a month in progress).
    """
    if not 1 <= month <= 12:
        raise InputError(f"month {month!r} is out of range; expected 1-12.", field="month")
    today = today or datetime.now(UTC).date()
    n_days = calendar.monthrange(year, month)[1]
    ests = sorted(estimates, key=lambda e: _as_utc(e.when))
    days: list[dict[str, Any]] = []
    for d in range(1, n_days + 1):
        day = date(year, month, d)
        if day > today:
            break
        turns = int(turns_by_day.get(day, 0))
        entry: dict[str, Any] = {"date": day.isoformat(), "turns": turns, "estimate": None, "band": None}
        if turns == 0:
            entry.update(level="no chat", score=0)
        else:
            e = estimate_in_force(day, ests, max_age_days)
            if e is None:
                entry.update(level="not estimated", score=None)
            else:
                band = phq9.band(e.value)
                level = BAND_LEVEL[band]
                entry.update(estimate=round(e.value, 1), band=band, level=level, score=LEVEL_SCORE[level])
        days.append(entry)
    chat = [d for d in days if d["turns"] > 0]
    scored = [d for d in chat if d["score"] is not None]
    dist = {lvl: sum(1 for d in chat if d["level"] == lvl) for lvl in LEVELS[1:]}
    dist["not estimated"] = sum(1 for d in chat if d["score"] is None)
    avg_score = round(mean(d["score"] for d in scored), 1) if scored else None
    avg_est = round(mean(d["estimate"] for d in scored), 1) if scored else None
    month_scores = [d["score"] for d in days if d["score"] is not None]
    result = {
        "year": year,
        "month": month,
        "month_name": calendar.month_name[month],
        "days_elapsed": len(days),
        "chat_days": len(chat),
        "turns": sum(d["turns"] for d in days),
        "distribution": dist,
        "average_day_score": avg_score,
        "average_day_score_all_days": round(mean(month_scores), 1) if month_scores else None,
        "average_estimate": avg_est,
        "days": days,
        "label": "estimated",
    }
    result["summary"] = _summary(result, scored)
    return result


def _summary(r: dict[str, Any], scored: list[dict[str, Any]]) -> str:
    name = f"{r['month_name']} {r['year']}"
    if r["chat_days"] == 0:
        return f"No conversations in {name}, so there is nothing to estimate for this month."
    parts = [f"In {name} the patient chatted on {r['chat_days']} of {r['days_elapsed']} days ({r['turns']} messages)."]
    if not scored:
        parts.append("No chat day had an estimate in force, so no severity can be described.")
        return " ".join(parts)
    d = r["distribution"]
    common = max(("normal", "mild", "moderate", "severe"), key=lambda k: (d[k], -LEVELS.index(k)))
    parts.append(
        f"On chat days the estimated severity was most often {common} "
        f"({d['normal']} normal, {d['mild']} mild, {d['moderate']} moderate, {d['severe']} severe"
        + (f", {d['not estimated']} without an estimate" if d["not estimated"] else "")
        + f"); the average day score was {r['average_day_score']} of 100 "
        f"(average estimated PHQ-9 {r['average_estimate']})."
    )
    half = len(scored) // 2
    if half >= 2:
        first = mean(x["estimate"] for x in scored[:half])
        second = mean(x["estimate"] for x in scored[half:])
        if second - first >= 3:
            parts.append("Estimates were higher in the second half of the month than in the first.")
        elif first - second >= 3:
            parts.append("Estimates were lower in the second half of the month than in the first.")
        else:
            parts.append("Estimates were broadly stable across the month.")
    parts.append("These are estimates from conversation text, not administered PHQ-9 scores.")
    return " ".join(parts)
