"""MeanEnsemble: a weighted mean of fitted estimators, itself an estimator and a model folder.

The folder is the usual one (`config.json`, `weights.safetensors` with the member weights, a model card)
plus one model folder per member (`member_0/`, `member_1/`, ...), so `load_model` reads it like any
other model. The ensemble is a `PHQ9Estimator`: `estimate()` (abstention, bands, intervals) behaves as for
any model, and its interval must be calibrated on held-out data like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from phqwatch.config import DEFAULT_MIN_WORDS
from phqwatch.errors import InputError, ModelFormatError
from phqwatch.models.base import PHQ9Estimator

#: The folder format before ensembles were registered models: `ensemble.json` + member folders.
LEGACY_ENSEMBLE_FILE = "ensemble.json"


class MeanEnsemble(PHQ9Estimator):
    """Weighted mean of the members' PHQ-9 predictions.

    Built from fitted members (`MeanEnsemble([a, b])` is fitted at once), or from unfitted ones that
    `fit` trains on the same data (and `sources`).
    """

    name: ClassVar[str] = "mean-ensemble"

    def __init__(
        self,
        members: Sequence[PHQ9Estimator] = (),
        weights: Sequence[float] | None = None,
        *,
        min_words: int = DEFAULT_MIN_WORDS,
        coverage: float = 0.8,
    ) -> None:
        super().__init__(min_words=min_words, coverage=coverage)
        self.members = list(members)
        self.weights = None if weights is None else [float(w) for w in weights]
        self._check_weights()
        if self.members and all(m.is_fitted for m in self.members):
            self.fitted_ = True

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters; the members themselves are saved as sub-folders, not as parameters."""
        params = super().get_params(deep)
        params["members"] = [type(m).__name__ for m in self.members]
        return params

    @property
    def supports_sources(self) -> bool:
        """Per-source heads when every member has them (each member fits the same codes and sources)."""
        return bool(self.members) and all(m.supports_sources for m in self.members)

    def _check_weights(self) -> None:
        w = self.weights
        if w is not None and (len(w) != len(self.members) or any(v < 0 for v in w) or sum(w) <= 0):
            raise InputError(
                f"{len(w)} weights {w} for {len(self.members)} members",
                field="weights",
                fix="Pass one non-negative weight per member, at least one positive (or none for equal weights).",
            )

    def _w(self) -> np.ndarray:
        w = np.ones(len(self.members)) if self.weights is None else np.asarray(self.weights, dtype=float)
        return w / w.sum()

    def _fit(self, texts: list[str], y: np.ndarray, sources: list[str] | None) -> None:
        if not self.members:
            raise InputError("MeanEnsemble has no members", fix="Pass members=[estimator, ...].")
        for m in self.members:
            m.fit(texts, y, sources=sources)

    def _predict(self, texts: list[str]) -> np.ndarray:
        preds = np.stack([m.predict(texts) for m in self.members])
        return self._w() @ preds

    # ---- folder format --------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        names = [f"member_{i}" for i in range(len(self.members))]
        return {"members_": names, "member_estimators_": [m.name for m in self.members]}, {"weights": self._w()}

    def _save_extra(self, folder: Path) -> None:
        for i, m in enumerate(self.members):
            m.save(folder / f"member_{i}")

    @classmethod
    def _construct(cls, folder: Path, config: dict[str, Any]) -> PHQ9Estimator:
        from phqwatch.models.registry import load_model

        names = config.get("state", {}).get("members_")
        if not names:
            raise ModelFormatError(f"{folder}/config.json names no ensemble members.", fix="Re-save the ensemble.")
        missing = [n for n in names if not (folder / n).is_dir()]
        if missing:
            raise ModelFormatError(
                f"{folder} lacks the member folder(s) {', '.join(missing)}.",
                fix="Copy the whole ensemble folder, members included, or re-save it.",
            )
        members = [load_model(folder / n) for n in names]
        params = config.get("params", {})
        kwargs = {k: params[k] for k in ("min_words", "coverage") if k in params}
        return cls(members, params.get("weights"), **kwargs)

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path) -> None:
        w = arrays.get("weights")
        if w is None or len(w) != len(self.members) or not np.allclose(w, self._w()):
            raise ModelFormatError(f"{folder}: the member weights do not match config.json.", fix="Re-save.")


def load_legacy_ensemble(path: Path) -> MeanEnsemble:
    """Read the pre-registry format (`ensemble.json` + `member_i/` folders)."""
    import json

    from phqwatch.models.registry import load_model

    spec = json.loads((path / LEGACY_ENSEMBLE_FILE).read_text(encoding="utf-8"))
    members = [load_model(path / name) for name in spec["members"]]
    ens = MeanEnsemble(members, spec.get("weights"), min_words=spec["min_words"], coverage=spec["coverage"])
    if spec.get("conformal_q_") is not None:
        ens.conformal_q_ = float(spec["conformal_q_"])
    ens.metadata_ = spec.get("metadata", {})
    return ens


__all__ = ["LEGACY_ENSEMBLE_FILE", "MeanEnsemble", "load_legacy_ensemble"]
