"""Alembic environment: run by phqwatch.store.migrate (programmatic, no alembic.ini needed)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from phqwatch.errors import StoreError
from phqwatch.store import report_tables  # noqa: F401  (registers its tables)
from phqwatch.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from phqwatch.store.engine import make_engine

        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise StoreError(
                "The Alembic config has neither a connection nor a sqlalchemy.url.",
                fix="Run migrations through phqwatch.store.migrate (`phqwatch db upgrade`), which sets both.",
            )
        engine = make_engine(url)
        with engine.connect() as conn:
            _run(conn)
        engine.dispose()
    else:
        _run(connection)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
