"""Averaging models after self-training (the ground-truth-only and the best pseudolabel model).

`MeanEnsemble` lives in `phqwatch.models.ensemble` and is a registered estimator, so its folder loads
with `phqwatch.load_model` like any model. `load_ensemble` also reads folders written before that
(`ensemble.json` + member folders).
"""

from __future__ import annotations

from pathlib import Path

from phqwatch.errors import ModelFormatError
from phqwatch.models.ensemble import LEGACY_ENSEMBLE_FILE, MeanEnsemble, load_legacy_ensemble

#: Kept for callers of the old name; new folders hold config.json instead.
ENSEMBLE_FILE = LEGACY_ENSEMBLE_FILE


def load_ensemble(path: str | Path) -> MeanEnsemble:
    """Read an ensemble folder: the registered format (config.json) or the legacy ensemble.json one."""
    from phqwatch.models.registry import load_model

    path = Path(path)
    if (path / "config.json").is_file():
        model = load_model(path)
        if not isinstance(model, MeanEnsemble):
            raise ModelFormatError(
                f"{path} holds a '{model.name}' model, not a mean-ensemble.", fix="Pass an ensemble folder."
            )
        return model
    if (path / LEGACY_ENSEMBLE_FILE).is_file():
        return load_legacy_ensemble(path)
    raise ModelFormatError(f"{path} is not an ensemble folder.", fix="Pass a folder written by MeanEnsemble.save().")


__all__ = ["ENSEMBLE_FILE", "MeanEnsemble", "load_ensemble"]
