"""Shared FastAPI dependencies and helpers for routers (API and, later, pages)."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request

from phqwatch.server.auth import Principal
from phqwatch.server.context import ServerContext
from phqwatch.store import audit


def get_ctx(request: Request) -> ServerContext:
    """The app's ServerContext (settings, db, cipher, worker)."""
    return request.app.state.ctx


def audit_read(
    ctx: ServerContext,
    principal: Principal,
    resource: str,
    patient_ids: Iterable[int | None],
    *,
    resource_id: str | int | None = None,
    details: dict | None = None,
) -> None:
    """Record that `principal` read `resource` of these patients (one short write transaction)."""
    ids = list(dict.fromkeys(patient_ids))
    if not ids:
        return
    with ctx.db.write(durable=False) as s:
        for pid in ids:
            audit.record(
                s,
                actor_id=principal.person_id,
                actor_role=principal.role,
                action="read",
                resource=resource,
                resource_id=resource_id,
                patient_id=pid,
                organisation_id=principal.organisation_id,
                ip=principal.ip,
                details=details,
            )
