"""Alerts and their history: open (idempotent by key), acknowledge, assign, snooze, resolve."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from phqwatch.errors import InputError, NotFoundError
from phqwatch.store.crypto import TextCipher
from phqwatch.store.tables import ALERT_SEVERITIES, Alert, AlertEvent, CareTeam, Person, utcnow

#: Statuses that still need a human (snoozed ones come back when their time is up).
ACTIVE_STATUSES = ("open", "acknowledged", "snoozed")
_SEVERITY_RANK = {s: i for i, s in enumerate(reversed(ALERT_SEVERITIES))}  # urgent 0 ... info 3


def open_alert(
    s: Session,
    cipher: TextCipher,
    *,
    organisation_id: int,
    patient_id: int,
    kind: str,
    severity: str,
    key: str,
    message: str,
    excerpt: str | None = None,
    details: dict[str, Any] | None = None,
    evidence: Sequence[str] = (),
    message_id: int | None = None,
    estimate_id: int | None = None,
    actor_id: int | None = None,
    skip_if_active_kind: bool = False,
) -> Alert | None:
    """Open an alert unless one with the same (patient, key) exists -> None.

    `skip_if_active_kind`: also skip when an active alert of the same kind is open for the patient.
    """
    if severity not in ALERT_SEVERITIES:
        raise InputError(f"severity must be one of {ALERT_SEVERITIES}", field="severity")
    if s.scalar(select(Alert.id).where(Alert.patient_id == patient_id, Alert.key == key)) is not None:
        return None
    if skip_if_active_kind and (
        s.scalar(
            select(Alert.id).where(
                Alert.patient_id == patient_id, Alert.kind == kind, Alert.status.in_(ACTIVE_STATUSES)
            )
        )
        is not None
    ):
        return None
    now = utcnow()
    row = Alert(
        organisation_id=organisation_id,
        patient_id=patient_id,
        kind=kind,
        severity=severity,
        status="open",
        key=key,
        message=message,
        excerpt_enc=cipher.encrypt(excerpt) if excerpt else None,
        details=details or {},
        evidence=list(evidence),
        message_id=message_id,
        estimate_id=estimate_id,
        created_at=now,
        updated_at=now,
    )
    s.add(row)
    s.flush()
    s.add(AlertEvent(alert_id=row.id, actor_id=actor_id, action="opened", to_status="open", at=now))
    return row


def active_unacknowledged(s: Session, patient_id: int, kind: str) -> Alert | None:
    """The patient's newest alert of `kind` that is still open (nobody has acknowledged it yet)."""
    return s.scalar(
        select(Alert)
        .where(Alert.patient_id == patient_id, Alert.kind == kind, Alert.status == "open")
        .order_by(Alert.id.desc())
        .limit(1)
    )


def add_hit(
    s: Session,
    cipher: TextCipher,
    alert: Alert,
    *,
    message_id: int,
    excerpt: str,
    details: dict[str, Any],
    max_excerpt_chars: int = 2000,
) -> AlertEvent:
    """Fold a further hit into an alert nobody has acknowledged yet: its evidence, excerpt and history grow.

    One open alert per patient keeps the queue readable; once acknowledged, a new hit opens a new alert.
    """
    alert.evidence = [*(alert.evidence or []), f"message:{message_id}"]
    old = excerpt_of(cipher, alert) or ""
    alert.excerpt_enc = cipher.encrypt((old + " | " + excerpt if old else excerpt)[-max_excerpt_chars:])
    return _event(s, alert, "new_hit", None, None, None, message_id=message_id, **details)


def excerpt_of(cipher: TextCipher, alert: Alert) -> str | None:
    return None if alert.excerpt_enc is None else cipher.decrypt(alert.excerpt_enc)


def get_alert(s: Session, alert_id: int) -> Alert:
    row = s.get(Alert, alert_id)
    if row is None:
        raise NotFoundError(f"No alert with id {alert_id}.", fix="List alerts with GET /api/v1/alerts.")
    return row


def list_alerts(
    s: Session,
    organisation_id: int,
    *,
    patient_ids: Iterable[int] | None = None,
    statuses: Sequence[str] | None = ACTIVE_STATUSES,
    now: datetime | None = None,
    limit: int = 500,
) -> list[Alert]:
    """Alerts, most urgent first, then newest. Snoozed alerts whose time is up count as open."""
    wake_snoozed(s, now=now)
    q = select(Alert).where(Alert.organisation_id == organisation_id)
    if patient_ids is not None:
        q = q.where(Alert.patient_id.in_(list(patient_ids)))
    if statuses is not None:
        q = q.where(Alert.status.in_(list(statuses)))
    rank = case(_SEVERITY_RANK, value=Alert.severity, else_=9)
    return list(s.scalars(q.order_by(rank, Alert.created_at.desc(), Alert.id.desc()).limit(limit)))


