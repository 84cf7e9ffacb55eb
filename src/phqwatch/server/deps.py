"""Shared FastAPI dependencies and helpers for routers (API and, later, pages)."""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable, Iterable

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from phqwatch.server.auth import Principal
from phqwatch.server.context import ServerContext
from phqwatch.store import audit


def get_ctx(request: Request) -> ServerContext:
    """The app's ServerContext (settings, db, cipher, worker)."""
    return request.app.state.ctx


#: Integer path and query parameters must fit a signed 64-bit column (SQLite INTEGER, PostgreSQL BIGINT).
DB_INT_MAX = 2**63 - 1


@functools.cache
def _int_params(endpoint: Callable) -> frozenset[str]:
    """Names of the endpoint's parameters typed `int` or `int | None`."""
    try:
        hints = typing.get_type_hints(endpoint)
    except Exception:  # noqa: BLE001 - unresolvable hints: nothing to check
        return frozenset()
    out = set()
    for name, tp in hints.items():
        union = typing.get_origin(tp) in (typing.Union, types.UnionType)
        if name != "return" and int in (typing.get_args(tp) if union else (tp,)):
            out.add(name)
    return frozenset(out)


def _out_of_range(raw: str) -> bool:
    digits = raw.strip().lstrip("+-")
    if not digits.isascii() or not digits.isdigit():
        return False  # not an integer: the parameter's own validation answers
    digits = digits.lstrip("0") or "0"
    return len(digits) > 19 or int(digits) > DB_INT_MAX


def bounded_ints(request: Request) -> None:
    """App-wide dependency: an integer path or query parameter outside the 64-bit range the database can
    hold gets 422 naming the parameter, before any handler or query runs (it used to be an OverflowError)."""
    names = _int_params(request.scope["endpoint"]) if "endpoint" in request.scope else frozenset()
    if not names:
        return
    errors = [
        {
            "loc": (where, name),
            "type": "less_than_equal",
            "msg": f"Input should be between {-DB_INT_MAX} and {DB_INT_MAX}",
        }
        for where, items in (("path", request.path_params.items()), ("query", request.query_params.multi_items()))
        for name, raw in items
        if name in names and isinstance(raw, str) and _out_of_range(raw)
    ]
    if errors:
        raise RequestValidationError(errors)


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
