"""The symptom model ("symptom-similarity"): PHQ-9 item evidence read sentence by sentence.

Every user sentence is read (long ones in windows, never cut off; see `models.turns`). Each unit is
compared with the first-person paraphrases of each PHQ-9 item in ``symptom_items.json`` (versioned, English
and Chinese) by a sentence encoder from local files (`models.encoders`):

    unit score for item k = max cosine to item k's symptom lines - `contrast` x max cosine to its healthy lines

so "I slept well" does not count as a sleep complaint. A short reply ("yes", "not really") is scored by the
question it answers: its affirmation (0-1) times the score a clear symptom statement gets, spread over the
items the question is about (a softmax of the question's similarity to each item); the question's words are
never read as the user's. Per item, the units are pooled with a top-k mean (padded with the item's typical
unit score when a user has fewer than k units), so a longer history does not inflate the score the way a sum
would. Each item is standardised against the reference texts seen in `fit` (no labels), and the item
strengths (softplus of the z-scores) are summed with equal weights: the latent needs no labelled training.
`fit` also learns, from labels, only the monotone map of that latent onto 0-27 (with `sources`: the anchor
set's class shares placed at its weak PHQ-9 band edges, as lexical-ridge does; without: a least-squares
line). Item scores are the total spread in proportion to each item's evidence above the typical reference user
(max(z, 0); 0-3 each; they sum to the total unless the items with evidence saturate at 3, the rest resting on
the text as a whole), and the quotes for an item are the units behind its pooled score, given only for items
scored >= 0.5: an item without evidence scores 0 and has no quote, so items and evidence never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from phqwatch.config import DEFAULT_MIN_WORDS
from phqwatch.errors import InputError, ModelFormatError
from phqwatch.models.base import PHQ9Estimator
from phqwatch.models.encoders import SentenceEncoder, get_encoder
from phqwatch.models.turns import Unit, user_units

ITEMS_FILE = Path(__file__).resolve().parent / "symptom_items.json"
N_ITEMS = 9


@lru_cache(maxsize=4)
def load_items(path: str = str(ITEMS_FILE)) -> dict[str, Any]:
    """The paraphrase file (version, items 1-9 with symptom/healthy lines per language, short answers)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if sorted(data.get("items", {}), key=int) != [str(i) for i in range(1, N_ITEMS + 1)]:
        raise ModelFormatError(f"{path} must define items 1-9.", fix="Restore symptom_items.json.")
    return data


@dataclass(slots=True)
class Reading:
    """One batch read at unit level: per text, its units and their (n_units, 9) item scores."""

    units: list[list[Unit]]
    scores: list[np.ndarray]


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


