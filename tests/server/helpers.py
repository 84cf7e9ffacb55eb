"""Helpers for service tests."""

from __future__ import annotations

from sqlalchemy import func, select

from phqwatch.store.tables import Base


def snapshot(world) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Row counts of every table: equal before and after means the database was left unchanged."""
    with world.ctx.db.read() as s:
        return {t.name: int(s.scalar(select(func.count()).select_from(t)) or 0) for t in Base.metadata.sorted_tables}
