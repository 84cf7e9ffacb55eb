"""Alerts: list (most urgent first) and act on them (acknowledge, assign, snooze, resolve, reopen)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from phqwatch.errors import NotFoundError
from phqwatch.server.api.views import alert_out
from phqwatch.server.auth import Principal, check_patient_access, deny, require_roles, visible_patient_ids
from phqwatch.server.context import ServerContext
from phqwatch.server.deps import audit_read, get_ctx
from phqwatch.server.schemas import AlertOut, AssignIn, NoteIn, PathId, QueryId, SnoozeIn
from phqwatch.store import alerts, audit
from phqwatch.store.tables import ALERT_STATUSES, Alert, AlertStatus

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
READERS = ("admin", "clinician")


@router.get("", response_model=list[AlertOut], summary="Alerts of the caller's patients, urgent first")
def list_alerts(
    status: list[AlertStatus] = Query(["open", "acknowledged", "snoozed"], description=f"Any of {ALERT_STATUSES}"),
    patient_id: QueryId = None,
    limit: int = Query(500, ge=1, le=5000),
    principal: Principal = Depends(require_roles(*READERS)),
    ctx: ServerContext = Depends(get_ctx),
) -> list[AlertOut]:
    with ctx.db.write() as s:  # write: snoozed alerts whose time is up are woken
        ids = visible_patient_ids(s, principal)
        if patient_id is not None:
            check_patient_access(s, principal, patient_id, "clinical")
            ids = [patient_id]
        rows = alerts.list_alerts(s, principal.organisation_id, patient_ids=ids, statuses=status, limit=limit)
        out = [alert_out(a, ctx.cipher) for a in rows]
    audit_read(ctx, principal, "alerts", [a.patient_id for a in out])
    return out


def _load(s: Session, principal: Principal, alert_id: int) -> Alert:
    a = alerts.get_alert(s, alert_id)
    if a.organisation_id != principal.organisation_id:  # another organisation's patient: hidden, and audited
        raise deny(
            NotFoundError(f"No alert with id {alert_id}."),
            patient_id=a.patient_id,
            organisation_id=a.organisation_id,
            reason="other_organisation",
        )
    check_patient_access(s, principal, a.patient_id, "clinical")
    return a


@router.get("/{alert_id}", response_model=AlertOut, summary="One alert with its history")
def get_alert(
    alert_id: PathId, principal: Principal = Depends(require_roles(*READERS)), ctx: ServerContext = Depends(get_ctx)
) -> AlertOut:
    with ctx.db.read() as s:
        a = _load(s, principal, alert_id)
        out = alert_out(a, ctx.cipher, alerts.history(s, a.id))
    audit_read(ctx, principal, "alert", [out.patient_id], resource_id=alert_id)
    return out


def _act(ctx: ServerContext, principal: Principal, alert_id: int, action: str, fn: Callable) -> AlertOut:
    with ctx.db.write() as s:
        a = _load(s, principal, alert_id)
        fn(s, a)
        audit.record(
            s,
            actor_id=principal.person_id,
            actor_role=principal.role,
            action="update",
            resource="alert",
            resource_id=a.id,
            patient_id=a.patient_id,
            organisation_id=a.organisation_id,
            ip=principal.ip,
            details={"action": action},
        )
        return alert_out(a, ctx.cipher, alerts.history(s, a.id))


@router.post("/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge(
    alert_id: PathId,
    body: NoteIn | None = None,
    principal: Principal = Depends(require_roles(*READERS)),
    ctx: ServerContext = Depends(get_ctx),
) -> AlertOut:
    note = body.note if body else None
    return _act(
        ctx, principal, alert_id, "acknowledge", lambda s, a: alerts.acknowledge(s, a, principal.person_id, note)
    )


@router.post("/{alert_id}/assign", response_model=AlertOut)
def assign(
    alert_id: PathId,
    body: AssignIn,
    principal: Principal = Depends(require_roles(*READERS)),
    ctx: ServerContext = Depends(get_ctx),
) -> AlertOut:
    return _act(
        ctx,
        principal,
        alert_id,
        "assign",
        lambda s, a: alerts.assign(s, a, body.assignee_id, principal.person_id, body.note),
    )


@router.post("/{alert_id}/snooze", response_model=AlertOut)
def snooze(
    alert_id: PathId,
    body: SnoozeIn,
    principal: Principal = Depends(require_roles(*READERS)),
    ctx: ServerContext = Depends(get_ctx),
) -> AlertOut:
    return _act(
        ctx,
        principal,
        alert_id,
        "snooze",
        lambda s, a: alerts.snooze(
            s, a, body.until, principal.person_id, body.note, max_crisis_hours=ctx.settings.crisis_snooze_max_hours
        ),
    )


@router.post("/{alert_id}/resolve", response_model=AlertOut)
def resolve(
    alert_id: PathId,
    body: NoteIn | None = None,
    principal: Principal = Depends(require_roles(*READERS)),
    ctx: ServerContext = Depends(get_ctx),
) -> AlertOut:
    note = body.note if body else None
    return _act(ctx, principal, alert_id, "resolve", lambda s, a: alerts.resolve(s, a, principal.person_id, note))


@router.post("/{alert_id}/reopen", response_model=AlertOut)
def reopen(
    alert_id: PathId,
    body: NoteIn | None = None,
    principal: Principal = Depends(require_roles(*READERS)),
    ctx: ServerContext = Depends(get_ctx),
) -> AlertOut:
    note = body.note if body else None
    return _act(ctx, principal, alert_id, "reopen", lambda s, a: alerts.reopen(s, a, principal.person_id, note))
