"""The combined model ("symptom-lexical"): the lexical CPU model and the symptom model, averaged as ranks.

Both parts read the same user: the lexical model (`models.cpu`) reads the user's words only (any assistant
turns are dropped first, so a dialogue scores like the same words posted), the symptom model
(`models.symptoms`) reads every user sentence and uses the assistant's questions only to interpret short
replies. Their latent scores are standardised (z-scores over the fitting texts) and averaged with
non-negative weights that sum to 1, chosen on a grid to maximise the mean per-source Spearman on the fitting
texts of the sources whose labels grade severity (`weight_sources`; Reddit DR's codes are the subreddit a post
came from, partly a topic task, so by default it does not steer the weight); the average goes onto 0-27
through the same monotone map as the symptom model. Two weights and a monotone map are all that is learned
from the combination, so it transfers between forms as well as its parts do.

Fitting. With `lexical_path` (a fitted lexical model folder) the lexical part is loaded and `fit` learns only
the symptom model's reference statistics, the weights and the map: pass texts the lexical model was not
trained on (e.g. the calib split; `training/build_combined.py` does). Without it, `fit` trains a new lexical
model on the texts and uses its out-of-fold latents for the weights.

Items are the total spread by the symptom model's item evidence and the quotes are the sentences behind that
evidence (see `models.symptoms`), so the report's item scores and quotes come from one computation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from scipy.stats import rankdata

from phqwatch.config import DEFAULT_MIN_WORDS
from phqwatch.errors import InputError, ModelFormatError
from phqwatch.models.base import PHQ9Estimator
from phqwatch.models.symptoms import SymptomEstimator, apply_scale, fit_scale
from phqwatch.models.turns import user_text

PARTS = ("lexical", "symptoms")


def lexical_oof_latent(lex: Any, texts: list[str]) -> np.ndarray:
    """The ensemble latent of a just-fitted CpuEstimator on its training texts, each head's own rows out-of-fold."""
    from phqwatch.models.cpu import featurize

    design = lex._design(featurize(texts))
    lat = lex._train_head_latents(design, len(texts))
    e = lex.ensemble_
    out = np.zeros(len(texts))
    for j, (_h, mu, sd, w) in enumerate(zip(e["heads"], e["mean"], e["std"], e["weights"], strict=True)):
        out += w * (lat[:, j] - mu) / sd
    return out


def search_weight(lex: np.ndarray, sym: np.ndarray, y: np.ndarray, sources: list[str] | None, step: float) -> float:
    """The symptom weight in [0, 1] (grid `step`) maximising the mean per-source Spearman of the average."""
    groups = (
        [np.arange(len(y))]
        if sources is None
        else [np.flatnonzero(np.asarray(sources) == s) for s in dict.fromkeys(sources)]
    )
    ranks = [(g, rankdata(y[g])) for g in groups if len(np.unique(y[g])) > 1]
    best, best_w = -np.inf, 0.0
    for w in np.round(np.arange(0.0, 1.0 + 1e-9, step), 6):
        z = (1 - w) * lex + w * sym
        score = float(np.mean([np.corrcoef(rankdata(z[g]), r)[0, 1] for g, r in ranks]))
        if score > best + 1e-9:
            best, best_w = score, float(w)
    return best_w


