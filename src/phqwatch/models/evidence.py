"""Item evidence: for each PHQ-9 item, the sentences of a text that match its symptom lexicon most strongly.

Sentences are split on end punctuation and line breaks. Each sentence is scored per item by the summed
weights of the lexicon phrases it contains (longest match first, 1-4 words). Crude negation: a symptom
phrase preceded within three tokens by a negator ("not", "never", "don't" ...) counts -0.5x its weight
unless the phrase itself carries the negation ("can't sleep"); phrases that state health ("i sleep fine")
count against the item. Only sentences scoring >= `MIN_SCORE` are returned, strongest first.
"""

from __future__ import annotations

import re
from functools import lru_cache

from phqwatch.models import lexicons as lx
from phqwatch.models.turns import strip_assistant

_SENT = re.compile(r"[^.!?\n\r]+(?:[.!?]+|$)", re.MULTILINE)
_MAX_N = 4
_NEG_WINDOW = 3
#: A sentence needs at least this score (one clear phrase, or two weak cues) to count as evidence.
MIN_SCORE = 0.75


def split_sentences(text: str) -> list[str]:
    """Sentences (stripped, non-empty) in text order; each is a verbatim substring of `text`."""
    return [m.group(0).strip() for m in _SENT.finditer(text) if m.group(0).strip()]


@lru_cache(maxsize=1)
def _lookup() -> tuple[dict[tuple[str, ...], list[tuple[int, float]]], dict[str, int]]:
    """(phrase -> [(item, weight)], first token -> longest phrase length starting with it)."""
    table: dict[tuple[str, ...], list[tuple[int, float]]] = {}
    longest: dict[str, int] = {}
    for item, terms in lx.compiled_terms().items():
        for gram, w in terms.items():
            if len(gram) > _MAX_N:
                continue
            table.setdefault(gram, []).append((item, w))
            longest[gram[0]] = max(longest.get(gram[0], 0), len(gram))
    return table, longest


def sentence_scores(tokens: list[str]) -> dict[int, float]:
    """Item number -> lexicon score of one tokenised sentence (may be negative)."""
    table, longest = _lookup()
    scores: dict[int, float] = {}
    i = 0
    n = len(tokens)
    while i < n:
        top = longest.get(tokens[i], 0)
        step = 1
        for size in range(min(top, n - i), 0, -1):
            hits = table.get(tuple(tokens[i : i + size]))
            if not hits:
                continue
            negated = tokens[i] not in lx.NEGATORS and any(
                t in lx.NEGATORS for t in tokens[max(0, i - _NEG_WINDOW) : i]
            )
            for item, w in hits:
                if w > 0 and negated:
                    w = -0.5 * w
                scores[item] = scores.get(item, 0.0) + w
            step = size
            break
        i += step
    return scores


@lru_cache(maxsize=1)
def _first_words() -> re.Pattern[str]:
    """Matches any word that can start a lexicon phrase (a cheap C-level pre-filter for sentences)."""
    _, longest = _lookup()
    alts = sorted((re.escape(w) for w in longest), key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9'])(?:" + "|".join(alts) + r")(?![a-z0-9'])")


_SCORE_CACHE: dict[str, dict[int, float]] = {}


def _scores_of(sentence: str) -> dict[int, float]:
    low = sentence.lower().replace("\u2019", "'")
    if not _first_words().search(low):
        return {}
    hit = _SCORE_CACHE.get(low)
    if hit is None:
        if len(_SCORE_CACHE) > 200_000:
            _SCORE_CACHE.clear()
        hit = sentence_scores(lx.tokenize(low))
        _SCORE_CACHE[low] = hit
    return hit


def item_evidence(text: str, k: int = 3) -> dict[int, list[str]]:
    """Item number (1-9) -> up to `k` sentences of `text` that matched that item most strongly (user turns only)."""
    text = strip_assistant(text)
    ranked: dict[int, list[tuple[float, int, str]]] = {i: [] for i in range(1, 10)}
    seen: set[str] = set()
    for pos, sent in enumerate(split_sentences(text)):
        if sent in seen:
            continue
        seen.add(sent)
        for item, score in _scores_of(sent).items():
            if score >= MIN_SCORE:
                ranked[item].append((-score, pos, sent))
    return {item: [s for _, _, s in sorted(rows)[:k]] for item, rows in ranked.items()}
