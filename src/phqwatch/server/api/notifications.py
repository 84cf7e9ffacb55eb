"""Notification channels and their deliveries (admins only; the caller's organisation only).

A channel is a signed webhook or an e-mail address, organisation-wide or of one clinician (then it is used
for the patients on that clinician's care team), at an escalation level (0: first notice of an alert; 1..:
escalations when an urgent alert stays unacknowledged). A webhook's signing secret is shown once, when the
channel is created.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from phqwatch.errors import InputError
from phqwatch.server.auth import Principal, require_roles
from phqwatch.server.context import ServerContext
from phqwatch.server.deps import get_ctx
from phqwatch.server.http_errors import error_responses
from phqwatch.server.schemas import PathId, QueryId
from phqwatch.store import audit, notifications, people
from phqwatch.store.tables import NotificationChannel, NotificationDelivery

router = APIRouter(prefix="/api/v1/admin", tags=["notifications"])
admin_only = require_roles("admin")
_EMAIL = re.compile(r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[^@\s<>,;\"']+$")
_NOT_FOUND = error_responses(404)

Severity = Literal["info", "warning", "high", "urgent"]


class ChannelIn(BaseModel):
    kind: Literal["webhook", "email"]
    target: str = Field(..., min_length=3, max_length=500, description="Webhook URL, or an e-mail address.")
    name: str = Field("", max_length=120)
    level: int = Field(0, ge=0, le=10, description="0: first notice; 1 and up: escalation levels.")
    min_severity: Severity = Field("urgent", description="Alerts below this severity are not sent here.")
    clinician_id: int | None = Field(
        None, ge=1, le=2**63 - 1, description="A clinician's own channel; None: organisation-wide."
    )
    secret: str | None = Field(
        None, min_length=16, max_length=200, description="Webhook signing secret; None: one is generated."
    )


class ChannelOut(BaseModel):
    id: int
    kind: str
    target: str
    name: str
    level: int
    min_severity: str
    clinician_id: int | None
    created_at: datetime
    secret: str | None = Field(None, description="The webhook signing secret; only in the answer to create.")


class DeliveryOut(BaseModel):
    id: int
    delivery_id: str
    alert_id: int
    channel_id: int
    event: str
    level: int
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def channel_out(c: NotificationChannel, secret: str | None = None) -> ChannelOut:
    return ChannelOut(
        id=c.id,
        kind=c.kind,
        target=c.target,
        name=c.name,
        level=c.level,
        min_severity=c.min_severity,
        clinician_id=c.clinician_id,
        created_at=c.created_at,
        secret=secret,
    )


def delivery_out(d: NotificationDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        delivery_id=d.delivery_id,
        alert_id=d.alert_id,
        channel_id=d.channel_id,
        event=d.event,
        level=d.level,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        last_error=d.last_error,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
    )


def check_target(kind: str, target: str, *, production: bool) -> None:
    """A webhook is an http(s) URL (https in production, unless on loopback); an e-mail is one address."""
    if kind == "email":
        if not _EMAIL.match(target):
            raise InputError("target must be one e-mail address (name@example.org)", field="target")
        return
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError("target must be an http(s) URL", field="target", fix="e.g. https://pager.example.org/hook")
    if production and parts.scheme != "https" and not _loopback(parts.hostname):
        raise InputError(
            "webhook URLs must use https in production mode",
            field="target",
            fix="Use an https:// URL (plain http is accepted only for a receiver on loopback).",
        )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.post(
    "/notification-channels",
    response_model=ChannelOut,
    status_code=201,
    summary="Add a notification channel (a webhook's secret is shown only here)",
    responses=_NOT_FOUND,
)
def create_channel(
    body: ChannelIn, principal: Principal = Depends(admin_only), ctx: ServerContext = Depends(get_ctx)
) -> ChannelOut:
    check_target(body.kind, body.target, production=ctx.settings.production)
    secret = (body.secret or secrets.token_urlsafe(32)) if body.kind == "webhook" else None
    with ctx.db.write() as s:
        if body.clinician_id is not None:
            people.get_person(s, body.clinician_id, organisation_id=principal.organisation_id, role="clinician")
        row = notifications.create_channel(
            s,
            organisation_id=principal.organisation_id,
            kind=body.kind,
            target=body.target,
            secret_enc=ctx.cipher.encrypt(secret) if secret else None,
            name=body.name,
            level=body.level,
            min_severity=body.min_severity,
            clinician_id=body.clinician_id,
        )
        _audit(s, principal, "create", row.id, {"kind": row.kind, "level": row.level})
        return channel_out(row, secret)


@router.get("/notification-channels", response_model=list[ChannelOut], summary="Notification channels in use")
def list_channels(
    principal: Principal = Depends(admin_only), ctx: ServerContext = Depends(get_ctx)
) -> list[ChannelOut]:
    with ctx.db.read() as s:
        return [channel_out(c) for c in notifications.list_channels(s, principal.organisation_id)]


@router.delete(
    "/notification-channels/{channel_id}",
    response_model=ChannelOut,
    summary="Stop using a notification channel (its past deliveries are kept)",
    responses=_NOT_FOUND,
)
def delete_channel(
    channel_id: PathId, principal: Principal = Depends(admin_only), ctx: ServerContext = Depends(get_ctx)
) -> ChannelOut:
    with ctx.db.write() as s:
        row = notifications.deactivate_channel(s, channel_id, organisation_id=principal.organisation_id)
        _audit(s, principal, "delete", row.id, {"kind": row.kind, "level": row.level})
        return channel_out(row)


@router.get(
    "/notification-deliveries", response_model=list[DeliveryOut], summary="Notification deliveries (newest first)"
)
def list_deliveries(
    status: Literal["pending", "delivered", "dead"] | None = None,
    alert_id: QueryId = None,
    limit: int = Query(200, ge=1, le=5000),
    principal: Principal = Depends(admin_only),
    ctx: ServerContext = Depends(get_ctx),
) -> list[DeliveryOut]:
    with ctx.db.read() as s:
        rows = notifications.list_deliveries(
            s, principal.organisation_id, statuses=[status] if status else None, alert_id=alert_id, limit=limit
        )
        return [delivery_out(d) for d in rows]


@router.post(
    "/notification-deliveries/{delivery_pk}/retry",
    response_model=DeliveryOut,
    summary="Send a dead notification again (same delivery id)",
    responses=error_responses(404, 409),
)
def retry_delivery(
    delivery_pk: PathId, principal: Principal = Depends(admin_only), ctx: ServerContext = Depends(get_ctx)
) -> DeliveryOut:
    from phqwatch.store import jobs

    with ctx.db.write() as s:
        d = notifications.retry_delivery(s, delivery_pk, organisation_id=principal.organisation_id)
        jobs.enqueue_soon(s, "notify", organisation_id=d.organisation_id, patient_id=d.patient_id)
        audit.record(
            s,
            actor_id=principal.person_id,
            actor_role="admin",
            action="update",
            resource="notification_delivery",
            resource_id=d.id,
            patient_id=d.patient_id,
            organisation_id=principal.organisation_id,
            ip=principal.ip,
            details={"retry": True, "alert_id": d.alert_id},
        )
        out = delivery_out(d)
    ctx.job_signal.set()
    return out


def _audit(s: Session, principal: Principal, action: str, channel_id: int, details: dict) -> None:
    audit.record(
        s,
        actor_id=principal.person_id,
        actor_role="admin",
        action=action,
        resource="notification_channel",
        resource_id=channel_id,
        organisation_id=principal.organisation_id,
        ip=principal.ip,
        details=details,
    )