class Paraphrases:
    """The paraphrase lines embedded once by one encoder, and the unit scoring against them."""

    def __init__(self, encoder: SentenceEncoder, contrast: float, question_temperature: float = 0.03) -> None:
        data = load_items()
        self.version = str(data["version"])
        langs = encoder.languages
        sym, hea, sym_item, hea_item = [], [], [], []
        for k in range(1, N_ITEMS + 1):
            item = data["items"][str(k)]
            for lang in langs:
                lines = item["symptom"].get(lang, [])
                sym += lines
                sym_item += [k - 1] * len(lines)
                lines = item["healthy"].get(lang, [])
                hea += lines
                hea_item += [k - 1] * len(lines)
        self.encoder = encoder
        self.contrast = contrast
        self.temperature = question_temperature
        self.P = encoder.encode(sym)
        self.H = encoder.encode(hea)
        self.p_item = np.asarray(sym_item)
        self.h_item = np.asarray(hea_item)
        answers = data.get("short_answers", {})
        self.answers = {a: float(v) for lang in langs for a, v in answers.get(lang, {}).items()}
        self.short_max_words = int(answers.get("max_words", 4))
        # a clear symptom statement's score: each line against the other lines of its item
        self.strong = np.zeros(N_ITEMS)
        sp = self.P @ self.P.T
        np.fill_diagonal(sp, -np.inf)
        s_line = self._item_scores(self.P, exclude_self=sp)
        for k in range(N_ITEMS):
            rows = self.p_item == k
            self.strong[k] = float(np.median(s_line[rows, k])) if rows.any() else 0.0

    def _item_max(self, sims: np.ndarray, item_of: np.ndarray) -> np.ndarray:
        out = np.full((sims.shape[0], N_ITEMS), -1.0)
        for k in range(N_ITEMS):
            cols = item_of == k
            if cols.any():
                out[:, k] = sims[:, cols].max(axis=1)
        return out

    def _item_scores(self, E: np.ndarray, exclude_self: np.ndarray | None = None) -> np.ndarray:
        ps = E @ self.P.T if exclude_self is None else exclude_self
        s = self._item_max(ps, self.p_item)
        if self.contrast and len(self.H):
            s = s - self.contrast * self._item_max(E @ self.H.T, self.h_item)
        return s

    def relevance(self, E: np.ndarray) -> np.ndarray:
        """(n, 9) softmax over items of each row's similarity to the items' symptom lines (what it asks about)."""
        r = self._item_max(E @ self.P.T, self.p_item) / self.temperature
        r = np.exp(r - r.max(axis=1, keepdims=True))
        return r / r.sum(axis=1, keepdims=True)

    def read(self, texts: list[str], max_words: int) -> Reading:
        units = [
            user_units(t, answers=self.answers, max_words=max_words, short_max_words=self.short_max_words)
            for t in texts
        ]
        plain = [u.text for us in units for u in us if u.question is None]
        asked = [u.question for us in units for u in us if u.question is not None]
        uniq = list(dict.fromkeys(plain))
        index = {t: i for i, t in enumerate(uniq)}
        S = self._item_scores(self.encoder.encode(uniq)) if uniq else np.zeros((0, N_ITEMS))
        quniq = list(dict.fromkeys(asked))
        qindex = {t: i for i, t in enumerate(quniq)}
        R = self.relevance(self.encoder.encode(quniq)) if quniq else np.zeros((0, N_ITEMS))
        scores = []
        for us in units:
            rows = np.zeros((len(us), N_ITEMS))
            for j, u in enumerate(us):
                if u.question is None:
                    rows[j] = S[index[u.text]]
                else:
                    rows[j] = u.affirm * R[qindex[u.question]] * self.strong
            scores.append(rows)
        return Reading(units, scores)


def pool_top_k(scores: np.ndarray, k: int, pad: np.ndarray) -> np.ndarray:
    """Per item, the mean of the k highest unit scores; users with < k units are padded with `pad`."""
    n = scores.shape[0]
    if n < k:
        scores = np.vstack([scores, np.tile(pad, (k - n, 1))])
    top = -np.sort(-scores, axis=0)[:k]
    return top.mean(axis=0)


