"""Administered questionnaires (PHQ-9): what the person answered. Never mixed with estimates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from phqwatch.errors import InputError
from phqwatch.store.tables import AdministeredQuestionnaire


def add_questionnaire(
    s: Session,
    *,
    organisation_id: int,
    patient_id: int,
    administered_at: datetime,
    total: int | None = None,
    items: Sequence[int] | None = None,
    source: str = "api",
    entered_by_id: int | None = None,
    instrument: str = "PHQ-9",
) -> AdministeredQuestionnaire:
    """Store an administered PHQ-9 (total, or nine items 0-3 whose sum is the total)."""
    if items is not None:
        items = [int(v) for v in items]
        if len(items) != 9 or any(not 0 <= v <= 3 for v in items):
            raise InputError("expected nine item scores, each 0-3", field="items")
        if total is not None and total != sum(items):
            raise InputError(f"total {total} is not the sum of the items ({sum(items)})", field="total")
        total = sum(items)
    if total is None or not 0 <= int(total) <= 27:
        raise InputError(f"expected a PHQ-9 total 0-27, found {total!r}", field="total")
    row = AdministeredQuestionnaire(
        organisation_id=organisation_id,
        patient_id=patient_id,
        instrument=instrument,
        administered_at=administered_at,
        total=int(total),
        items=list(items) if items is not None else None,
        source=source,
        entered_by_id=entered_by_id,
    )
    s.add(row)
    s.flush()
    return row


def list_questionnaires(
    s: Session, patient_id: int, *, since: datetime | None = None, until: datetime | None = None
) -> list[AdministeredQuestionnaire]:
    """A patient's administered questionnaires, oldest first."""
    q = select(AdministeredQuestionnaire).where(AdministeredQuestionnaire.patient_id == patient_id)
    if since is not None:
        q = q.where(AdministeredQuestionnaire.administered_at >= since)
    if until is not None:
        q = q.where(AdministeredQuestionnaire.administered_at <= until)
    return list(s.scalars(q.order_by(AdministeredQuestionnaire.administered_at, AdministeredQuestionnaire.id)))
