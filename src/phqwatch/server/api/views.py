"""Row -> response-model conversions shared by routers (and pages)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.responses import Response

from phqwatch import phq9
from phqwatch.server.schemas import (
    AlertEventOut,
    AlertOut,
    ConversationMessageOut,
    EstimateOut,
    PatientOut,
    QuestionnaireOut,
)
from phqwatch.store import TextCipher, alerts, estimates
from phqwatch.store.tables import AdministeredQuestionnaire, Alert, AlertEvent, Estimate, Person


def estimate_basis(model_name: str, model_version: str, n_user_words: int, start: datetime, end: datetime) -> str:
    """What an estimate rests on, in words (shown with every estimate: it is never an administered score)."""
    return (
        f"estimated by {model_name}@{model_version} from {n_user_words} words of the patient's own messages, "
        f"{start.date().isoformat()} to {end.date().isoformat()}"
    )


def estimate_out(row: Estimate | Any, cipher: TextCipher | None = None) -> EstimateOut:
    """An estimate row (an ORM row, or a plain row with the same columns); `cipher` given -> evidence
    decrypted and included (ORM rows only)."""
    return EstimateOut(
        id=row.id,
        model_name=row.model_name,
        model_version=row.model_version,
        window_start=row.window_start,
        window_end=row.window_end,
        status=row.status,
        reason=row.reason,
        value=row.value,
        interval_low=row.interval_low,
        interval_high=row.interval_high,
        band=row.band,
        items=row.items,
        n_user_words=row.n_user_words,
        n_messages=row.n_messages,
        evidence=estimates.evidence_of(cipher, row) if cipher is not None else None,
        basis=estimate_basis(row.model_name, row.model_version, row.n_user_words, row.window_start, row.window_end),
    )


class PdfResponse(Response):
    media_type = "application/pdf"


def pdf_attachment(pdf: bytes, filename: str) -> PdfResponse:
    """A PDF download, never cached: the API's and the dashboard's report exports answer alike."""
    return PdfResponse(
        pdf, headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    )


def person_name(p: Person) -> str:
    """A person's name for a page: the display name, else the username, the external id or `#id`."""
    return p.display_name or p.username or p.external_id or f"#{p.id}"


def patient_out(p: Person, display_name: str | None = None) -> PatientOut:
    return PatientOut(
        id=p.id, external_id=p.external_id, display_name=p.display_name if display_name is None else display_name
    )


def message_out(row: Any, text: str) -> ConversationMessageOut:
    """A stored message (a `MessageRow`, or the store's decrypted `StoredMessage`) with its plain text."""
    return ConversationMessageOut(
        id=row.id,
        role="assistant" if row.role == "assistant" else "user",  # the roles ingestion accepts
        text=text,
        timestamp=row.sent_at,
        message_id=row.external_message_id,
        person_id=row.person_id,
        crisis_flag=bool(row.crisis_flag),
    )


def questionnaire_out(row: AdministeredQuestionnaire) -> QuestionnaireOut:
    return QuestionnaireOut(
        id=row.id,
        patient_id=row.patient_id,
        instrument=row.instrument,
        administered_at=row.administered_at,
        total=row.total,
        items=row.items,
        source=row.source,
        band=phq9.band(row.total),
    )


def alert_out(row: Alert, cipher: TextCipher, history: list[AlertEvent] | None = None) -> AlertOut:
    return AlertOut(
        id=row.id,
        patient_id=row.patient_id,
        kind=row.kind,
        severity=row.severity,
        status=row.status,
        message=row.message,
        excerpt=alerts.excerpt_of(cipher, row),
        details=row.details or {},
        evidence=row.evidence or [],
        assignee_id=row.assignee_id,
        snoozed_until=row.snoozed_until,
        created_at=row.created_at,
        updated_at=row.updated_at,
        history=None
        if history is None
        else [
            AlertEventOut(
                action=e.action,
                actor_id=e.actor_id,
                from_status=e.from_status,
                to_status=e.to_status,
                note=e.note,
                details=e.details or {},
                at=e.at,
            )
            for e in history
        ],
    )
