"""The pattern detector: precompiled rules over normalised text, each raw match judged by the filters.

Precise and explainable, no training. ``RuleScreen(RuleConfig()).screen(text) -> RuleResult``; spans and
excerpts index the original text. Pure, no I/O, no logging of text.
"""

from __future__ import annotations

import re
import re._parser as _sp
from dataclasses import dataclass, field
from functools import lru_cache

from phqwatch.errors import ConfigError
from phqwatch.safety.filters import FILTERS, judge
from phqwatch.safety.gate import commonness, has_upper_literal, necessary, trie_pattern
from phqwatch.safety.normalise import Normalised, normalise
from phqwatch.safety.rules import DEFAULT_RULES
from phqwatch.safety.types import SEVERITY_ORDER, Match, Rule, RuleResult, Severity, Suppressed

__all__ = ["RuleConfig", "RuleScreen", "default_rules"]


@dataclass(frozen=True)
class RuleConfig:
    """What the rules match. ``extra_rules`` are added to the defaults; ``disabled_rules`` names rules to
    drop; ``disabled_filters`` names context filters to turn off (see FILTERS; fewer filters = more hits)."""

    extra_rules: tuple[Rule, ...] = ()
    disabled_rules: frozenset[str] = frozenset()
    disabled_filters: frozenset[str] = frozenset()
    excerpt_chars: int = 60
    rules: tuple[Rule, ...] = field(default=DEFAULT_RULES, repr=False)

    def __post_init__(self) -> None:
        names = {r.name for r in self.rules} | {r.name for r in self.extra_rules}
        unknown = set(self.disabled_rules) - names
        if unknown:
            raise ConfigError(
                f"disabled_rules names unknown rules {sorted(unknown)}.",
                fix=f"Use names from phqwatch.safety.rules.DEFAULT_RULES or extra_rules ({len(names)} known).",
            )
        bad = set(self.disabled_filters) - set(FILTERS)
        if bad:
            raise ConfigError(f"disabled_filters has unknown filters {sorted(bad)}.", fix=f"Use some of {FILTERS}.")
        for r in self.extra_rules:
            if r.severity not in ("review", "high", "urgent", "imminent"):
                raise ConfigError(
                    f"extra rule {r.name!r} has severity {r.severity!r}.",
                    fix="Use 'review', 'high', 'urgent' or 'imminent'.",
                )


