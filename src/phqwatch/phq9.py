"""The PHQ-9 instrument: items, severity bands, cut-offs, response, remission and reliable change.

Pure functions, no dependencies. The PHQ-9 was developed by Drs. Robert L. Spitzer, Janet B.W. Williams,
Kurt Kroenke and colleagues, with an educational grant from Pfizer Inc. No permission is required to
reproduce, translate, display or distribute it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ATTRIBUTION = (
    "PHQ-9 developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, with an "
    "educational grant from Pfizer Inc. No permission required to reproduce, translate, display or distribute."
)

#: The recall period the questionnaire asks about ("over the last 2 weeks"), in days.
RECALL_DAYS = 14

STEM = "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
RESPONSES = ("Not at all", "Several days", "More than half the days", "Nearly every day")  # 0..3


@dataclass(frozen=True)
class Item:
    number: int
    key: str
    text: str
    short: str


ITEMS: tuple[Item, ...] = (
    Item(1, "anhedonia", "Little interest or pleasure in doing things", "Anhedonia"),
    Item(2, "low_mood", "Feeling down, depressed, or hopeless", "Low mood"),
    Item(3, "sleep", "Trouble falling or staying asleep, or sleeping too much", "Sleep"),
    Item(4, "energy", "Feeling tired or having little energy", "Fatigue"),
    Item(5, "appetite", "Poor appetite or overeating", "Appetite"),
    Item(
        6,
        "worthlessness",
        "Feeling bad about yourself - or that you are a failure or have let yourself or your family down",
        "Worthlessness / guilt",
    ),
    Item(
        7,
        "concentration",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Concentration",
    ),
    Item(
        8,
        "psychomotor",
        "Moving or speaking so slowly that other people could have noticed? Or the opposite - being so "
        "fidgety or restless that you have been moving around a lot more than usual",
        "Psychomotor change",
    ),
    Item(
        9,
        "self_harm",
        "Thoughts that you would be better off dead or of hurting yourself in some way",
        "Self-harm",
    ),
)
ITEM_KEYS = tuple(i.key for i in ITEMS)
ITEM_COLUMNS = tuple(f"item_{i.number}" for i in ITEMS)

MIN_TOTAL, MAX_TOTAL = 0, 27
CUTOFF = 10  # >= 10 detects major depression (sensitivity ~0.88, specificity ~0.88; Kroenke et al. 2001)

#: (name, lowest total, highest total). Upper edges are inclusive.
BANDS: tuple[tuple[str, int, int], ...] = (
    ("minimal", 0, 4),
    ("mild", 5, 9),
    ("moderate", 10, 14),
    ("moderately severe", 15, 19),
    ("severe", 20, 27),
)
BAND_NAMES = tuple(b[0] for b in BANDS)
#: Lines drawn between bands on charts (CamCOPS convention).
BAND_LINES = (4.5, 9.5, 14.5, 19.5)

#: Test-retest reliability of the PHQ-9 (Kroenke, Spitzer & Williams 2001, J Gen Intern Med 16:606-613).
RETEST_RELIABILITY = 0.84
#: Standard deviation of PHQ-9 totals used for the reliable-change index. 5.5 points makes the
#: Jacobson-Truax criterion 1.96 * sqrt(2) * SD * sqrt(1 - r) ~= 6.1 points, in line with the 6-point
#: reliable-change criterion used for the PHQ-9 by NHS Talking Therapies (IAPT). Override per population.
DEFAULT_SD = 5.5


def _check_total(total: float) -> float:
    if total is None or (isinstance(total, float) and math.isnan(total)):
        raise ValueError("PHQ-9 total is missing (None/NaN); expected a number from 0 to 27.")
    if not MIN_TOTAL <= total <= MAX_TOTAL:
        raise ValueError(f"PHQ-9 total {total!r} is outside 0-27; expected a number from 0 to 27.")
    return float(total)


def band(total: float) -> str:
    """Severity band of a total (estimates are rounded to the nearest integer first)."""
    t = round(_check_total(total))
    for name, lo, hi in BANDS:
        if lo <= t <= hi:
            return name
    raise AssertionError("unreachable")  # pragma: no cover


def band_index(total: float) -> int:
    """0 (minimal) .. 4 (severe)."""
    return BAND_NAMES.index(band(total))


def total_from_items(items: list[int] | tuple[int, ...]) -> int:
    """Sum of the nine item scores, each 0-3."""
    if len(items) != 9:
        raise ValueError(f"Expected 9 PHQ-9 item scores, got {len(items)}.")
    for n, v in enumerate(items, 1):
        if v not in (0, 1, 2, 3):
            raise ValueError(f"PHQ-9 item_{n} is {v!r}; expected 0, 1, 2 or 3.")
    return int(sum(items))


def is_positive_screen(total: float, cutoff: int = CUTOFF) -> bool:
    """True when the total is at or above the cut-off (default 10)."""
    return _check_total(total) >= cutoff


def is_response(baseline: float, follow_up: float) -> bool:
    """Treatment response: a drop of at least 50% from baseline (baseline must be > 0)."""
    b, f = _check_total(baseline), _check_total(follow_up)
    return b > 0 and (b - f) >= 0.5 * b


def is_remission(total: float) -> bool:
    """Remission: a total below 5."""
    return _check_total(total) < 5


def reliable_change_threshold(
    sd: float = DEFAULT_SD, reliability: float = RETEST_RELIABILITY, z: float = 1.96
) -> float:
    """Smallest change that is reliable (Jacobson & Truax 1991): z * sqrt(2) * SD * sqrt(1 - r)."""
    if not 0 <= reliability < 1 or sd <= 0:
        raise ValueError("Expected 0 <= reliability < 1 and sd > 0.")
    return z * math.sqrt(2.0) * sd * math.sqrt(1.0 - reliability)


def reliable_change_index(
    before: float, after: float, sd: float = DEFAULT_SD, reliability: float = RETEST_RELIABILITY
) -> float:
    """Jacobson-Truax RCI = (after - before) / S_diff, S_diff = sqrt(2) * SD * sqrt(1 - r).

    |RCI| > 1.96 is a reliable change at the 5% level; positive means worsening.
    """
    s_diff = math.sqrt(2.0) * sd * math.sqrt(1.0 - reliability)
    return (_check_total(after) - _check_total(before)) / s_diff


def estimate_change_threshold(se_before: float, se_after: float, z: float = 1.96) -> float:
    """Reliable change between two *estimates* with standard errors se_before, se_after.

    With an estimate error of ~4 points on each side this is ~11 points: single estimates rarely show a
    reliable change, so smooth over time and ask for an administered PHQ-9 instead of claiming one.
    """
    return z * math.sqrt(se_before**2 + se_after**2)


def classify_change(before: float, after: float, sd: float = DEFAULT_SD) -> str:
    """'reliable improvement', 'reliable deterioration' or 'no reliable change' between two administrations."""
    rci = reliable_change_index(before, after, sd=sd)
    if rci <= -1.96:
        return "reliable improvement"
    if rci >= 1.96:
        return "reliable deterioration"
    return "no reliable change"
