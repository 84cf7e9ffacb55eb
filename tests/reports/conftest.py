"""Small fixtures written for the report tests (synthetic; no real person)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from phqwatch.reports.assistive import AdministeredScore, EstimateInput

CONVERSATIONS = {
    "c-1": "Work was fine today. I can barely sleep, I lie awake until 3 most nights. We had pasta.",
    "c-2": "I feel so empty and sad most of the time. I'm such a failure, I let everyone down.",
    "c-3": "Honestly I think everyone would be better off without me.",
}


@pytest.fixture
def conversations() -> dict[str, str]:
    return dict(CONVERSATIONS)


@pytest.fixture
def estimate() -> EstimateInput:
    return EstimateInput(
        value=14.2,
        interval_low=10.1,
        interval_high=18.3,
        band="moderate",
        n_user_words=620,
        model="lexical@1.0",
        items=[1.0, 2.1, 2.4, 0.8, 0.2, 1.9, 0.5, 0.3, 0.9],
        evidence={
            2: ["I feel so empty and sad most of the time."],
            3: ["I can barely sleep, I lie awake until 3 most nights."],
            6: ["I'm such a failure, I let everyone down.", "I am a terrible person who ruins everything."],
            9: ["Honestly I think everyone would be better off without me."],
        },
        window_start=datetime(2026, 3, 1, tzinfo=UTC),
        window_end=datetime(2026, 3, 14, tzinfo=UTC),
        estimate_id="42",
    )


@pytest.fixture
def administered() -> list[AdministeredScore]:
    return [AdministeredScore(date(2026, 1, 5), 9), AdministeredScore(date(2026, 2, 1), 12)]


NOW = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)
