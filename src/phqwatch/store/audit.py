"""The audit log: who read or changed which patient's health data, when (never the text itself)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from phqwatch.store.tables import AuditEntry

ACTIONS = ("read", "create", "update", "delete")


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
) -> AuditEntry:
    """Append one audit entry (in the caller's transaction, so it commits with the change it records)."""
    if action not in ACTIONS:
        raise ValueError(f"audit action must be one of {ACTIONS}, got {action!r}")
    row = AuditEntry(
        actor_id=actor_id,
        actor_role=actor_role,
        action=action,
        resource=resource,
        resource_id=None if resource_id is None else str(resource_id),
        patient_id=patient_id,
        organisation_id=organisation_id,
        ip=ip,
        details=details or {},
    )
    s.add(row)
    return row


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
