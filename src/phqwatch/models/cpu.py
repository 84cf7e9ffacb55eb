"""lexical-ridge, the default estimator (class `CpuEstimator`, CPU only): stacked linear models over cheap text
features.

Features (see `lexical_features`): TF-IDF of hashed word 1-2-grams and of WordLlama sub-word unigrams and
bigrams (one sparse "n-gram" block), the 256-d WordLlama mean embedding, and ~240 lexicon rates (the
project's PHQ-9 symptom lexicons with crude negation, first-person / absolutist / negation rates, VADER
valences, Empath categories, log length).

Training is per *head*. With `sources` (public proxy sets whose labels mean different things), each source
gets its own head, learned on its own labels only: three ridge models (n-grams, embedding, lexicon; the
n-gram ridge's alpha picked by cross-validation) whose out-of-fold scores feed an all-threshold ordinal
logistic stacker with that source's own cut-points. Without `sources` (administered PHQ-9 totals) there is
one head and the stacker is a least-squares regression on 0-27.

PHQ-9 scale (with sources): an ensemble of the heads. Each head's latent score is standardised (z-score
over the pooled training posts of all sources; a head's own posts use its out-of-fold scores, the others'
its plain predictions), and the standardised scores are averaged with non-negative weights (`head_weights`:
"search" by default = the simplex-grid weights (step 0.1) that maximise the mean per-source Spearman on
the training posts; "equal"; "stacked" = non-negative least squares on the pooled training posts against per-source
standardised label ranks, each source weighted equally; or an explicit {head: weight} mapping). The averaged
latent is put on the PHQ-9 scale through the *anchor* source (DepSeverity by default, the only set whose
four labels line up with PHQ-9 bands): on the anchor's training posts, the averaged-latent quantiles at its
cumulative class shares are placed at the band edges of its weak PHQ-9 ranges (DepSeverity: 4.5 / 9.5 /
14.5), the latent is mapped piecewise-linearly through these knots, extended to 0 and 27 with the slope of
the nearest segment (or further out, to the anchor's 0.5% / 99.5% latent quantiles, so few posts tie at the
ends), and clipped to 0-27. The output is non-decreasing in every head's score.

Item scores (0-3) are heuristic: the estimated total is spread over the nine items in proportion to each
item's lexicon evidence plus a floor, clipped to 0-3 with the clipped mass re-spread, so items sum to the
total (up to 27).

Over 400 lines because fitting, the per-source heads, the scale mapping and the folder format are one
estimator's contract; the features live in `lexical_features` and the scale knots are documented above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypedDict

import numpy as np
import scipy.sparse as sp
from scipy.optimize import nnls
from scipy.stats import rankdata
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import normalize

from phqwatch.config import DEFAULT_MIN_WORDS
from phqwatch.errors import InputError, ModelFormatError
from phqwatch.models import lexical_features as lf
from phqwatch.models.base import PHQ9Estimator
from phqwatch.models.ordinal import check_source_codes, fit_ordinal
from phqwatch.models.turns import strip_assistant

#: Weak PHQ-9 band edges of each known source's cut-points (from the data README's ranges).
SOURCE_EDGES: dict[str, tuple[float, ...]] = {
    "depseverity": (4.5, 9.5, 14.5),
    "lt_edi": (9.5, 19.5),
    "reddit_dr": (9.5,),
}
REGRESSION_HEAD = "phq9"
_BLOCKS = ("words", "subwords", "emb", "lex")
_SPARSE_BLOCKS = ("words", "subwords")


class Ensemble(TypedDict):
    """How the heads' latent scores combine: per head its standardisation (mean, std) and weight."""

    heads: list[str]
    mean: list[float]
    std: list[float]
    weights: list[float]