class SymptomEstimator(PHQ9Estimator):
    """Sentence-level PHQ-9 item similarity with a length-robust pool; only the 0-27 map is learned."""

    name: ClassVar[str] = "symptom-similarity"
    has_items: ClassVar[bool] = True
    supports_sources: ClassVar[bool] = True

    def __init__(
        self,
        *,
        min_words: int = DEFAULT_MIN_WORDS,
        coverage: float = 0.8,
        encoder: str = "wordllama",
        contrast: float = 0.5,
        top_k: int = 3,
        max_words: int = 48,
        fit_sample: int = 3000,
        anchor_source: str = "depseverity",
        item_floor: float = 0.0,
        random_state: int = 0,
    ) -> None:
        super().__init__(min_words=min_words, coverage=coverage)
        self.encoder = encoder
        self.contrast = contrast
        self.top_k = top_k
        self.max_words = max_words
        self.fit_sample = fit_sample
        self.anchor_source = anchor_source
        self.item_floor = item_floor
        self.random_state = random_state

    # ---- reading -----------------------------------------------------------------------------
    def _paraphrases(self) -> Paraphrases:
        cached = getattr(self, "_para", None)
        if cached is None or cached.encoder.spec != self.encoder or cached.contrast != self.contrast:
            cached = Paraphrases(get_encoder(self.encoder), self.contrast)
            self._para = cached
        return cached

    def read(self, texts: list[str]) -> Reading:
        """Units and their item scores (cached for the last batch, so estimate() reads once)."""
        last = getattr(self, "_reading", None)
        if last is not None and last[0] == texts:
            return last[1]
        reading = self._paraphrases().read(texts, self.max_words)
        self._reading = (list(texts), reading, {t: i for i, t in enumerate(texts)})
        return reading

    def _read_one(self, text: str) -> Reading:
        last = getattr(self, "_reading", None)
        if last is not None and text in last[2]:
            i = last[2][text]
            return Reading([last[1].units[i]], [last[1].scores[i]])
        return self._paraphrases().read([text], self.max_words)

    def pooled(self, reading: Reading, pad: np.ndarray | None = None) -> np.ndarray:
        pad = self.unit_median_ if pad is None else pad
        return (
            np.vstack([pool_top_k(s, self.top_k, pad) for s in reading.scores])
            if reading.scores
            else (np.zeros((0, N_ITEMS)))
        )

    def item_z(self, texts: list[str]) -> np.ndarray:
        """(n, 9) each item's pooled score standardised against the reference texts."""
        self._check_fitted()
        return (self.pooled(self.read(list(texts))) - self.item_mean_) / self.item_std_

    def item_strength(self, texts: list[str]) -> np.ndarray:
        """(n, 9) item strengths > 0: softplus of the standardised pooled scores (the latent's terms)."""
        return _softplus(self.item_z(texts))

    def item_share(self, texts: list[str]) -> np.ndarray:
        """(n, 9) evidence above the typical reference user (max(z, 0)): how the total is spread over items."""
        return np.maximum(self.item_z(texts), 0.0)

    def predict_latent(self, X: list[str]) -> np.ndarray:
        """The untrained symptom latent: the sum of the nine item strengths."""
        return self.item_strength(list(X)).sum(axis=1)

    # ---- training ----------------------------------------------------------------------------
    def _sample(self, n: int, sources: list[str] | None) -> np.ndarray:
        if n <= self.fit_sample:
            return np.arange(n)
        rng = np.random.default_rng(self.random_state)
        if sources is None:
            return np.sort(rng.choice(n, self.fit_sample, replace=False))
        src = np.asarray(sources)
        names = list(dict.fromkeys(sources))
        per = max(1, self.fit_sample // len(names))
        out = [rng.choice(np.flatnonzero(src == s), min(per, int((src == s).sum())), replace=False) for s in names]
        return np.sort(np.concatenate(out))

    def _fit(self, texts: list[str], y: np.ndarray, sources: list[str] | None) -> None:
        if sources is not None and len(sources) != len(texts):
            raise InputError(f"sources has {len(sources)} entries for {len(texts)} texts", fix="Align sources with X.")
        para = self._paraphrases()
        self.items_version_ = para.version
        idx = self._sample(len(texts), sources)
        reading = para.read([texts[i] for i in idx], self.max_words)
        units = np.vstack([s for s in reading.scores if len(s)] or [np.zeros((1, N_ITEMS))])
        self.unit_median_ = np.median(units, axis=0)
        pooled = self.pooled(reading)
        self.item_mean_ = pooled.mean(axis=0)
        self.item_std_ = pooled.std(axis=0) + 1e-6
        latent = _softplus((pooled - self.item_mean_) / self.item_std_).sum(axis=1)
        self.fitted_ = True  # the latent is label-free; only the 0-27 map below uses y
        self.scale_ = fit_scale(
            latent, y[idx], None if sources is None else [sources[i] for i in idx], self.anchor_source
        )

    # ---- prediction --------------------------------------------------------------------------
    def _predict(self, texts: list[str]) -> np.ndarray:
        return apply_scale(self.scale_, self.predict_latent(texts))

    def predict_items(self, X: Sequence[str]) -> np.ndarray:
        from phqwatch.models.cpu import spread_items

        total = np.clip(self.predict(list(X)), 0, 27)
        return spread_items(total, self.item_share(list(X)), self.item_floor)

    def evidence(self, text: str, items: Any = None, k: int = 3) -> dict[int, list[str]]:
        """Item -> the units that drove its score (its top units above a typical sentence), for scored items."""
        self._check_fitted()
        if items is None:
            items = np.where(self.item_share([text])[0] > 0, 1.0, 0.0)
        return unit_evidence(self._read_one(text), self.unit_median_, items, k)

    def read_stats(self, texts: list[str]) -> dict[str, Any]:
        """Tokens each user had and how many the encoder read (all of them: units are windowed, not cut)."""
        enc = self._paraphrases().encoder
        before_read, before_cut = enc.tokens_read, enc.truncated
        reading = self._paraphrases().read(list(texts), self.max_words)
        return {
            "tokens_per_user": [enc.count_tokens([u.text for u in us]) for us in reading.units],
            "units_per_user": [len(u) for u in reading.units],
            "tokens_read_new": enc.tokens_read - before_read,
            "units_truncated": enc.truncated - before_cut,
        }

    # ---- persistence -------------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {
            "unit_median": self.unit_median_,
            "item_mean": self.item_mean_,
            "item_std": self.item_std_,
        }
        return {"items_version_": self.items_version_, "scale_": self.scale_}, {
            k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()
        }

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path) -> None:
        version = load_items()["version"]
        if state.get("items_version_") != version:
            raise ModelFormatError(
                f"{folder} was fitted with paraphrases {state.get('items_version_')!r}; this phqwatch has {version!r}.",
                fix="Re-fit the model with this phqwatch version.",
            )
        self.items_version_, self.scale_ = state["items_version_"], state["scale_"]
        for key in ("unit_median", "item_mean", "item_std"):
            setattr(self, f"{key}_", arrays[key])


