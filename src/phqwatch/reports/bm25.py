"""Okapi BM25 over a small in-memory corpus, with a light tokenizer (lower-case, stop words, suffix strip).

Small on purpose: the criteria knowledge base has a few dozen entries, so a dense index or an external
search library would add weight without adding accuracy.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

STOP_WORDS = frozenset(
    """a about after again all also am an and any are as at be been before being but by can could did do does
    doing don't for from had has have having he her here him his how i i'm i've if in into is it it's its just
    me more most my myself no nor not of off on once only or other our out over own so some such than that the
    their them then there these they this those through to too under until up very was we were what when where
    which while who why will with would you your really lately still even much many every""".split()
)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SUFFIXES = ("ness", "ingly", "ing", "edly", "ed", "ies", "es", "ly", "s")


def stem(word: str) -> str:
    """Strip one common English suffix, keeping at least a 3-letter stem ("sleeping" -> "sleep")."""
    for suf in _SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            base = word[: -len(suf)]
            if suf == "ies":
                return base + "y"
            if suf in ("ing", "ed") and len(base) > 3 and base[-1] == base[-2]:  # "stopped" -> "stop"
                base = base[:-1]
            return base
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed tokens."""
    out = []
    for w in _WORD.findall(text.lower().replace("\u2019", "'")):
        if w in STOP_WORDS:
            continue
        w = w.split("'")[0]
        if len(w) > 1 and w not in STOP_WORDS:
            out.append(stem(w))
    return out


class BM25:
    """Okapi BM25 (Robertson et al.) with the usual k1 and b; idf floored at a small positive value."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.5, b: float = 0.75) -> None:
        if not documents:
            raise ValueError("BM25 needs at least one document.")
        self.k1, self.b = k1, b
        self.doc_tf = [Counter(d) for d in documents]
        self.doc_len = [len(d) for d in documents]
        self.avgdl = sum(self.doc_len) / len(documents) or 1.0
        df: Counter[str] = Counter()
        for tf in self.doc_tf:
            df.update(tf.keys())
        n = len(documents)
        self.idf = {t: max(0.01, math.log((n - f + 0.5) / (f + 0.5) + 1.0)) for t, f in df.items()}

    def scores(self, query: Sequence[str]) -> list[float]:
        """BM25 score of every document for the query tokens (repeated query tokens count once)."""
        terms = [t for t in dict.fromkeys(query) if t in self.idf]
        out = []
        for tf, dl in zip(self.doc_tf, self.doc_len, strict=True):
            s = 0.0
            norm = self.k1 * (1.0 - self.b + self.b * dl / self.avgdl)
            for t in terms:
                f = tf.get(t, 0)
                if f:
                    s += self.idf[t] * f * (self.k1 + 1.0) / (f + norm)
            out.append(s)
        return out