@dataclass(slots=True)
class Features:
    """Per-document features before the learned vocabulary/scaling is applied."""

    words: sp.csr_matrix  # hashed word 1-2-gram counts
    tokens: sp.csr_matrix  # WordLlama token counts
    token_bigrams: sp.csr_matrix  # hashed WordLlama token-bigram counts
    emb: np.ndarray  # mean token embedding (n, 256)
    lex: np.ndarray  # lexicon rates (n, n_lex)
    item_strength: np.ndarray  # (n, 9) per-item lexicon evidence (rate, >= 0)


def featurize(texts: list[str]) -> Features:
    """Text-only features (no learned state). Role-prefixed text (`include_assistant`) is read as the user's
    words only: an assistant's question about sleep is not a sleep complaint."""
    texts = [strip_assistant(t) for t in texts]
    words = lf.word_ngrams(texts)
    tokens, bigrams = lf.token_counts_and_bigrams(texts)
    emb = lf.embed(tokens)
    lmat, names = lf.lexicon_matrix()
    n_tok = (np.asarray(words.sum(axis=1)).ravel() + 1.0) / 2.0  # n unigrams + (n - 1) bigrams
    raw = np.asarray((words @ lmat).todense(), dtype=np.float64) / np.maximum(n_tok, 1.0)[:, None]
    lex = np.hstack([np.log1p(100.0 * np.maximum(raw, 0.0)), np.log1p(n_tok)[:, None]])
    col = {n: i for i, n in enumerate(names)}
    strength = np.column_stack(
        [
            np.maximum(
                raw[:, col[f"item{k}"]] - raw[:, col[f"item{k}_negated"]] - 0.7 * raw[:, col[f"item{k}_healthy"]],
                0.0,
            )
            for k in range(1, 10)
        ]
    )
    return Features(words, tokens, bigrams, emb, lex.astype(np.float64), strength)


def _tfidf(counts: sp.csr_matrix, vocab: np.ndarray, idf: np.ndarray) -> sp.csr_matrix:
    m = counts[:, vocab].astype(np.float32)
    m.data = np.log1p(m.data)
    return normalize(m.multiply(idf[None, :]).tocsr())


def _df_vocab(counts: sp.csr_matrix, min_df: int) -> tuple[np.ndarray, np.ndarray]:
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    vocab = np.flatnonzero(df >= min_df).astype(np.int32)
    idf = (np.log((1.0 + n) / (1.0 + df[vocab])) + 1.0).astype(np.float32)
    return vocab, idf


def spread_items(total: np.ndarray, strength: np.ndarray, floor: float) -> np.ndarray:
    """Distribute each total over 9 items by (strength share + floor), clip to 0-3, re-spread the excess."""
    total = np.clip(np.asarray(total, dtype=float), 0.0, 27.0)
    s = np.asarray(strength, dtype=float)
    tot_s = s.sum(axis=1, keepdims=True)
    w = np.where(tot_s > 0, s / np.where(tot_s > 0, tot_s, 1.0), 0.0) + floor
    items = np.zeros_like(w)
    remaining = total.copy()
    free = np.ones_like(w, dtype=bool)
    for _ in range(9):
        ww = np.where(free, w, 0.0)
        share = ww / np.maximum(ww.sum(axis=1, keepdims=True), 1e-12)
        items = items + share * remaining[:, None]
        over = items > 3.0
        remaining = np.where(over, items - 3.0, 0.0).sum(axis=1)
        items = np.minimum(items, 3.0)
        free &= ~over & (items < 3.0)
        if remaining.max(initial=0.0) < 1e-9:
            break
    return items


def _simplex(k: int, n: int) -> list[tuple[int, ...]]:
    """All k-tuples of non-negative integers summing to n, at least one > 0 (k >= 1)."""
    if k == 1:
        return [(n,)]
    return [(i, *rest) for i in range(n + 1) for rest in _simplex(k - 1, n - i)]


