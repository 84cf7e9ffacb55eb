"""Shared FastAPI dependencies and helpers for routers (API and pages)."""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable, Iterable

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from phqwatch.errors import PermissionDeniedError, PhqwatchError
from phqwatch.server.auth import Denial, Principal
from phqwatch.server.client_address import client_address
from phqwatch.server.context import ServerContext
from phqwatch.server.services.read_audit import record_read
from phqwatch.store import audit
from phqwatch.store.tables import Person


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
    """Record that `principal` read `resource` of these patients: one row per patient (a list read names
    every patient listed; an empty list read no health data and leaves no row). One short transaction."""
    ids = [pid for pid in dict.fromkeys(patient_ids) if pid is not None]
    if not ids:
        return
    with ctx.db.write(durable=False) as s:
        record_read(s, principal, resource, ids, resource_id=resource_id, details=details)


_ACTION_OF_METHOD = {"GET": "read", "HEAD": "read", "OPTIONS": "read", "DELETE": "delete", "POST": "create"}


def _path_patient(s: Session, request: Request, principal: Principal | None) -> int | None:
    """The `patient_id` path parameter when it names a patient of the caller's organisation."""
    raw = request.path_params.get("patient_id")
    if principal is None or raw is None or _out_of_range(str(raw)):
        return None
    try:
        p = s.get(Person, int(raw))
    except (TypeError, ValueError):
        return None
    return p.id if p is not None and p.role == "patient" and p.organisation_id == principal.organisation_id else None


def audit_denial(ctx: ServerContext, request: Request, exc: PhqwatchError, status: int) -> None:
    """One audit row (outcome "denied") for a refused request: every 403, and a 404 that hides another
    organisation's patient (an error marked with `server.auth.deny`). Other errors leave no row.

    The actor is the caller authenticated for this request (`request.state.principal`), or "anonymous";
    the patient is the one the refusal concerned, or the `patient_id` path parameter when it names a patient
    of the caller's organisation. resource is the route's name; the route, method and status go in details."""
    denial: Denial | None = getattr(exc, "denial", None)
    if denial is None and not isinstance(exc, PermissionDeniedError):
        return
    who: Principal | None = getattr(request.state, "principal", None)
    route = request.scope.get("route")
    details = {
        "route": getattr(route, "path", request.url.path)[:200],
        "method": request.method,
        "status": status,
        "reason": denial.reason if denial is not None else "forbidden",
    }
    with ctx.db.write(durable=False) as s:
        patient_id = denial.patient_id if denial is not None else _path_patient(s, request, who)
        org = denial.organisation_id if denial is not None and denial.organisation_id is not None else None
        audit.record(
            s,
            actor_id=who.person_id if who else None,
            actor_role=who.role if who else "anonymous",
            action=_ACTION_OF_METHOD.get(request.method, "update"),
            resource=getattr(route, "name", None) or "request",
            patient_id=patient_id,
            organisation_id=org if org is not None else (who.organisation_id if who else None),
            ip=who.ip if who and who.ip else client_address(request),
            details=details,
            outcome="denied",
        )