def unit_evidence(reading: Reading, threshold: np.ndarray, items: Any, k: int) -> dict[int, list[str]]:
    """Per item scored >= 0.5, the k units of the (single-text) reading that scored highest above `threshold`
    (the units behind its pooled score); items scored below 0.5 get no quotes, so scores and quotes agree."""
    units, scores = reading.units[0], reading.scores[0]
    out: dict[int, list[str]] = {}
    for j in range(N_ITEMS):
        if items is not None and float(items[j]) < 0.5:
            out[j + 1] = []
            continue
        col = scores[:, j] if len(scores) else np.zeros(0)
        order = [i for i in np.argsort(-col, kind="stable") if col[i] > threshold[j]]
        quotes: list[str] = []
        for i in order:
            if units[i].text not in quotes:
                quotes.append(units[i].text)
            if len(quotes) == k:
                break
        out[j + 1] = quotes
    return out


def fit_scale(latent: np.ndarray, y: np.ndarray, sources: list[str] | None, anchor: str) -> dict[str, Any]:
    """A monotone map of `latent` onto 0-27: the anchor set's class boundaries (ordinal), or a line."""
    from phqwatch.models.cpu import CpuEstimator

    latent = np.asarray(latent, dtype=float)
    if sources is None:
        slope, icpt = np.polyfit(latent, y, 1) if np.std(latent) > 0 else (0.0, float(np.mean(y)))
        return {"kind": "linear", "slope": float(max(slope, 0.0)), "intercept": float(icpt)}
    src = np.asarray(sources)
    names = list(dict.fromkeys(sources))
    if anchor not in names:
        anchor = max(names, key=lambda n: len(np.unique(y[src == n])))
    rows = src == anchor
    labels = y[rows].astype(int)
    if len(np.unique(labels)) < 2:
        raise InputError(f"anchor source '{anchor}' has a single label", field="y", fix="Need >= 2 classes.")
    # lexical-ridge's knot rule (a plain function of its arguments; no CPU state is used)
    knots = CpuEstimator._phq9_scale(latent[rows], labels, anchor)
    return {"kind": "knots", "anchor": anchor, **knots}


def apply_scale(scale: dict[str, Any], latent: np.ndarray) -> np.ndarray:
    if scale["kind"] == "linear":
        return scale["slope"] * np.asarray(latent) + scale["intercept"]
    return np.interp(latent, scale["knots_latent"], scale["knots_phq9"])