class CpuEstimator(PHQ9Estimator):
    """lexical-ridge: stacked ridge + ordinal-logistic heads over n-grams, static embeddings and PHQ-9 lexicons.

    The class keeps its first name; users, folders, the CLI and the model card know it by `name`.
    """

    name: ClassVar[str] = "lexical-ridge"
    has_items: ClassVar[bool] = True
    supports_sources: ClassVar[bool] = True

    def __init__(
        self,
        *,
        min_words: int = DEFAULT_MIN_WORDS,
        coverage: float = 0.8,
        ngram_alphas: tuple[float, ...] = (1.0, 3.0, 10.0),
        emb_alpha: float = 25.0,
        lex_alpha: float = 700.0,
        stack_alpha: float = 1.0,
        min_df: int = 2,
        n_folds: int = 5,
        anchor_source: str = "depseverity",
        head_weights: str | dict[str, float] = "search",
        item_floor: float = 0.05,
        random_state: int = 0,
    ) -> None:
        super().__init__(min_words=min_words, coverage=coverage)
        self.ngram_alphas = ngram_alphas
        self.emb_alpha = emb_alpha
        self.lex_alpha = lex_alpha
        self.stack_alpha = stack_alpha
        self.min_df = min_df
        self.n_folds = n_folds
        self.anchor_source = anchor_source
        self.head_weights = head_weights
        self.item_floor = item_floor
        self.random_state = random_state

    # ---- design matrices ------------------------------------------------------------------
    def _design(self, f: Features) -> dict[str, Any]:
        subwords = sp.hstack(
            [
                _tfidf(f.tokens, self.vocab_tokens_, self.idf_tokens_),
                _tfidf(f.token_bigrams, self.vocab_bigrams_, self.idf_bigrams_),
            ],
            format="csr",
        )
        return {
            "words": _tfidf(f.words, self.vocab_words_, self.idf_words_),
            "subwords": subwords,
            "emb": (f.emb - self.emb_mean_) / self.emb_std_,
            "lex": (f.lex - self.lex_mean_) / self.lex_std_,
        }

    # ---- training -------------------------------------------------------------------------
    def _fit(self, texts: list[str], y: np.ndarray, sources: list[str] | None) -> None:
        if sources is not None and len(sources) != len(texts):
            raise InputError(f"sources has {len(sources)} entries for {len(texts)} texts", fix="Align sources with X.")
        self._feature_cache: tuple[list[str], Features] | None = None
        f = featurize(texts)
        self.vocab_words_, self.idf_words_ = _df_vocab(f.words, self.min_df)
        self.vocab_tokens_, self.idf_tokens_ = _df_vocab(f.tokens, self.min_df)
        self.vocab_bigrams_, self.idf_bigrams_ = _df_vocab(f.token_bigrams, self.min_df)
        self.emb_mean_, self.emb_std_ = f.emb.mean(axis=0), f.emb.std(axis=0) + 1e-6
        self.lex_mean_, self.lex_std_ = f.lex.mean(axis=0), f.lex.std(axis=0) + 1e-6
        design = self._design(f)
        self.heads_: dict[str, dict[str, Any]] = {}
        #: head -> (row indices into X, near-out-of-fold latent scores); not saved.
        self.train_oof_latent_: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if sources is None:
            if (y < 0).any() or (y > 27).any():
                raise InputError("PHQ-9 totals must lie in 0-27", field="y", fix="Pass totals, or pass sources=.")
            self.mode_ = "regression"
            self.heads_[REGRESSION_HEAD] = self._fit_head(
                design, np.arange(len(y)), y, ordinal=False, name=REGRESSION_HEAD
            )
            self.scale_ = {"knots_latent": [0.0, 27.0], "knots_phq9": [0.0, 27.0]}
        else:
            self.mode_ = "ordinal"
            src = np.asarray(sources)
            for name in dict.fromkeys(sources):
                idx = np.flatnonzero(src == name)
                yl = y[idx]
                check_source_codes(yl, name)
                self.heads_[name] = self._fit_head(design, idx, yl.astype(int), ordinal=True, name=name)
            self.anchor_ = self._anchor_name()
            self._fit_ensemble(design, y, src)
            return
        self.anchor_ = self._anchor_name()
        self.ensemble_: Ensemble = {"heads": [REGRESSION_HEAD], "mean": [0.0], "std": [1.0], "weights": [1.0]}

    def _fit_block(self, block: str, X: Any, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
        r = Ridge(alpha=alpha, solver="auto").fit(X, y)
        return np.asarray(r.coef_, dtype=np.float64), float(r.intercept_)

    def _block_alpha(self, block: str, n_cols: int) -> float:
        return {"emb": self.emb_alpha, "lex": self.lex_alpha}[block]

    def _fit_head(
        self, design: dict[str, Any], idx: np.ndarray, y: np.ndarray, *, ordinal: bool, name: str
    ) -> dict[str, Any]:
        target = (y - y.mean()) / (y.std() + 1e-12)
        n_folds = max(2, min(self.n_folds, int(np.bincount(y.astype(int)).min()) if ordinal else self.n_folds))
        if ordinal:
            folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=self.random_state).split(idx, y))
        else:
            folds = list(KFold(n_folds, shuffle=True, random_state=self.random_state).split(idx))
        head: dict[str, Any] = {}
        oof = np.zeros((len(idx), len(_BLOCKS)))
        for b, block in enumerate(_BLOCKS):
            X = design[block][idx]
            alphas = list(self.ngram_alphas) if block in _SPARSE_BLOCKS else [self._block_alpha(block, X.shape[1])]
            best = None
            for alpha in alphas:
                o = np.zeros(len(idx))
                for tr, va in folds:
                    coef, icpt = self._fit_block(block, X[tr], target[tr], alpha)
                    o[va] = X[va] @ coef + icpt
                err = float(np.mean((o - target) ** 2))
                if best is None or err < best[0]:
                    best = (err, alpha, o)
            assert best is not None
            oof[:, b] = best[2]
            coef, icpt = self._fit_block(block, X, target, best[1])
            head[f"{block}_coef"] = coef
            head[f"{block}_intercept"] = icpt
            head[f"{block}_alpha"] = best[1]
        mu, sd = oof.mean(axis=0), oof.std(axis=0) + 1e-9
        z = (oof - mu) / sd
        head["stack_mean"], head["stack_std"] = mu, sd
        if ordinal:
            k = int(y.max()) + 1
            fit = fit_ordinal(z, y, ["s"] * len(y), {"s": k}, alpha=self.stack_alpha)
            head["stack_coef"], head["stack_intercept"] = fit.coef, 0.0
            head["cuts"] = fit.cuts["s"]
            lat = z @ fit.coef
            head["latent_std"] = float(lat.std())
            self.train_oof_latent_[name] = (idx, lat)
        else:
            r = Ridge(alpha=self.stack_alpha).fit(z, y)
            head["stack_coef"], head["stack_intercept"] = np.asarray(r.coef_, dtype=np.float64), float(r.intercept_)
            head["cuts"] = np.zeros(0)
            head["latent_std"] = float((z @ r.coef_).std())
            self.train_oof_latent_[name] = (idx, z @ r.coef_ + r.intercept_)
        head["n"] = len(idx)
        return head

    def _anchor_name(self) -> str:
        if self.mode_ == "regression":
            return REGRESSION_HEAD
        if self.anchor_source in self.heads_:
            return self.anchor_source
        return max(self.heads_, key=lambda h: len(self.heads_[h]["cuts"]))

    def _train_head_latents(self, design: dict[str, Any], n: int) -> np.ndarray:
        """(n, H) latent of every head on every training post; a head's own posts get its out-of-fold score."""
        names = list(self.heads_)
        lat = np.column_stack([self._latent_from_design(design, h) for h in names])
        for j, h in enumerate(names):
            rows, oof = self.train_oof_latent_[h]
            lat[rows, j] = oof
        return lat

    def _fit_ensemble(self, design: dict[str, Any], y: np.ndarray, src: np.ndarray) -> None:
        """Standardise the heads, choose their weights and fit the anchor's PHQ-9 map on the average."""
        names = list(self.heads_)
        lat = self._train_head_latents(design, len(y))
        mu, sd = lat.mean(axis=0), lat.std(axis=0) + 1e-9
        z = (lat - mu) / sd
        w = self._choose_weights(z, y, src, names)
        self.ensemble_ = {"heads": names, "mean": mu.tolist(), "std": sd.tolist(), "weights": w.tolist()}
        rows = np.flatnonzero(src == self.anchor_)
        self.scale_ = self._phq9_scale(z[rows] @ w, y[rows].astype(int), self.anchor_)

    def _choose_weights(self, z: np.ndarray, y: np.ndarray, src: np.ndarray, names: list[str]) -> np.ndarray:
        hw = self.head_weights
        if isinstance(hw, dict):
            unknown = set(hw) - set(names)
            if unknown or not any(hw.get(h, 0.0) > 0 for h in names) or any(v < 0 for v in hw.values()):
                raise InputError(
                    f"head_weights {hw} do not fit heads {names}",
                    field="head_weights",
                    fix="Give non-negative weights keyed by source names, at least one positive.",
                )
            w = np.array([float(hw.get(h, 0.0)) for h in names])
        elif hw == "equal":
            w = np.ones(len(names))
        elif hw == "search":
            w = self._search_weights(z, y, src, names)
        elif hw == "stacked":
            target = np.zeros(len(y))
            row_w = np.zeros(len(y))
            for name in names:
                idx = np.flatnonzero(src == name)
                r = rankdata(y[idx])
                target[idx] = (r - r.mean()) / (r.std() + 1e-12)
                row_w[idx] = 1.0 / len(idx)
            sw = np.sqrt(row_w)[:, None]
            w, _ = nnls(z * sw, target * sw.ravel())
            if w.sum() <= 0:
                w = np.ones(len(names))
        else:
            raise InputError(
                f"unknown head_weights {hw!r}",
                field="head_weights",
                fix="Use 'equal', 'search', 'stacked' or {head: weight}.",
            )
        return w / w.sum()

    @staticmethod
    def _search_weights(z: np.ndarray, y: np.ndarray, src: np.ndarray, names: list[str], step: float = 0.1):
        """Weights on a simplex grid maximising the mean per-source Spearman on the training posts
        (a head's own posts scored out-of-fold, so no head is favoured by having seen them)."""
        groups = [(np.flatnonzero(src == n), rankdata(y[src == n])) for n in names]
        groups = [(idx, (r - r.mean()) / (r.std() + 1e-12)) for idx, r in groups]
        n_steps = round(1.0 / step)
        best, best_w = -np.inf, np.ones(len(names))
        for combo in _simplex(len(names), n_steps):
            w = np.asarray(combo, dtype=float) / n_steps
            score = 0.0
            for idx, ry in groups:
                rs = rankdata(z[idx] @ w)
                score += float(np.mean(ry * (rs - rs.mean()) / (rs.std() + 1e-12)))
            if score > best + 1e-12:
                best, best_w = score, w
        return best_w

    @staticmethod
    def _phq9_scale(latent: np.ndarray, labels: np.ndarray, name: str) -> dict[str, list[float]]:
        """Knots mapping the ensemble latent to 0-27: latent quantiles at the anchor's cumulative class
        shares -> its weak PHQ-9 band edges; 0 and 27 at the nearest segment's slope extended, or at the 0.5% /
        99.5% latent quantiles where those lie further out."""
        k = int(labels.max())
        shares = np.array([(labels <= c).mean() for c in range(k)])
        cuts = np.quantile(latent, shares)
        spread = float(latent.std()) + 1e-9
        for i in range(1, k):  # strictly increasing knots
            cuts[i] = max(cuts[i], cuts[i - 1] + 1e-3 * spread)
        edges = SOURCE_EDGES.get(name)
        if edges is None or len(edges) != k:
            edges = tuple(np.linspace(0.0, 27.0, k + 2)[1:-1])
        if k == 1:
            lo_slope = hi_slope = 4.5 / spread
        else:
            seg = np.diff(edges) / np.maximum(np.diff(cuts), 1e-6)
            lo_slope, hi_slope = float(seg[0]), float(seg[-1])
        # the outer segments reach at least the 0.5% / 99.5% latent quantiles, so few posts tie at 0 or 27
        x0 = min(cuts[0] - edges[0] / lo_slope, float(np.quantile(latent, 0.005)))
        x1 = max(cuts[-1] + (27.0 - edges[-1]) / hi_slope, float(np.quantile(latent, 0.995)))
        x0 = min(x0, cuts[0] - 1e-3 * spread)
        x1 = max(x1, cuts[-1] + 1e-3 * spread)
        return {
            "knots_latent": [float(x0), *map(float, cuts), float(x1)],
            "knots_phq9": [0.0, *map(float, edges), 27.0],
        }

    # ---- prediction -----------------------------------------------------------------------
    def _latent_from_design(self, design: dict[str, Any], head: str) -> np.ndarray:
        h = self.heads_[head]
        z = np.column_stack([design[b] @ h[f"{b}_coef"] + h[f"{b}_intercept"] for b in _BLOCKS])
        z = (z - h["stack_mean"]) / h["stack_std"]
        return z @ h["stack_coef"] + h["stack_intercept"]

    def _ensemble_latent(self, design: dict[str, Any]) -> np.ndarray:
        e = self.ensemble_
        out = np.zeros(design["emb"].shape[0])
        for h, mu, sd, w in zip(e["heads"], e["mean"], e["std"], e["weights"], strict=True):
            if w > 0:
                out += w * (self._latent_from_design(design, h) - mu) / sd
        return out

    def combine_head_latents(self, latents: dict[str, np.ndarray]) -> np.ndarray:
        """The PHQ-9 output from given per-head latent scores (non-decreasing in each), before 0-27 clipping."""
        self._check_fitted()
        e = self.ensemble_
        n = len(next(iter(latents.values())))
        out = np.zeros(n)
        for h, mu, sd, w in zip(e["heads"], e["mean"], e["std"], e["weights"], strict=True):
            if w > 0:
                out += w * (np.asarray(latents[h], dtype=float) - mu) / sd
        return self._to_phq9(out)

    def predict_latent(self, X: list[str], source: str | None = None) -> np.ndarray:
        """The raw score of one head, or (default) the ensemble latent behind the PHQ-9 output."""
        self._check_fitted()
        if source is not None and source not in self.heads_:
            raise InputError(f"no head named '{source}'", field="source", fix=f"Use one of {sorted(self.heads_)}.")
        design = self._design(featurize(list(X)))
        if source is None:
            return self._ensemble_latent(design)
        return self._latent_from_design(design, source)

    def predict_class(self, X: list[str], source: str) -> np.ndarray:
        """Ordinal class codes of `source` from its own head and cut-points."""
        lat = self.predict_latent(X, source)
        return np.searchsorted(np.asarray(self.heads_[source]["cuts"]), lat, side="right")

    def _to_phq9(self, latent: np.ndarray) -> np.ndarray:
        if self.mode_ == "regression":
            return latent
        xs, ys = self.scale_["knots_latent"], self.scale_["knots_phq9"]
        return np.interp(latent, xs, ys)

    def _features(self, texts: list[str]) -> Features:
        """Featurise, reusing the last batch's features when `estimate()` asks twice for the same texts."""
        cached = getattr(self, "_feature_cache", None)
        if cached is not None and cached[0] == texts:
            return cached[1]
        f = featurize(texts)
        self._feature_cache = (list(texts), f)
        return f

    def _predict(self, texts: list[str]) -> np.ndarray:
        return self._to_phq9(self._ensemble_latent(self._design(self._features(texts))))

    def predict_items(self, X: Sequence[str]) -> np.ndarray:
        """Heuristic item scores 0-3 that sum to the (clipped) estimated total."""
        self._check_fitted()
        f = self._features(list(X))
        total = np.clip(self._to_phq9(self._ensemble_latent(self._design(f))), 0, 27)
        return spread_items(total, f.item_strength, self.item_floor)

    def predict_with_items(self, X: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(totals, items) from one featurisation pass (the fast path for scoring)."""
        self._check_fitted()
        f = self._features(list(X))
        total = np.clip(self._to_phq9(self._ensemble_latent(self._design(f))), 0, 27)
        return total, spread_items(total, f.item_strength, self.item_floor)

    # ---- persistence ----------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {
            "vocab_words": self.vocab_words_,
            "idf_words": self.idf_words_,
            "vocab_tokens": self.vocab_tokens_,
            "idf_tokens": self.idf_tokens_,
            "vocab_bigrams": self.vocab_bigrams_,
            "idf_bigrams": self.idf_bigrams_,
            "emb_mean": self.emb_mean_.astype(np.float64),
            "emb_std": self.emb_std_.astype(np.float64),
            "lex_mean": self.lex_mean_.astype(np.float64),
            "lex_std": self.lex_std_.astype(np.float64),
        }
        heads: dict[str, Any] = {}
        for name, h in self.heads_.items():
            meta = {}
            for key, val in h.items():
                if key in ("words_coef", "subwords_coef"):
                    arrays[f"head.{name}.{key}"] = np.asarray(val, dtype=np.float32)
                elif isinstance(val, np.ndarray):
                    arrays[f"head.{name}.{key}"] = np.asarray(val, dtype=np.float64)
                else:
                    meta[key] = val
            heads[name] = meta
        _, lex_names = lf.lexicon_matrix()
        state = {
            "mode_": self.mode_,
            "anchor_": self.anchor_,
            "scale_": self.scale_,
            "ensemble_": self.ensemble_,
            "heads_": heads,
            "lexicon_columns": list(lex_names),
            "n_hash": lf.N_HASH,
        }
        return state, arrays

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path) -> None:
        _, lex_names = lf.lexicon_matrix()
        if state.get("n_hash") != lf.N_HASH or list(state.get("lexicon_columns", [])) != list(lex_names):
            raise ModelFormatError(
                f"{folder} was trained with different lexicons or hashing than this phqwatch "
                "(Empath installed? phqwatch version?).",
                fix="Install the same phqwatch version and its dependencies (incl. empath), or re-train.",
            )
        self.mode_, self.anchor_, self.scale_ = state["mode_"], state["anchor_"], state["scale_"]
        if "ensemble_" not in state:
            raise ModelFormatError(
                f"{folder} predates the head ensemble (no 'ensemble_' in config.json).",
                fix="Re-train it with this phqwatch version (python -m phqwatch.training.build_default).",
            )
        self.ensemble_ = state["ensemble_"]
        for key in ("vocab_words", "vocab_tokens", "vocab_bigrams"):
            setattr(self, f"{key}_", arrays[key].astype(np.int64))
        for key in ("idf_words", "idf_tokens", "idf_bigrams"):
            setattr(self, f"{key}_", arrays[key].astype(np.float32))
        for key in ("emb_mean", "emb_std", "lex_mean", "lex_std"):
            setattr(self, f"{key}_", arrays[key])
        self.heads_ = {}
        for name, meta in state["heads_"].items():
            h = dict(meta)
            prefix = f"head.{name}."
            for key, val in arrays.items():
                if key.startswith(prefix):
                    h[key[len(prefix) :]] = val.astype(np.float64)
            self.heads_[name] = h
