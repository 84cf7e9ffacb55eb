"""Features of the learned risk model: hashed character and word n-grams of the normalised message, plus
tokens from its conversation context (the question it answers, the user's preceding fragments).

Stateless hashing (MurmurHash3, as scikit-learn's ``FeatureHasher``), so a model folder stores only an IDF vector and
weights. Context tokens are prefixed ("q:" for the assistant's last turn when it asks about risk, "u:" for the user's
preceding fragments) and crossed with the first words of a short reply ("x:yes") so that a linear model can
tell "yes" to "are you thinking of ending your life?" from "yes" to "did you manage the walk?" (which gets
one "q:OTHER" token, never the everyday question's words).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from phqwatch.safety.context import Turn, asks_about_risk, preceding_fragments
from phqwatch.safety.normalise import normalise
from phqwatch.safety.types import RuleResult

__all__ = ["FeatureSpec", "Featuriser"]

_WORD = re.compile(r"[a-z0-9']+|[\u3400-\u9fff]")


@dataclass(frozen=True)
class FeatureSpec:
    """Hyperparameters of the featuriser (stored in the model folder's config)."""

    #: Character 2- to 5-grams: single characters carried noise (apostrophes, spaces) into the risk score.
    char_ngram: tuple[int, int] = (2, 5)
    #: Word 1-3-grams: trigrams lowered false alarms on everyday talk at the same recall (leave-one-writer-out).
    word_ngram: tuple[int, int] = (1, 3)
    char_bits: int = 18
    word_bits: int = 17
    context: bool = True
    short_reply_words: int = 8
    negation: bool = True  # words in a negator's scope also appear as "neg:<word>"
    rule_tokens: bool = True  # the pattern rules' hits and suppressions ("rule:<id>", "sup:negated")
    #: A short reply to a question that is not about risk gets one token saying so ("q:OTHER"), never the
    #: question's words: "yeah 20 min" to "did you manage the walk?" is not an answer to a risk question.
    other_question: bool = True

    @property
    def n_features(self) -> int:
        return 2**self.char_bits + 2**self.word_bits

    def to_json(self) -> dict:
        return {
            "char_ngram": list(self.char_ngram),
            "word_ngram": list(self.word_ngram),
            "char_bits": self.char_bits,
            "word_bits": self.word_bits,
            "context": self.context,
            "short_reply_words": self.short_reply_words,
            "negation": self.negation,
            "rule_tokens": self.rule_tokens,
            "other_question": self.other_question,
        }

    @classmethod
    def from_json(cls, d: dict) -> FeatureSpec:
        return cls(
            char_ngram=tuple(d["char_ngram"]),
            word_ngram=tuple(d["word_ngram"]),
            char_bits=int(d["char_bits"]),
            word_bits=int(d["word_bits"]),
            context=bool(d["context"]),
            short_reply_words=int(d["short_reply_words"]),
            negation=bool(d.get("negation", False)),
            rule_tokens=bool(d.get("rule_tokens", False)),
            other_question=bool(d.get("other_question", False)),
        )


_NEGATOR = re.compile(
    r"^(?:not|no|never|nothing|nobody|none|nor|cannot|can't|cant|don't|dont|won't|wont|didn't|didnt|isn't|isnt|"
    r"wasn't|wasnt|wouldn't|wouldnt|couldn't|couldnt|shouldn't|shouldnt|haven't|havent|hasn't|hasnt|aren't|arent|"
    r"ain't|aint|nah|nope|不|没|没有|别|未|绝不|从不)$"
)
_SCOPE_END = re.compile(r"[.,;:!?\n]|\b(?:but|though|although|however|yet|except)\b|[，。；！？但是可是]")
_SUBJECT = {"i", "i'm", "im", "i've", "ive", "i'll", "i'd", "you", "he", "she", "we", "they", "我", "他", "她"}


def _negated(text: str) -> list[str]:
    """Words inside a negator's scope (to the clause end or a new subject), marked "neg:" - so that "never
    hurt myself" and "hurt myself" are different features."""
    out: list[str] = []
    for clause in _SCOPE_END.split(text):
        words = _WORD.findall(clause)
        scope = 0
        for w in words:
            if _NEGATOR.match(w):
                scope = 4
                continue
            if scope and w in _SUBJECT:
                scope = 0
            if scope:
                out.append("neg:" + w)
                scope -= 1
    return out


def _rule_tokens(text: str, r: RuleResult | None = None) -> list[str]:
    """The pattern rules' view of the message: which rules fired (and at what severity) and which matches
    the filters suppressed, and why. ``r``: the rules' result when the caller already has it."""
    if r is None:
        from phqwatch.safety.rule_screen import default_rules

        r = default_rules().screen(text)
    out = [f"rule:{m.rule}" for m in r.matches] + [f"rulesev:{m.severity}" for m in r.matches]
    out += [f"sup:{x.reason}" for x in r.suppressed] + [f"sup:{x.rule}" for x in r.suppressed]
    return out


class Featuriser:
    """Messages (with their context) -> a sparse matrix of raw term counts."""

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec

    @cached_property
    def _char_ngrams(self) -> Callable[[str], list[str]]:
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(analyzer="char_wb", ngram_range=self.spec.char_ngram, lowercase=False).build_analyzer()

    def word_tokens(self, text: str, context: Sequence[Turn] = (), rules: RuleResult | None = None) -> list[str]:
        words = _WORD.findall(text)
        lo, hi = self.spec.word_ngram
        out = [" ".join(words[i : i + n]) for n in range(lo, hi + 1) for i in range(len(words) - n + 1)]
        if self.spec.negation:
            out.extend(_negated(text))
        if self.spec.rule_tokens:
            out.extend(_rule_tokens(text, rules))
        # Context is read only for short messages (a reply, a fragment): a long message stands on its own.
        # The question is read only when it asks about risk: the wording of everyday check-in questions
        # ("what would you like to talk about?") must not colour a short everyday answer ("my job").
        if self.spec.context and context and len(words) <= self.spec.short_reply_words:
            question = next((t.text for t in reversed(context) if t.role == "assistant"), None)
            q = normalise(question).text if question is not None else ""
            if q and asks_about_risk(q):
                out.extend("q:" + w for w in _WORD.findall(q))
                out.append("q:RISK")
                out.extend("x:" + w for w in words[:4])
                out.append("x:" + " ".join(words[:2]))
            elif q and self.spec.other_question:
                out.append("q:OTHER")
            for frag in preceding_fragments(context):
                out.extend("u:" + w for w in _WORD.findall(normalise(frag).text))
        return out

    def tokens(self, text: str, context: Sequence[Turn] = (), rules: RuleResult | None = None) -> list[str]:
        """Every feature of one normalised message: character n-grams, then word tokens ("w:" prefixed)."""
        return [*self._char_ngrams(text), *("w:" + t for t in self.word_tokens(text, context, rules))]

    def transform(
        self,
        texts: Sequence[str],
        contexts: Sequence[Sequence[Turn]] | None = None,
        rules: Sequence[RuleResult] | None = None,
    ) -> sp.csr_matrix:
        """Raw counts for each message and its context, all features hashed into one space."""
        norm = [normalise(t).text for t in texts]
        ctx = contexts if contexts is not None else [()] * len(texts)
        found: Sequence[RuleResult | None] = rules if rules is not None else [None] * len(texts)
        docs = [self.tokens(t, c, r) for t, c, r in zip(norm, ctx, found, strict=True)]
        return _hash(docs, self.spec.n_features)


def _hash(docs: list[list[str]], n_features: int) -> sp.csr_matrix:
    """Signed-free feature hashing (MurmurHash3, seed 0, as scikit-learn's FeatureHasher) of token lists."""
    try:  # the Cython kernel behind FeatureHasher, without its per-call validation (most of the cost here)
        from sklearn.feature_extraction._hashing_fast import transform as hashing_transform
    except ImportError:  # pragma: no cover - a future scikit-learn may move it
        from sklearn.feature_extraction import FeatureHasher

        x = FeatureHasher(n_features=n_features, input_type="string", alternate_sign=False, dtype=np.float32)
        return sp.csr_matrix(x.transform(docs), dtype=np.float32)
    indices, indptr, values = hashing_transform(
        (((t, 1) for t in doc) for doc in docs), n_features, np.float32, False, seed=0
    )
    x = sp.csr_matrix((values, indices, indptr), shape=(len(docs), n_features), dtype=np.float32)
    x.sum_duplicates()
    return x
