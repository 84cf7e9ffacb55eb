"""phqwatch: passive PHQ-9 estimation from conversations, and monitoring clinicians can trust.

Every estimate is decision support, never a diagnosis: it is labelled "estimated", kept apart from
administered PHQ-9 scores, and shown with its basis.

    >>> import phqwatch
    >>> model = phqwatch.load_model()                      # the shipped lexical-ridge model
    >>> model.predict(["I can't sleep and nothing feels worth doing anymore ..."])
    >>> phqwatch.score_frame(messages_df)                   # transcript contract -> scores contract
"""

from __future__ import annotations

from importlib import metadata as _metadata
from typing import Any

from phqwatch.errors import (
    ConfigError,
    DatasetUnavailableError,
    InputError,
    ModelFormatError,
    NotFittedError,
    NotFoundError,
    PermissionDeniedError,
    PhqwatchError,
    StoreError,
    TeacherError,
)

try:  # the one version: pyproject.toml's, as installed (also reported by the API, the CLI and model cards)
    __version__ = _metadata.version("phqwatch")
except _metadata.PackageNotFoundError:  # pragma: no cover - imported from a source tree that was never installed
    __version__ = "0+unknown"

_LAZY = {
    "Settings": ("phqwatch.config", "Settings"),
    "load_model": ("phqwatch.models.registry", "load_model"),
    "PHQ9Estimator": ("phqwatch.models.base", "PHQ9Estimator"),
    "UserEstimate": ("phqwatch.models.base", "UserEstimate"),
    "score_file": ("phqwatch.models.scoring", "score_file"),
    "score_frame": ("phqwatch.models.scoring", "score_frame"),
    "iter_messages": ("phqwatch.transcripts", "iter_messages"),
    "read_questionnaires": ("phqwatch.transcripts", "read_questionnaires"),
    "build_windows": ("phqwatch.transcripts", "build_windows"),
    "assemble_users": ("phqwatch.transcripts", "assemble_users"),
}

__all__ = [
    "ConfigError",
    "DatasetUnavailableError",
    "InputError",
    "ModelFormatError",
    "NotFittedError",
    "NotFoundError",
    "PermissionDeniedError",
    "PhqwatchError",
    "StoreError",
    "TeacherError",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'phqwatch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
