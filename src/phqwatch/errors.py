"""The one exception tree. Every error says what was expected, what was found and how to fix it.

Translate only at the edges: the CLI turns these into an exit message, the server into HTTP statuses.
"""

from __future__ import annotations

__all__ = [
    "PhqwatchError",
    "InputError",
    "ConfigError",
    "NotFittedError",
    "ModelFormatError",
    "DatasetUnavailableError",
    "TeacherError",
    "StoreError",
    "StorageFullError",
    "NotFoundError",
    "ConflictError",
    "PermissionDeniedError",
]


class PhqwatchError(Exception):
    """Base of every error phqwatch raises on purpose."""

    #: What a refused request concerned (a `server.auth.Denial`, set by `server.auth.deny`), for its audit row.
    denial: object | None = None

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(f"{message} Fix: {fix}" if fix else message)


class InputError(PhqwatchError, ValueError):
    """Bad input data: names the file (or source), the line and the field where known."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.path, self.line, self.field = path, line, field
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = (":".join(where[:2]) + (f" {where[2]}" if len(where) > 2 else "")) if where else ""
        super().__init__(f"{prefix}: {message}" if prefix else message, fix=fix)


class ConfigError(PhqwatchError):
    """A setting is missing or invalid (e.g. a default secret in production mode)."""


class NotFittedError(PhqwatchError, AttributeError):
    """An estimator was used before `fit` (scikit-learn's contract)."""


class ModelFormatError(PhqwatchError):
    """A model folder is missing files, has an unknown estimator name or a bad config."""


class DatasetUnavailableError(PhqwatchError):
    """A public dataset folder is not where it was expected (e.g. ../shared/data is missing)."""


class TeacherError(PhqwatchError):
    """The LLM teacher endpoint failed after retries, or answered something unusable."""


class StoreError(PhqwatchError):
    """The database could not be reached, migrated or written."""


class StorageFullError(StoreError):
    """The database has no room left to write (disk full, or the database at its size cap)."""


class NotFoundError(PhqwatchError, LookupError):
    """A requested record (patient, alert, report) does not exist."""


class ConflictError(PhqwatchError):
    """The request conflicts with stored data (e.g. a message id another person already used)."""


class PermissionDeniedError(PhqwatchError):
    """The caller's role does not allow this action on this record."""
