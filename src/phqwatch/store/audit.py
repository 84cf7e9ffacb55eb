"""The audit log: who read or changed which patient's health data, who was refused, and every sign-in
attempt (never the text itself).

Every row names the actor, the patient where one is concerned, the action, and the outcome
(`details["outcome"]`: "allowed" or "denied"). Sign-in rows (`action="login"`) have no patient; they are
what the login rate limits count (`recent_failures`), so limits hold across server processes that share
the database. They are found through the (patient_id, at) index: reads of health data never have a NULL
patient, so the NULL-patient range stays small.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from phqwatch.store.tables import AuditEntry

ACTIONS = ("read", "create", "update", "delete", "login")
OUTCOMES = ("allowed", "denied")


def _row(
    *,
    actor_id: int | None,
    actor_role: str,
    action: str,
    resource: str,
    patient_id: int | None,
    organisation_id: int | None,
    resource_id: str | int | None,
    ip: str | None,
    details: dict[str, Any] | None,
    outcome: str,
) -> dict[str, Any]:
    if action not in ACTIONS:
        raise ValueError(f"audit action must be one of {ACTIONS}, got {action!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {OUTCOMES}, got {outcome!r}")
    return {
        "actor_id": actor_id,
        "actor_role": actor_role[:16],
        "action": action,
        "resource": resource[:40],
        "resource_id": None if resource_id is None else str(resource_id)[:64],
        "patient_id": patient_id,
        "organisation_id": organisation_id,
        "ip": None if ip is None else ip[:64],
        "details": {**(details or {}), "outcome": outcome},
    }


def record(
    s: Session,
    *,
    actor_id: int | None,
    actor_role: str,
    action: str,
    resource: str,
    patient_id: int | None = None,
    organisation_id: int | None = None,
    resource_id: str | int | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
    outcome: str = "allowed",
) -> AuditEntry:
    """Append one audit entry (in the caller's transaction, so it commits with the change it records)."""
    row = AuditEntry(
        **_row(
            actor_id=actor_id,
            actor_role=actor_role,
            action=action,
            resource=resource,
            patient_id=patient_id,
            organisation_id=organisation_id,
            resource_id=resource_id,
            ip=ip,
            details=details,
            outcome=outcome,
        )
    )
    s.add(row)
    return row


def record_reads(
    s: Session,
    patient_ids: Iterable[int],
    *,
    actor_id: int | None,
    actor_role: str,
    resource: str,
    organisation_id: int | None,
    resource_id: str | int | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """One "read" row per patient (a list or caseload read names every patient listed); one INSERT."""
    rows = [
        _row(
            actor_id=actor_id,
            actor_role=actor_role,
            action="read",
            resource=resource,
            patient_id=pid,
            organisation_id=organisation_id,
            resource_id=resource_id,
            ip=ip,
            details=details,
            outcome="allowed",
        )
        for pid in dict.fromkeys(patient_ids)
    ]
    if rows:
        s.execute(insert(AuditEntry), rows)
    return len(rows)


def recent_failures(
    s: Session,
    *,
    resource: str,
    since: datetime,
    ip: str | None = None,
    account_key: str | None = None,
) -> list[datetime]:
    """Times (oldest first) of denied sign-in attempts on `resource` since `since`, from one client address
    (`ip`) or for one account (`account_key`, stored as the row's resource_id)."""
    q = select(AuditEntry.at).where(
        AuditEntry.patient_id.is_(None),
        AuditEntry.at >= since,
        AuditEntry.action == "login",
        AuditEntry.resource == resource,
        AuditEntry.details["outcome"].as_string() == "denied",
    )
    if ip is not None:
        q = q.where(AuditEntry.ip == ip[:64])
    if account_key is not None:
        q = q.where(AuditEntry.resource_id == account_key)
    return sorted(s.scalars(q))


def entries(
    s: Session, *, patient_id: int | None = None, organisation_id: int | None = None, limit: int = 200
) -> list[AuditEntry]:
    """Newest first."""
    q = select(AuditEntry)
    if patient_id is not None:
        q = q.where(AuditEntry.patient_id == patient_id)
    if organisation_id is not None:
        q = q.where(AuditEntry.organisation_id == organisation_id)
    return list(s.scalars(q.order_by(AuditEntry.id.desc()).limit(limit)))
