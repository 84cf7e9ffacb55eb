"""The literal prefilter: a rule's regex runs only when the message holds a literal from each of its (up
to two) most selective necessary literal sets; one trie-shaped regex scan per message finds those literals."""

from __future__ import annotations

import re
import re._constants as _sc  # the regex parser ships with CPython (sre_parse before 3.11)
import re._parser as _sp
from collections.abc import Iterable

_COMMON_WORDS = tuple(
    """the be to of and a in that have i it for not on with he as you do at this but his by from they we say her
    she or an will my one all would there their what so up out if about who get which go me when make can like
    time no just him know take people into year your good some could them see other than then now look only come
    its over think also back after use two how our work first well way even new want because any these give day
    most us going thing things really feel friend friends weekend today tonight night morning home school week
    plan busy talk call phone family sleep tired money job happy sad okay need keep start again still down off
    end life read write love hate tell said went got had was were been being am is are did""".split()
)


def commonness(lits: set[str]) -> tuple[int, int, int]:
    """Sort key for a candidate literal set: lower is a more selective prefilter."""
    hits = sum(lit in w for lit in lits for w in _COMMON_WORDS)
    return hits, -min(len(x) for x in lits), len(lits)


def required(items: _sp.SubPattern | list) -> set[str] | None:
    """Literal strings one of which every match of this parsed pattern must contain (None: unknown): the most
    selective of ``necessary(items)``."""
    sets = necessary(items)
    return min(sets, key=commonness) if sets else None


def necessary(items: _sp.SubPattern | list) -> list[set[str]]:
    """Literal sets, one per necessary part of this parsed pattern: every match contains a literal of each.

    Used as a prefilter: a rule for which some set has no literal in a message cannot match it, so its regex
    is not run. Conservative: parts it cannot reason about give no set (always run the regex).
    """
    cands: list[set[str] | None] = []
    run = ""
    for op, av in items:
        if op is _sc.LITERAL:
            run += chr(av)
            continue
        if run:
            cands.append({run})
            run = ""
        if op is _sc.SUBPATTERN:
            cands.append(required(av[-1]))
        elif op is _sc.BRANCH:
            alts = [required(a) for a in av[1]]
            known = [a for a in alts if a is not None]
            cands.append(set[str]().union(*known) if len(known) == len(alts) else None)
        elif op in (_sc.MAX_REPEAT, _sc.MIN_REPEAT) and av[0] >= 1:
            cands.append(required(av[2]))
        else:
            cands.append(None)
    if run:
        cands.append({run})
    return [c for c in cands if c]


def trie_pattern(words: Iterable[str]) -> str:
    """A regex alternation of ``words`` shaped as a trie (fast to try at every position); longest match first."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return "(?:" + body + ")?" if "" in node else body

    return emit(trie)


def has_upper_literal(items: _sp.SubPattern | list) -> bool:
    for op, av in items:
        if op is _sc.LITERAL and chr(av) != chr(av).lower():
            return True
        if op is _sc.SUBPATTERN and has_upper_literal(av[-1]):
            return True
        if op is _sc.BRANCH and any(has_upper_literal(a) for a in av[1]):
            return True
        if op in (_sc.MAX_REPEAT, _sc.MIN_REPEAT) and has_upper_literal(av[2]):
            return True
        if op in (_sc.ASSERT, _sc.ASSERT_NOT) and has_upper_literal(av[1]):
            return True
    return False
