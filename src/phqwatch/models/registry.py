"""Model registry: estimator names -> classes (imported lazily, so torch loads only when needed)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from phqwatch.errors import ModelFormatError
from phqwatch.models.base import FORMAT_VERSION, PHQ9Estimator

#: name in config.json -> "module:Class". Only these names load: a model folder cannot name arbitrary code.
ESTIMATORS: dict[str, str] = {
    "lexical-ridge": "phqwatch.models.cpu:CpuEstimator",
    "transformer": "phqwatch.models.transformer:TransformerEstimator",
    "mean-ensemble": "phqwatch.models.ensemble:MeanEnsemble",
    "symptom-similarity": "phqwatch.models.symptoms:SymptomEstimator",
    "symptom-lexical": "phqwatch.models.combined:CombinedEstimator",
}

#: Folders from before config.json: marker file -> "module:function" that reads them (imported lazily, like
#: the classes above, so the registry imports no estimator module). selftrain --ensemble wrote ensemble.json.
LEGACY_READERS: dict[str, str] = {"ensemble.json": "phqwatch.models.ensemble:load_legacy_ensemble"}

#: The shipped lexical-ridge model, inside the package.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default"


def estimator_class(name: str) -> type[PHQ9Estimator]:
    """The class registered under `name`."""
    if name not in ESTIMATORS:
        raise ModelFormatError(
            f"Unknown estimator '{name}'; known: {', '.join(sorted(ESTIMATORS))}.",
            fix="Check config.json's 'estimator' field or upgrade phqwatch.",
        )
    module, _, cls = ESTIMATORS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def read_config(folder: str | Path) -> dict:
    """A model folder's config.json, validated."""
    folder = Path(folder)
    cfg_path = folder / "config.json"
    if not folder.is_dir():
        raise ModelFormatError(
            f"Model folder {folder} does not exist.", fix="Pass a folder written by `phqwatch train` or model.save()."
        )
    if not cfg_path.exists():
        raise ModelFormatError(
            f"{folder} has no config.json; it is not a phqwatch model folder.",
            fix="Pass a folder written by `phqwatch train` or model.save().",
        )
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{cfg_path} is not valid JSON ({exc}).", fix="Re-save the model.") from None
    if config.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"{cfg_path} has format_version {config.get('format_version')!r}; this phqwatch reads {FORMAT_VERSION}.",
            fix="Re-train or upgrade phqwatch.",
        )
    return config


def load_model(path: str | Path | None = None) -> PHQ9Estimator:
    """Load a model folder (default: the shipped lexical-ridge model). Never downloads anything."""
    folder = Path(path) if path is not None else DEFAULT_MODEL_DIR
    if folder.is_dir() and not (folder / "config.json").exists():
        for marker, reader in LEGACY_READERS.items():
            if (folder / marker).exists():
                module, _, fn = reader.partition(":")
                return getattr(importlib.import_module(module), fn)(folder)
    config = read_config(folder)
    return estimator_class(config["estimator"])._from_folder(folder, config)
