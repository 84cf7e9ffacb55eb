"""Helpers for service tests."""

from __future__ import annotations

from sqlalchemy import func, select

from phqwatch.store.tables import Base


def snapshot(world) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Row counts of every table but the audit log: equal before and after means the database was left
    unchanged (a refusal, or a sign-in, only ever adds audit rows)."""
    with world.ctx.db.read() as s:
        return {
            t.name: int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in Base.metadata.sorted_tables
            if t.name != "audit_log"
        }


def api_routes(app) -> list:  # type: ignore[no-untyped-def]
    """Every APIRoute of the app, also those inside included routers (FastAPI may nest them)."""
    from fastapi.routing import APIRoute

    out: list = []

    def walk(routes) -> None:  # type: ignore[no-untyped-def]
        for r in routes:
            if isinstance(r, APIRoute):
                out.append(r)
            elif hasattr(r, "original_router"):
                walk(r.original_router.routes)
            elif hasattr(r, "routes"):
                walk(r.routes)

    walk(app.routes)
    return out
