"""Coverage-aware check-ins: over a week, gently ask about the PHQ-9 domains that the person's recent words
give no evidence on, so that the estimate can rest on evidence for each item.

The evidence is the estimator's own (`models.evidence.item_evidence`). The questions are everyday ones, never
the questionnaire's wording, never a rating scale and never a score. Item 9 (thoughts of death or self-harm)
is not asked about here: that is the crisis screen's and the care team's work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from phqwatch.models.evidence import item_evidence

__all__ = ["Domain", "DOMAINS", "coverage_gaps", "choose_topic", "domain"]


@dataclass(frozen=True)
class Domain:
    item: int  # PHQ-9 item number
    key: str
    patient_question: str
    family_question: str
    hint: str  # what the model is asked to explore, in plain words


#: In the order the check-in asks about them when several have no evidence.
DOMAINS: tuple[Domain, ...] = (
    Domain(3, "sleep", "How have your nights been lately - are you getting the rest you need?",
           "How has their sleep seemed to you lately - nights, mornings, naps?",
           "how they have been sleeping"),
    Domain(4, "energy", "How has your energy been through the day recently?",
           "How does their energy seem through the day - are they getting things done?",
           "their energy through the day"),
    Domain(1, "interest", "What have you done lately just because you enjoy it, and how did it feel?",
           "Have they kept up the things they usually enjoy, or have some dropped away?",
           "the things they usually enjoy and whether those still feel good"),
    Domain(5, "appetite", "How have meals been going for you lately?",
           "Have you noticed any change in how they are eating?",
           "their meals and appetite"),
    Domain(7, "concentration", "When you sit down to read or watch something, how easy is it to stay with it?",
           "Do they seem able to focus on things, like a programme, a book or a conversation?",
           "how easy it is to focus on reading, work or a programme"),
    Domain(6, "self-view", "How have you been feeling about yourself lately?",
           "Have they said anything about how they see themselves lately?",
           "how they have been feeling about themselves"),
    Domain(2, "mood", "If you think about the past few days, what has your mood been like?",
           "How has their mood seemed to you over the past few days?",
           "their mood over the past few days"),
    Domain(8, "pace", "Have you noticed yourself slowing down, or feeling restless and unable to settle?",
           "Have they seemed slowed down, or restless and unable to settle?",
           "whether they feel slowed down or restless"),
)  # fmt: skip
_BY_ITEM = {d.item: d for d in DOMAINS}
_BY_KEY = {d.key: d for d in DOMAINS}


def domain(key_or_item: str | int) -> Domain:
    """The domain by key ("sleep") or PHQ-9 item number (3)."""
    return _BY_ITEM[key_or_item] if isinstance(key_or_item, int) else _BY_KEY[key_or_item]


def coverage_gaps(texts: Iterable[str]) -> list[str]:
    """Keys of the domains (in asking order) on which the person's recent ``texts`` give no evidence."""
    joined = "\n".join(t for t in texts if t and t.strip())
    found = item_evidence(joined, k=1) if joined else {}
    return [d.key for d in DOMAINS if not found.get(d.item)]


def choose_topic(gaps: Sequence[str], asked_recently: Iterable[str] = ()) -> str | None:
    """The next domain to ask about: the first gap not asked about in the recent conversations; when every
    gap was asked already, none (ask again next week rather than press)."""
    asked = set(asked_recently)
    for key in gaps:
        if key not in asked:
            return key
    return None
