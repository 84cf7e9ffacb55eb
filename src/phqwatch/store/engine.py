"""Engines and sessions from a database URL: SQLite (WAL, embedded default) or PostgreSQL.

SQLite: WAL journal, foreign keys on, synchronous=FULL (an acknowledged commit survives a crash), a busy
timeout, and write transactions that start with BEGIN IMMEDIATE so that read-then-write transactions never
fail on a lock upgrade. Use `Database.write()` for transactions that write and `Database.read()` for reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from phqwatch.errors import StorageFullError, StoreError

_BEGIN_OPTION = "phqwatch_sqlite_begin"
_SYNC_OPTION = "phqwatch_sqlite_sync"


def normalise_url(url: str) -> str:
    """Map plain `postgresql://` / `postgres://` URLs to the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    """An Engine for `url`, configured for the backend (see the module docstring)."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError as exc:
        raise StoreError(
            f"'{url}' is not a database URL ({exc}).",
            fix="Use sqlite:///path/to/phqwatch.db or postgresql://user:pass@host/dbname.",
        ) from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, echo=echo)
    if parsed.get_backend_name() != "postgresql":
        raise StoreError(
            f"Unsupported database backend '{parsed.get_backend_name()}'.",
            fix="Use SQLite (sqlite:///file.db) or PostgreSQL (postgresql://...).",
        )
    return create_engine(parsed, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _sqlite_engine(parsed: Any, *, echo: bool) -> Engine:
    memory = parsed.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if memory:
        from sqlalchemy.pool import StaticPool

        kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_size"] = 16
        kwargs["max_overflow"] = 16
    engine = create_engine(parsed, echo=echo, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        opts = conn.get_execution_options()
        conn.exec_driver_sql(f"PRAGMA synchronous={opts.get(_SYNC_OPTION, 'FULL')}")
        conn.exec_driver_sql(f"BEGIN {opts.get(_BEGIN_OPTION, 'DEFERRED')}")

    return engine


@dataclass
class Database:
    """An engine plus session factories for reading and for writing."""

    engine: Engine

    def __post_init__(self) -> None:
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        writer = (
            self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            if self.engine.dialect.name == "sqlite"
            else self.engine
        )
        self._write = sessionmaker(writer, expire_on_commit=False)
        # SQLite: synchronous=NORMAL in WAL mode survives a process crash but may lose the newest commits
        # on power loss; used only for low-stakes appends (the audit rows of reads), never for ingestion.
        light = (
            self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE", _SYNC_OPTION: "NORMAL"})
            if self.engine.dialect.name == "sqlite"
            else self.engine
        )
        self._write_light = sessionmaker(light, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        return cls(make_engine(url, **kwargs))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[Session]:
        """A session in one write transaction: committed on success, rolled back on any error.

        `durable=False` (SQLite only) commits without waiting for the disk (safe against a process crash,
        not against power loss): for audit rows of reads, which must not slow every read by an fsync."""
        factory = self._write if durable else self._write_light
        with _wrap_errors(), factory() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads (its transaction is rolled back at the end)."""
        with _wrap_errors(), self._read() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _wrap_errors() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        if _is_storage_full(exc.orig):
            raise StorageFullError(
                "The database has no space left: the storage is full, and nothing of this request was stored.",
                fix="Free disk space where the database lives (or raise its size cap), then send it again.",
            ) from exc
        raise StoreError(
            f"The database could not be used ({type(exc.orig).__name__}: {str(exc.orig).splitlines()[0][:200]}).",
            fix="Check PHQWATCH_DATABASE_URL, that the server is up, and run `phqwatch db upgrade`.",
        ) from exc


def _is_storage_full(err: BaseException | None) -> bool:
    """SQLite's SQLITE_FULL (a full disk, or max_page_count reached) or PostgreSQL's disk_full (53100)."""
    import sqlite3

    if isinstance(err, sqlite3.Error):
        return getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "database or disk is full" in str(err)
    return getattr(err, "sqlstate", None) == "53100"