def history(s: Session, alert_id: int) -> list[AlertEvent]:
    return list(s.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)))


def _event(
    s: Session, alert: Alert, action: str, actor_id: int | None, to_status: str | None, note: str | None, **details: Any
) -> AlertEvent:
    now = utcnow()
    ev = AlertEvent(
        alert_id=alert.id,
        actor_id=actor_id,
        action=action,
        from_status=alert.status,
        to_status=to_status or alert.status,
        note=note,
        details=details,
        at=now,
    )
    if to_status is not None:
        alert.status = to_status
    alert.updated_at = now
    s.add(ev)
    s.flush()
    return ev


def _require_active(alert: Alert, action: str) -> None:
    if alert.status == "resolved":
        raise InputError(f"alert {alert.id} is resolved; cannot {action} it", field="status", fix="Reopen it first.")


def acknowledge(s: Session, alert: Alert, actor_id: int | None, note: str | None = None) -> AlertEvent:
    _require_active(alert, "acknowledge")
    alert.snoozed_until = None
    return _event(s, alert, "acknowledged", actor_id, "acknowledged", note)


def assign(s: Session, alert: Alert, assignee_id: int, actor_id: int | None, note: str | None = None) -> AlertEvent:
    _require_active(alert, "assign")
    assignee = s.get(Person, assignee_id)
    if (
        assignee is None
        or assignee.organisation_id != alert.organisation_id
        or assignee.role
        not in (
            "clinician",
            "admin",
        )
    ):
        raise NotFoundError(f"No clinician or admin with id {assignee_id} in this organisation.")
    if assignee.role == "clinician" and not on_care_team(s, assignee_id, alert.patient_id):
        raise InputError(
            f"clinician {assignee_id} is not on the care team of patient {alert.patient_id}",
            field="assignee_id",
            fix="Assign someone on the patient's care team, or ask an admin to add this clinician to it first.",
        )
    previous = alert.assignee_id
    alert.assignee_id = assignee_id
    return _event(s, alert, "assigned", actor_id, None, note, assignee_id=assignee_id, previous_assignee_id=previous)


def on_care_team(s: Session, clinician_id: int, patient_id: int) -> bool:
    row = s.scalar(select(CareTeam.id).where(CareTeam.clinician_id == clinician_id, CareTeam.patient_id == patient_id))
    return row is not None


def is_crisis(alert: Alert) -> bool:
    """An urgent alert, or one the crisis screen opened: its snooze is capped."""
    return alert.severity == "urgent" or alert.kind == "crisis"


def snooze(
    s: Session,
    alert: Alert,
    until: datetime,
    actor_id: int | None,
    note: str | None = None,
    *,
    max_crisis_hours: float | None = None,
) -> AlertEvent:
    """Snooze until `until`; a crisis alert no longer than `max_crisis_hours` ahead (None: no cap)."""
    _require_active(alert, "snooze")
    now = utcnow()
    if until <= now:
        raise InputError("snooze time must be in the future", field="until")
    if max_crisis_hours is not None and is_crisis(alert) and until > now + timedelta(hours=max_crisis_hours):
        raise InputError(
            f"a crisis alert can be snoozed for at most {max_crisis_hours:g} hours",
            field="until",
            fix="Pick an earlier time, or acknowledge or resolve the alert instead.",
        )
    alert.snoozed_until = until
    return _event(s, alert, "snoozed", actor_id, "snoozed", note, until=until.isoformat())


def resolve(s: Session, alert: Alert, actor_id: int | None, note: str | None = None) -> AlertEvent:
    _require_active(alert, "resolve")
    alert.snoozed_until = None
    return _event(s, alert, "resolved", actor_id, "resolved", note)


def reopen(s: Session, alert: Alert, actor_id: int | None, note: str | None = None) -> AlertEvent:
    alert.snoozed_until = None
    return _event(s, alert, "reopened", actor_id, "open", note)


def wake_snoozed(s: Session, now: datetime | None = None) -> int:
    """Snoozed alerts whose time is up go back to open (with a history row). Returns how many."""
    now = now or utcnow()
    rows = list(
        s.scalars(
            select(Alert).where(
                Alert.status == "snoozed", or_(Alert.snoozed_until <= now, Alert.snoozed_until.is_(None))
            )
        )
    )
    for a in rows:
        a.snoozed_until = None
        _event(s, a, "woke", None, "open", "snooze time is up")
    return len(rows)
