"""Monthly (InterMind-style) analysis."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from phqwatch.errors import InputError
from phqwatch.reports.monthly import DayEstimate, estimate_in_force, monthly_analysis


def _dt(d: int, h: int = 20) -> datetime:
    return datetime(2026, 3, d, h, tzinfo=UTC)


def test_day_scores_distribution_and_summary():
    turns = {date(2026, 3, 2): 5, date(2026, 3, 3): 2, date(2026, 3, 10): 4, date(2026, 3, 20): 1, date(2026, 3, 28): 3}
    ests = [DayEstimate(_dt(2), 3.0), DayEstimate(_dt(10), 12.0), DayEstimate(_dt(20), 21.0)]
    # 28 March: the 20 March estimate is still in force (8 days old)
    m = monthly_analysis(2026, 3, turns, ests, today=date(2026, 4, 2))
    by = {d["date"]: d for d in m["days"]}
    assert by["2026-03-01"]["score"] == 0 and by["2026-03-01"]["level"] == "no chat"
    assert by["2026-03-02"]["score"] == 25 and by["2026-03-03"]["score"] == 25
    assert by["2026-03-10"]["score"] == 75 and by["2026-03-20"]["score"] == 100
    assert by["2026-03-28"]["score"] == 100
    assert m["chat_days"] == 5 and m["turns"] == 15 and m["days_elapsed"] == 31
    assert m["distribution"] == {"normal": 2, "mild": 0, "moderate": 1, "severe": 2, "not estimated": 0}
    assert m["average_day_score"] == 65.0
    assert "chatted on 5 of 31 days (15 messages)" in m["summary"]
    assert "higher in the second half" in m["summary"]
    assert "not administered PHQ-9 scores" in m["summary"]


def test_chat_day_without_estimate_is_not_guessed():
    m = monthly_analysis(2026, 3, {date(2026, 3, 5): 2}, [DayEstimate(_dt(25), 9.0)], today=date(2026, 3, 31))
    d5 = m["days"][4]
    assert d5["level"] == "not estimated" and d5["score"] is None
    assert m["average_day_score"] is None and "No chat day had an estimate" in m["summary"]


def test_month_in_progress_stops_at_today_and_empty_month():
    m = monthly_analysis(2026, 3, {}, [], today=date(2026, 3, 10))
    assert m["days_elapsed"] == 10 and m["chat_days"] == 0 and "No conversations" in m["summary"]
    with pytest.raises(InputError):
        monthly_analysis(2026, 13, {}, [])


def test_estimate_in_force_ignores_old_and_future_estimates():
    ests = [DayEstimate(_dt(1), 5.0), DayEstimate(_dt(31), 20.0)]
    assert estimate_in_force(date(2026, 3, 20), ests) is None
    assert estimate_in_force(date(2026, 3, 10), ests).value == 5.0
