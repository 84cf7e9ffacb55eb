"""Measure a crisis screen on labelled messages: recall on crisis messages (high and above), recall on
imminent ones, precision, and breakdowns by language and kind.

Precision counts a flagged message as correct when its label is any risk severity (review included: a
flagged history of risk is not a false alarm); recall counts crisis-labelled messages that were flagged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from phqwatch.safety.examples import Example
from phqwatch.safety.screen import CrisisScreen

__all__ = ["ScreenFigures", "evaluate_screen"]


@dataclass
class ScreenFigures:
    n: int
    n_crisis: int
    crisis_flagged: int
    n_imminent: int
    imminent_flagged: int
    flagged: int
    flagged_risk: int
    auc: float | None
    by_lang: dict[str, dict[str, float]] = field(default_factory=dict)
    missed_kinds: dict[str, int] = field(default_factory=dict)
    false_alarm_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def recall(self) -> float:
        return self.crisis_flagged / self.n_crisis if self.n_crisis else float("nan")

    @property
    def imminent_recall(self) -> float:
        return self.imminent_flagged / self.n_imminent if self.n_imminent else float("nan")

    @property
    def precision(self) -> float:
        return self.flagged_risk / self.flagged if self.flagged else float("nan")

    def summary(self) -> dict[str, float | int | None]:
        return {
            "n": self.n,
            "recall_high_plus": round(self.recall, 4),
            "crisis_flagged": self.crisis_flagged,
            "n_crisis": self.n_crisis,
            "imminent_recall": round(self.imminent_recall, 4),
            "imminent_missed": self.n_imminent - self.imminent_flagged,
            "precision": round(self.precision, 4),
            "auc": None if self.auc is None else round(self.auc, 4),
        }


def evaluate_screen(screen: CrisisScreen, examples: Sequence[Example]) -> ScreenFigures:
    """Screen every example with its context and count."""
    results = screen.screen_many([e.text for e in examples], [e.context for e in examples])
    flags = [r.flag for r in results]
    crisis = [e.crisis for e in examples]
    missed: Counter[str] = Counter()
    false: Counter[str] = Counter()
    by_lang: dict[str, dict[str, float]] = {}
    for lang in sorted({e.lang for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.lang == lang]
        nc = sum(crisis[i] for i in idx)
        fl = [i for i in idx if flags[i]]
        by_lang[lang] = {
            "n": len(idx),
            "recall_high_plus": sum(flags[i] and crisis[i] for i in idx) / nc if nc else float("nan"),
            "precision": sum(examples[i].severity != "none" for i in fl) / len(fl) if fl else float("nan"),
        }
    for e, f in zip(examples, flags, strict=True):
        if e.crisis and not f:
            missed[e.kind] += 1
        if f and e.severity == "none":
            false[e.kind] += 1
    auc = None
    scores = [r.score for r in results]
    if all(s is not None for s in scores) and 0 < sum(crisis) < len(crisis):
        from sklearn.metrics import roc_auc_score

        auc = float(roc_auc_score(crisis, scores))
    return ScreenFigures(
        n=len(examples),
        n_crisis=sum(crisis),
        crisis_flagged=sum(f and c for f, c in zip(flags, crisis, strict=True)),
        n_imminent=sum(e.severity == "imminent" for e in examples),
        imminent_flagged=sum(f and e.severity == "imminent" for f, e in zip(flags, examples, strict=True)),
        flagged=sum(flags),
        flagged_risk=sum(f and e.severity != "none" for f, e in zip(flags, examples, strict=True)),
        auc=auc,
        by_lang=by_lang,
        missed_kinds=dict(missed.most_common()),
        false_alarm_kinds=dict(false.most_common()),
    )
