"""Shared fixtures: databases (SQLite and a real PostgreSQL) for the store and server tests."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest


def _pg() -> ModuleType:
    """tests/pg.py, loaded by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("phqwatch_tests_pg", Path(__file__).with_name("pg.py"))
    if spec.name in sys.modules:  # type: ignore[union-attr]
        return sys.modules[spec.name]  # type: ignore[union-attr]
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = mod  # type: ignore[union-attr]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def _require_postgres() -> bool:
    return os.environ.get("PHQWATCH_REQUIRE_POSTGRES", "") not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL server for tests: PHQWATCH_TEST_POSTGRES_URL, or a throwaway local cluster.

    Skips when neither is available, unless PHQWATCH_REQUIRE_POSTGRES=1 (CI), where it fails."""
    url = os.environ.get("PHQWATCH_TEST_POSTGRES_URL")
    if url:
        from phqwatch.store.engine import normalise_url

        yield normalise_url(url)
        return
    try:
        cluster = _pg().start_cluster()
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        if _require_postgres():
            pytest.fail(f"PostgreSQL required (PHQWATCH_REQUIRE_POSTGRES=1) but could not start: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh empty PostgreSQL database for one test (dropped afterwards)."""
    pg = _pg()
    url = pg.create_database(postgres_server)
    try:
        yield url
    finally:
        pg.drop_database(postgres_server, url)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'phqwatch.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """A fresh, empty database URL: SQLite file, and (marked `postgres`) a real PostgreSQL database."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")
