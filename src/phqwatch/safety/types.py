"""The crisis screen's vocabulary: severities, categories, rules and what a screen returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["none", "review", "high", "urgent", "imminent"]
#: Ordered ladder. imminent: attempt in progress, means at hand, a time set; urgent: active ideation, plan,
#: intent, current self-harm; high: passive ideation, burden, farewell; review: history, ambiguous distress.
SEVERITIES: tuple[Severity, ...] = ("none", "review", "high", "urgent", "imminent")
SEVERITY_ORDER: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
#: Severities that open the crisis path (an urgent alert for a human); imminent and urgent also page.
CRISIS_SEVERITIES: frozenset[str] = frozenset({"high", "urgent", "imminent"})
PAGING_SEVERITIES: frozenset[str] = frozenset({"urgent", "imminent"})

Category = Literal["suicide", "self-harm", "harm-to-others", "harmed-by-others"]
CATEGORIES: tuple[Category, ...] = ("suicide", "self-harm", "harm-to-others", "harmed-by-others")

#: The rule table's finer kinds -> the output category.
KIND_CATEGORY: dict[str, Category] = {
    "direct ideation": "suicide",
    "passive ideation": "suicide",
    "plan/means": "suicide",
    "intent/plan": "suicide",
    "farewell/burden": "suicide",
    "farewell": "suicide",
    "euphemism": "suicide",
    "mention": "suicide",
    "history/attempt": "suicide",
    "past history": "suicide",
    "distress": "suicide",
    "help-seeking": "suicide",
    "attempt": "suicide",
    "context": "suicide",
    "self-harm": "self-harm",
    "harm to others": "harm-to-others",
    "harmed by others": "harmed-by-others",
}


def max_severity(*severities: str) -> Severity:
    """The highest of ``severities`` on the ladder ("none" for none)."""
    best: Severity = "none"
    for s in severities:
        if SEVERITY_ORDER[s] > SEVERITY_ORDER[best] and s in SEVERITIES:
            best = s
    return best


@dataclass(frozen=True)
class Rule:
    """One pattern. ``kind``: the rule family (``KIND_CATEGORY`` maps it to an output category).
    ``first_person``: the phrase itself names the speaker (myself, my life), so a third-party subject
    earlier in the sentence does not make it reported speech. ``mention``: a bare term that is suppressed
    in an educational or clinical context."""

    name: str
    kind: str
    severity: Severity
    pattern: str
    first_person: bool = False
    mention: bool = False

    @property
    def category(self) -> Category:
        return KIND_CATEGORY.get(self.kind, "suicide")


@dataclass(frozen=True)
class Match:
    """A rule match that survived the filters. ``span`` indexes the original message text."""

    span: tuple[int, int]
    excerpt: str
    rule: str
    category: Category
    severity: Severity
    note: str | None = None


@dataclass(frozen=True)
class Suppressed:
    span: tuple[int, int]
    rule: str
    reason: str


@dataclass(frozen=True)
class RuleResult:
    """What the pattern rules found in one message."""

    hit: bool
    severity: Severity
    matches: tuple[Match, ...] = ()
    suppressed: tuple[Suppressed, ...] = ()

    @property
    def categories(self) -> tuple[Category, ...]:
        return tuple(dict.fromkeys(m.category for m in self.matches))

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.rule for m in self.matches))
