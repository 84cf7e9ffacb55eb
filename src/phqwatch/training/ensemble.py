"""Average of several fitted estimators (e.g. the ground-truth-only and the pseudolabel model).

Saved as a folder with `ensemble.json` (member folder names and weights) and one model folder per member;
`load_ensemble` reads it back. The ensemble is a `PHQ9Estimator`, so `estimate()` (abstention, bands,
intervals) behaves as for any model; its interval must be calibrated on held-out data like any other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from phqwatch.errors import InputError, ModelFormatError
from phqwatch.models.base import PHQ9Estimator

ENSEMBLE_FILE = "ensemble.json"


class MeanEnsemble(PHQ9Estimator):
    """Weighted mean of the members' PHQ-9 predictions (members must be fitted)."""

    name: ClassVar[str] = "mean-ensemble"

    def __init__(
        self,
        members: Sequence[PHQ9Estimator] = (),
        weights: Sequence[float] | None = None,
        *,
        min_words: int = 50,
        coverage: float = 0.8,
    ) -> None:
        super().__init__(min_words=min_words, coverage=coverage)
        self.members = list(members)
        self.weights = None if weights is None else list(weights)
        if self.members:
            self._check_members()
            self.fitted_ = True

    def _check_members(self) -> None:
        for i, m in enumerate(self.members):
            if not m.is_fitted:
                raise InputError(f"ensemble member {i} ({type(m).__name__}) is not fitted", fix="Fit it first.")
        if self.weights is not None and (len(self.weights) != len(self.members) or sum(self.weights) <= 0):
            raise InputError(
                f"{len(self.weights)} weights for {len(self.members)} members",
                fix="Pass one positive weight per member.",
            )

    def _w(self) -> np.ndarray:
        w = np.ones(len(self.members)) if self.weights is None else np.asarray(self.weights, dtype=float)
        return w / w.sum()

    def _fit(self, texts: list[str], y: np.ndarray, sources: list[str] | None) -> None:
        for m in self.members:
            m.fit(texts, y, sources=sources)

    def _predict(self, texts: list[str]) -> np.ndarray:
        preds = np.stack([m.predict(texts) for m in self.members])
        return self._w() @ preds

    def save(self, path: str | Path, *, metadata: dict[str, Any] | None = None, card: str | None = None) -> Path:
        """Write `ensemble.json` and one model folder per member (member_0, member_1, ...)."""
        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        names = []
        for i, m in enumerate(self.members):
            m.save(path / f"member_{i}")
            names.append(f"member_{i}")
        spec = {
            "estimator": self.name,
            "members": names,
            "weights": self._w().tolist(),
            "min_words": self.min_words,
            "coverage": self.coverage,
            "conformal_q_": getattr(self, "conformal_q_", None),
            "metadata": {**(getattr(self, "metadata_", None) or {}), **(metadata or {})},
        }
        (path / ENSEMBLE_FILE).write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path


def load_ensemble(path: str | Path) -> MeanEnsemble:
    """Read a folder written by `MeanEnsemble.save`."""
    from phqwatch.models.registry import load_model

    path = Path(path)
    spec_path = path / ENSEMBLE_FILE
    if not spec_path.is_file():
        raise ModelFormatError(f"{path} has no {ENSEMBLE_FILE}.", fix="Pass a folder written by MeanEnsemble.save().")
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    members = [load_model(path / name) for name in spec["members"]]
    ens = MeanEnsemble(members, spec.get("weights"), min_words=spec["min_words"], coverage=spec["coverage"])
    if spec.get("conformal_q_") is not None:
        ens.conformal_q_ = float(spec["conformal_q_"])
    ens.metadata_ = spec.get("metadata", {})
    return ens


__all__ = ["ENSEMBLE_FILE", "MeanEnsemble", "load_ensemble"]
