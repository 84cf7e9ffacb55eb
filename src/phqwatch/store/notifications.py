"""Notification channels (where alerts are sent) and deliveries (one alert event to one channel).

Deliveries are the durable outbox: created in the transaction that decides to notify, sent by "notify"
jobs, retried with exponential backoff and dead-lettered after a number of attempts. A delivery keeps one
`delivery_id` across its retries so that a receiver can drop repeats.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from phqwatch.errors import ConflictError, InputError, NotFoundError
from phqwatch.store.tables import (
    ALERT_SEVERITIES,
    CHANNEL_KINDS,
    Alert,
    AlertEvent,
    CareTeam,
    NotificationChannel,
    NotificationDelivery,
    utcnow,
)

_RANK = {s: i for i, s in enumerate(ALERT_SEVERITIES)}


# ---- channels -----------------------------------------------------------------------------------------
def create_channel(
    s: Session,
    *,
    organisation_id: int,
    kind: str,
    target: str,
    secret_enc: bytes | None = None,
    name: str = "",
    level: int = 0,
    min_severity: str = "urgent",
    clinician_id: int | None = None,
) -> NotificationChannel:
    """Add a channel. `clinician_id`: the channel of one clinician (their care team's patients only)."""
    if kind not in CHANNEL_KINDS:
        raise InputError(f"channel kind must be one of {CHANNEL_KINDS}", field="kind")
    if min_severity not in ALERT_SEVERITIES:
        raise InputError(f"min_severity must be one of {ALERT_SEVERITIES}", field="min_severity")
    row = NotificationChannel(
        organisation_id=organisation_id,
        clinician_id=clinician_id,
        kind=kind,
        target=target,
        secret_enc=secret_enc,
        name=name,
        level=level,
        min_severity=min_severity,
        active=True,
        created_at=utcnow(),
    )
    s.add(row)
    s.flush()
    return row


def list_channels(s: Session, organisation_id: int, *, active: bool | None = True) -> list[NotificationChannel]:
    q = select(NotificationChannel).where(NotificationChannel.organisation_id == organisation_id)
    if active is not None:
        q = q.where(NotificationChannel.active.is_(active))
    return list(s.scalars(q.order_by(NotificationChannel.level, NotificationChannel.id)))


def get_channel(s: Session, channel_id: int, *, organisation_id: int) -> NotificationChannel:
    row = s.get(NotificationChannel, channel_id)
    if row is None or row.organisation_id != organisation_id or not row.active:
        raise NotFoundError(
            f"No notification channel with id {channel_id}.",
            fix="List channels with GET /api/v1/admin/notification-channels.",
        )
    return row


def deactivate_channel(s: Session, channel_id: int, *, organisation_id: int) -> NotificationChannel:
    """Stop using a channel; its past deliveries stay for the record."""
    row = get_channel(s, channel_id, organisation_id=organisation_id)
    row.active = False
    s.flush()
    return row


def channels_for(s: Session, alert: Alert, *, level: int) -> list[NotificationChannel]:
    """The active channels of `level` that an alert goes to: organisation-wide ones and those of clinicians
    on the patient's care team, whose `min_severity` the alert reaches."""
    team = select(CareTeam.clinician_id).where(CareTeam.patient_id == alert.patient_id)
    rows = s.scalars(
        select(NotificationChannel).where(
            NotificationChannel.organisation_id == alert.organisation_id,
            NotificationChannel.active.is_(True),
            NotificationChannel.level == level,
            or_(NotificationChannel.clinician_id.is_(None), NotificationChannel.clinician_id.in_(team)),
        )
    )
    rank = _RANK.get(alert.severity, -1)
    return [c for c in rows if _RANK.get(c.min_severity, 99) <= rank]


def organisations_with_channels(s: Session, *, level: int) -> list[int]:
    q = select(NotificationChannel.organisation_id).where(
        NotificationChannel.active.is_(True), NotificationChannel.level == level
    )
    return list(s.scalars(q.distinct()))


# ---- deliveries ---------------------------------------------------------------------------------------
def add_delivery(
    s: Session, alert: Alert, channel: NotificationChannel, *, event: str, level: int, now: datetime | None = None
) -> NotificationDelivery | None:
    """A pending delivery of `event` of an alert to a channel; None when that one exists already."""
    exists = s.scalar(
        select(NotificationDelivery.id).where(
            NotificationDelivery.alert_id == alert.id,
            NotificationDelivery.channel_id == channel.id,
            NotificationDelivery.event == event,
        )
    )
    if exists is not None:
        return None
    now = now or utcnow()
    row = NotificationDelivery(
        delivery_id=str(uuid.uuid4()),
        organisation_id=alert.organisation_id,
        patient_id=alert.patient_id,
        alert_id=alert.id,
        channel_id=channel.id,
        event=event,
        level=level,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    s.add(row)
    s.flush()
    return row


def due_deliveries(
    s: Session, patient_id: int, *, now: datetime | None = None
) -> list[tuple[NotificationDelivery, NotificationChannel, Alert]]:
    """Pending deliveries of a patient's alerts that are due, with their channel and alert."""
    now = now or utcnow()
    q = (
        select(NotificationDelivery, NotificationChannel, Alert)
        .join(NotificationChannel, NotificationChannel.id == NotificationDelivery.channel_id)
        .join(Alert, Alert.id == NotificationDelivery.alert_id)
        .where(
            NotificationDelivery.patient_id == patient_id,
            NotificationDelivery.status == "pending",
            NotificationDelivery.next_attempt_at <= now,
        )
        .order_by(NotificationDelivery.id)
    )
    return [(d, c, a) for d, c, a in s.execute(q)]


def record_attempt(
    s: Session,
    delivery_pk: int,
    error: str | None,
    *,
    max_attempts: int,
    base_delay_s: float,
    now: datetime | None = None,
) -> str:
    """Record one send: delivered, or pending again after a backoff, or dead after `max_attempts`.

    A dead delivery leaves a `notification_failed` event in the alert's history. Returns the new status."""
    now = now or utcnow()
    d = s.get(NotificationDelivery, delivery_pk)
    if d is None or d.status != "pending":
        return "missing" if d is None else d.status
    d.attempts += 1
    if error is None:
        d.status = "delivered"
        d.delivered_at = now
        d.last_error = None
    else:
        d.last_error = error[:2000]
        if d.attempts >= max_attempts:
            d.status = "dead"
            alert = s.get(Alert, d.alert_id)
            if alert is not None:
                alert_event(
                    s, alert, "notification_failed", now=now,
                    delivery_id=d.delivery_id, channel_id=d.channel_id, attempts=d.attempts, level=d.level,
                )  # fmt: skip
        else:
            d.next_attempt_at = now + timedelta(seconds=base_delay_s * 2 ** (d.attempts - 1))
    s.flush()
    return d.status


def next_pending_at(s: Session, patient_id: int) -> datetime | None:
    """When the patient's next pending delivery is due (None: nothing pending)."""
    return s.scalar(
        select(func.min(NotificationDelivery.next_attempt_at)).where(
            NotificationDelivery.patient_id == patient_id, NotificationDelivery.status == "pending"
        )
    )


def list_deliveries(
    s: Session,
    organisation_id: int,
    *,
    statuses: Sequence[str] | None = None,
    alert_id: int | None = None,
    limit: int = 500,
) -> list[NotificationDelivery]:
    """Deliveries of the organisation, newest first."""
    q = select(NotificationDelivery).where(NotificationDelivery.organisation_id == organisation_id)
    if statuses is not None:
        q = q.where(NotificationDelivery.status.in_(list(statuses)))
    if alert_id is not None:
        q = q.where(NotificationDelivery.alert_id == alert_id)
    return list(s.scalars(q.order_by(NotificationDelivery.id.desc()).limit(limit)))


def retry_delivery(
    s: Session, delivery_pk: int, *, organisation_id: int, now: datetime | None = None
) -> NotificationDelivery:
    """A dead delivery goes back to pending with fresh attempts (same delivery id)."""
    d = s.get(NotificationDelivery, delivery_pk)
    if d is None or d.organisation_id != organisation_id:
        raise NotFoundError(
            f"No notification delivery with id {delivery_pk}.",
            fix="List dead deliveries with GET /api/v1/admin/notification-deliveries?status=dead.",
        )
    if d.status != "dead":
        raise ConflictError(
            f"Notification delivery {delivery_pk} is {d.status}; only a dead one can be retried.",
            fix="List dead deliveries with GET /api/v1/admin/notification-deliveries?status=dead.",
        )
    d.status = "pending"
    d.attempts = 0
    d.next_attempt_at = now or utcnow()
    s.flush()
    return d


def alert_event(s: Session, alert: Alert, action: str, *, now: datetime | None = None, **details: Any) -> AlertEvent:
    """A history row of an alert written by the notification system (no status change, no actor)."""
    ev = AlertEvent(
        alert_id=alert.id,
        actor_id=None,
        action=action,
        from_status=alert.status,
        to_status=alert.status,
        details=details,
        at=now or utcnow(),
    )
    s.add(ev)
    s.flush()
    return ev