class RuleScreen:
    """Compiled rules. Build once (rules compile at construction) and call ``screen`` per message."""

    def __init__(self, config: RuleConfig | None = None) -> None:
        self.config = config or RuleConfig()
        rules = [r for r in (*self.config.rules, *self.config.extra_rules) if r.name not in self.config.disabled_rules]
        # Per rule: up to two literal sets (the most selective); the regex runs only if each set has a literal
        # in the message.
        self._rules: list[tuple[Rule, re.Pattern[str], tuple[frozenset[str], ...]]] = []
        for r in rules:
            try:
                # Text is lowercased before matching, so lowercase patterns need no IGNORECASE (much faster).
                parsed = _sp.parse(r.pattern)
                flags = re.I if has_upper_literal(parsed) else 0
                chosen = [] if flags else sorted(necessary(parsed), key=commonness)[:2]
                self._rules.append((r, re.compile(r.pattern, flags), tuple(frozenset(c) for c in chosen)))
            except re.error as exc:
                raise ConfigError(
                    f"safety rule {r.name!r} has an invalid regular expression: {exc}.",
                    fix="Fix the pattern (Python `re` syntax, matched against lower-case text).",
                ) from exc
        self._off = self.config.disabled_filters
        # One scan per message finds every gate literal it holds (a trie regex tried at each position gives the
        # longest literal starting there; the literals that are prefixes of it start there too). Each literal
        # maps to the (rule, set) pairs it satisfies; a rule runs when all its sets are satisfied.
        literals = sorted({lit for _, _, sets in self._rules for c in sets for lit in c})
        self._literal_rx = re.compile("(?=(" + trie_pattern(literals) + "))") if literals else None
        self._prefixes = {m: tuple(lit for lit in literals if m.startswith(lit)) for m in literals}
        index: dict[str, list[tuple[int, int]]] = {}
        for i, (_, _, sets) in enumerate(self._rules):
            for j, c in enumerate(sets):
                for lit in c:
                    index.setdefault(lit, []).append((i, 1 << j))
        self._literal_rules = {k: tuple(v) for k, v in index.items()}
        self._full_mask = [(1 << len(sets)) - 1 for _, _, sets in self._rules]
        self._ungated = [i for i, (_, _, sets) in enumerate(self._rules) if not sets]

    def _candidates(self, norm: str) -> list[int]:
        """Indices of the rules whose every literal set has a literal in ``norm`` (plus ungated rules)."""
        if self._literal_rx is None:
            return list(range(len(self._rules)))
        masks: dict[int, int] = {}
        seen: set[str] = set()
        for longest in self._literal_rx.findall(norm):
            for lit in self._prefixes[longest]:
                if lit in seen:
                    continue
                seen.add(lit)
                for i, bit in self._literal_rules[lit]:
                    masks[i] = masks.get(i, 0) | bit
        full = self._full_mask
        return sorted([i for i, mask in masks.items() if mask == full[i]] + self._ungated)

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(r.name for r, _, _ in self._rules)

    def screen(self, text: str | Normalised, *, gate: bool = True) -> RuleResult:
        """Screen one message (raw text or already normalised). ``gate=False`` skips the literal prefilter
        (for benchmarks and tests only)."""
        if not text or not self._rules:
            return RuleResult(False, "none")
        norm = text if isinstance(text, Normalised) else normalise(text)
        low = norm.text
        matches: list[Match] = []
        suppressed: list[Suppressed] = []
        rules = self._rules
        for idx in self._candidates(low) if gate else range(len(rules)):
            rule, rx, _ = rules[idx]
            for m in rx.finditer(low):
                span = norm.span(m.start(), m.end())
                reason, note = judge(low, m.start(), m.end(), rule, self._off)
                if reason is not None:
                    suppressed.append(Suppressed(span, rule.name, reason))
                    continue
                sev: Severity = "review" if note else rule.severity
                excerpt = self._excerpt(norm.original, *span)
                matches.append(Match(span, excerpt, rule.name, rule.category, sev, note))
        matches = _dedupe(matches)
        if not matches:
            return RuleResult(False, "none", (), tuple(suppressed))
        top = max(matches, key=lambda x: SEVERITY_ORDER[x.severity]).severity
        return RuleResult(True, top, tuple(matches), tuple(suppressed))

    def _excerpt(self, text: str, start: int, end: int) -> str:
        n = self.config.excerpt_chars
        a, b = max(0, start - n), min(len(text), end + n)
        if a > 0:
            sp = text.find(" ", a, start)
            a = sp + 1 if sp != -1 else a
        if b < len(text):
            sp = text.rfind(" ", end, b)
            b = sp if sp != -1 else b
        return ("…" if a > 0 else "") + " ".join(text[a:b].split()) + ("…" if b < len(text) else "")


def _dedupe(matches: list[Match]) -> list[Match]:
    """Drop a match whose span lies inside another match of at least the same severity."""
    keep: list[Match] = []
    for i, m in enumerate(matches):
        inside = any(
            j != i
            and o.span[0] <= m.span[0]
            and m.span[1] <= o.span[1]
            and (o.span != m.span or j < i)
            and SEVERITY_ORDER[o.severity] >= SEVERITY_ORDER[m.severity]
            for j, o in enumerate(matches)
        )
        if not inside:
            keep.append(m)
    return sorted(keep, key=lambda m: m.span)


@lru_cache(maxsize=1)
def default_rules() -> RuleScreen:
    """The default rules, compiled once per process."""
    return RuleScreen()
