"""SQLite cache of teacher results, so an interrupted run resumes without repeating finished calls.

Results are keyed by (sha256 of the text sent, rubric fingerprint, teacher model): the same text rated
under the same rubric by the same model is never paid for twice, while a changed rubric or model misses
the cache. Failures are recorded per user (error kind, attempts) and are retried on the next run.
The cache stores verified ratings (scores, kept quotes, counts), never the transcript itself.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phqwatch.errors import TeacherError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    text_hash   TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    model       TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  REAL NOT NULL,
    PRIMARY KEY (text_hash, fingerprint, model)
);
CREATE TABLE IF NOT EXISTS failures (
    user_id     TEXT NOT NULL,
    text_hash   TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    model       TEXT NOT NULL,
    error_kind  TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    message     TEXT NOT NULL,
    updated_at  REAL NOT NULL,
    PRIMARY KEY (user_id, fingerprint, model)
);
"""


def text_hash(text: str) -> str:
    """sha256 hex digest of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Failure:
    user_id: str
    error_kind: str
    attempts: int
    message: str


class TeacherCache:
    """A small SQLite store; one connection, used from one thread (the event loop's)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path))
            self._db.executescript(_SCHEMA)
            self._db.commit()
        except sqlite3.Error as exc:
            raise TeacherError(
                f"Cannot open the teacher cache at {self.path} ({exc}).",
                fix="Point PHQWATCH_TEACHER_CACHE_PATH at a writable file, or delete a corrupt cache file.",
            ) from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TeacherCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, thash: str, fingerprint: str, model: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT payload FROM results WHERE text_hash=? AND fingerprint=? AND model=?",
            (thash, fingerprint, model),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, thash: str, fingerprint: str, model: str, payload: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)",
            (thash, fingerprint, model, json.dumps(payload, allow_nan=False), time.time()),
        )
        self._db.commit()  # commit per result: a killed run keeps everything finished so far

    def record_failure(
        self, user_id: str, thash: str, fingerprint: str, model: str, kind: str, attempts: int, message: str
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (user_id, thash, fingerprint, model, kind, attempts, message[:500], time.time()),
        )
        self._db.commit()

    def clear_failure(self, user_id: str, fingerprint: str, model: str) -> None:
        self._db.execute(
            "DELETE FROM failures WHERE user_id=? AND fingerprint=? AND model=?", (user_id, fingerprint, model)
        )
        self._db.commit()

    def failures(self, fingerprint: str | None = None, model: str | None = None) -> list[Failure]:
        q = "SELECT user_id, error_kind, attempts, message FROM failures WHERE 1=1"
        args: list[str] = []
        if fingerprint is not None:
            q += " AND fingerprint=?"
            args.append(fingerprint)
        if model is not None:
            q += " AND model=?"
            args.append(model)
        return [Failure(*row) for row in self._db.execute(q + " ORDER BY user_id", args)]

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
