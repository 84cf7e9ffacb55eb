"""Schema migrations (Alembic), run programmatically: `upgrade(database_url)`; `phqwatch db upgrade`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from phqwatch.errors import StoreError
from phqwatch.store.engine import make_engine, normalise_url

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic Config pointing at the packaged migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> str | None:
    """Migrate the database at `database_url` to `revision` (default: the newest). Returns the new revision."""
    from alembic import command

    cfg = alembic_config(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        return current_revision(database_url, engine=engine)
    except StoreError:
        raise
    except Exception as exc:  # alembic/driver errors -> one clear message
        raise StoreError(
            f"Migrating {_redact(database_url)} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}",
            fix="Check the URL and that the database server is reachable; then run `phqwatch db upgrade` again.",
        ) from exc
    finally:
        engine.dispose()


def current_revision(database_url: str, *, engine: Engine | None = None) -> str | None:
    """The revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    own = engine is None
    engine = engine or make_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        if own:
            engine.dispose()


def head_revision() -> str:
    """The newest revision shipped with this phqwatch."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise StoreError(
            f"No migration revisions were found in {MIGRATIONS_DIR}.",
            fix="Reinstall phqwatch: its package is incomplete.",
        )
    return head


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except Exception:
        return "<database url>"