class CombinedEstimator(PHQ9Estimator):
    """Rank-standardised average of the lexical CPU model and the sentence-level symptom model."""

    name: ClassVar[str] = "symptom-lexical"
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
        fit_sample: int = 3000,
        lexical_path: str | None = None,
        symptom_weight: float | str = "search",
        weight_step: float = 0.05,
        weight_sources: tuple[str, ...] = ("depseverity", "lt_edi"),
        anchor_source: str = "depseverity",
        item_floor: float = 0.0,
    ) -> None:
        super().__init__(min_words=min_words, coverage=coverage)
        self.encoder = encoder
        self.contrast = contrast
        self.top_k = top_k
        self.fit_sample = fit_sample
        self.lexical_path = lexical_path
        self.symptom_weight = symptom_weight
        self.weight_step = weight_step
        self.weight_sources = weight_sources
        self.anchor_source = anchor_source
        self.item_floor = item_floor

    # ---- training ----------------------------------------------------------------------------
    def _fit(self, texts: list[str], y: np.ndarray, sources: list[str] | None) -> None:
        from phqwatch.models.cpu import CpuEstimator

        users = [user_text(t) for t in texts]
        if self.lexical_path is not None:
            from phqwatch.models.registry import load_model

            lexical = load_model(self.lexical_path)
            if not isinstance(lexical, CpuEstimator):
                raise InputError(
                    f"{self.lexical_path} holds a '{lexical.name}' model; expected a lexical-ridge folder",
                    field="lexical_path",
                    fix="Pass a folder written by lexical-ridge training.",
                )
            self.lexical_ = lexical
            lex = np.asarray(self.lexical_.predict_latent(users), dtype=float)
        else:
            self.lexical_ = CpuEstimator(anchor_source=self.anchor_source).fit(users, y, sources=sources)
            lex = lexical_oof_latent(self.lexical_, users)
        self.symptoms_ = SymptomEstimator(
            min_words=self.min_words,
            encoder=self.encoder,
            contrast=self.contrast,
            top_k=self.top_k,
            fit_sample=self.fit_sample,
            anchor_source=self.anchor_source,
            item_floor=self.item_floor,
        ).fit(texts, y, sources=sources)
        sym = self.symptoms_.predict_latent(texts)
        self.norm_ = {
            "lex_mean": float(lex.mean()),
            "lex_std": float(lex.std() + 1e-9),
            "sym_mean": float(sym.mean()),
            "sym_std": float(sym.std() + 1e-9),
        }
        zl, zs = self._z(lex, sym)
        if isinstance(self.symptom_weight, str):
            if self.symptom_weight != "search":
                raise InputError(
                    f"unknown symptom_weight {self.symptom_weight!r}",
                    field="symptom_weight",
                    fix="Use 'search' or a number in [0, 1].",
                )
            rows = np.arange(len(y))
            if sources is not None and set(self.weight_sources) & set(sources):
                rows = np.flatnonzero(np.isin(np.asarray(sources), list(self.weight_sources)))
            src = None if sources is None else [sources[i] for i in rows]
            self.weight_ = search_weight(zl[rows], zs[rows], y[rows], src, self.weight_step)
        else:
            if not 0.0 <= float(self.symptom_weight) <= 1.0:
                raise InputError(
                    f"symptom_weight {self.symptom_weight} is outside [0, 1]",
                    field="symptom_weight",
                    fix="Use a number in [0, 1] or 'search'.",
                )
            self.weight_ = float(self.symptom_weight)
        self.scale_ = fit_scale((1 - self.weight_) * zl + self.weight_ * zs, y, sources, self.anchor_source)

    def _z(self, lex: np.ndarray, sym: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = self.norm_
        return (lex - n["lex_mean"]) / n["lex_std"], (sym - n["sym_mean"]) / n["sym_std"]

    # ---- prediction --------------------------------------------------------------------------
    def latents(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The parts' standardised latents and their weighted average (cached for the last batch)."""
        self._check_fitted()
        last = getattr(self, "_last", None)
        if last is not None and last[0] == texts:
            return last[1]
        lex = np.asarray(self.lexical_.predict_latent([user_text(t) for t in texts]), dtype=float)
        zl, zs = self._z(lex, self.symptoms_.predict_latent(texts))
        out = {"lexical": zl, "symptoms": zs, "combined": (1 - self.weight_) * zl + self.weight_ * zs}
        self._last = (list(texts), out)
        return out

    def _predict(self, texts: list[str]) -> np.ndarray:
        return apply_scale(self.scale_, self.latents(texts)["combined"])

    def predict_latent(self, X: list[str], source: str | None = None) -> np.ndarray:
        """The combined latent (standardised units); `source` is accepted for the CPU model's interface."""
        return self.latents(list(X))["combined"]

    def predict_items(self, X: Sequence[str]) -> np.ndarray:
        from phqwatch.models.cpu import spread_items

        total = np.clip(self.predict(list(X)), 0, 27)
        return spread_items(total, self.symptoms_.item_share(list(X)), self.item_floor)

    def evidence(self, text: str, items: Any = None, k: int = 3) -> dict[int, list[str]]:
        return self.symptoms_.evidence(text, items, k)

    # ---- persistence -------------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {"weight_": self.weight_, "norm_": self.norm_, "scale_": self.scale_, "parts": list(PARTS)}
        return state, {"weight": np.asarray([self.weight_], dtype=np.float64)}

    def _save_extra(self, folder: Path) -> None:
        self.lexical_.save(folder / "lexical")
        self.symptoms_.save(folder / "symptoms")

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path) -> None:
        from phqwatch.models.cpu import CpuEstimator
        from phqwatch.models.registry import load_model

        for part in PARTS:
            if not (folder / part).is_dir():
                raise ModelFormatError(f"{folder} has no '{part}' sub-folder.", fix="Re-save the combined model.")
        lexical, symptoms = load_model(folder / "lexical"), load_model(folder / "symptoms")
        if not isinstance(lexical, CpuEstimator) or not isinstance(symptoms, SymptomEstimator):
            raise ModelFormatError(
                f"{folder} holds '{lexical.name}' and '{symptoms.name}' parts; "
                f"expected '{CpuEstimator.name}' and '{SymptomEstimator.name}'.",
                fix="Re-save the combined model.",
            )
        self.lexical_, self.symptoms_ = lexical, symptoms
        self.weight_, self.norm_, self.scale_ = float(state["weight_"]), state["norm_"], state["scale_"]
