"""Ingestion: messages (idempotent, crisis-screened synchronously) and administered PHQ-9s."""

from __future__ import annotations

from datetime import UTC, datetime, time

from fastapi import APIRouter, Depends

from phqwatch.errors import NotFoundError
from phqwatch.safety import ScreenResult
from phqwatch.safety.resources import crisis_resources
from phqwatch.server.api.views import questionnaire_out
from phqwatch.server.auth import Principal, check_patient_access, require_roles
from phqwatch.server.context import ServerContext
from phqwatch.server.deps import get_ctx
from phqwatch.server.http_errors import error_responses
from phqwatch.server.safety_review import second_opinion_enabled
from phqwatch.server.schemas import (
    BatchIn,
    IngestedOut,
    IngestOut,
    MessageIn,
    QuestionnaireIn,
    QuestionnaireOut,
    ScreenOut,
)
from phqwatch.server.services.ingestion import ingest
from phqwatch.store import audit, people, questionnaires
from phqwatch.transcripts.schema import Message

router = APIRouter(prefix="/api/v1", tags=["ingest"])
INGEST_ROLES = ("service", "admin")


def _to_message(m: MessageIn) -> Message:
    ts = m.timestamp
    if ts is not None and ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return Message(m.user_id, m.conversation_id, m.role, m.text, ts, m.message_id)


def _screen_out(r: ScreenResult | None) -> ScreenOut | None:
    if r is None:
        return None
    score = None if r.score is None else round(r.score, 4)
    return ScreenOut(
        flag=r.flag,
        severity=r.severity,
        categories=list(r.categories),
        score=score,
        rules=list(r.rules),
        crisis_alert=r.crisis_alert,
    )


def _ingest(ctx: ServerContext, principal: Principal, items: list[MessageIn]) -> IngestOut:
    msgs = [_to_message(m) for m in items]
    with ctx.db.write() as s:
        outcome = ingest(
            s,
            ctx.cipher,
            organisation_id=principal.organisation_id,
            items=msgs,
            actor_id=principal.person_id,
            actor_role=principal.role,
            ip=principal.ip,
            screen=ctx.crisis_screen,
            second_opinion=second_opinion_enabled(ctx.settings),
        )
    if outcome.jobs_queued:
        ctx.job_signal.set()
    # A re-sent message that was flagged before gets the crisis text again (its alert is not duplicated).
    crisis = (
        bool(outcome.crisis_alert_ids)
        or any(r.flagged for r in outcome.results)
        or any(v.flag for v in outcome.screened.values())
    )
    return IngestOut(
        accepted=outcome.accepted,
        duplicates=len(outcome.results) - outcome.accepted,
        results=[
            IngestedOut(
                index=r.index, status=r.status, id=r.message_id, screen=_screen_out(outcome.screened.get(r.index))
            )
            for r in outcome.results
        ],
        crisis=crisis,
        crisis_text=crisis_resources(ctx.settings.crisis_locale, ctx.settings.crisis_text) if crisis else None,
        crisis_alert_ids=outcome.crisis_alert_ids,
        jobs_queued=outcome.jobs_queued,
    )


@router.post(
    "/messages",
    response_model=IngestOut,
    summary="Ingest one message (transcript contract); screened for crisis risk at once",
    responses=error_responses(404, 409),
)
def ingest_one(
    body: MessageIn,
    principal: Principal = Depends(require_roles(*INGEST_ROLES)),
    ctx: ServerContext = Depends(get_ctx),
) -> IngestOut:
    return _ingest(ctx, principal, [body])


@router.post(
    "/messages/batch",
    response_model=IngestOut,
    summary="Ingest up to 1,000 messages in one transaction",
    responses=error_responses(404, 409),
)
def ingest_batch(
    body: BatchIn,
    principal: Principal = Depends(require_roles(*INGEST_ROLES)),
    ctx: ServerContext = Depends(get_ctx),
) -> IngestOut:
    return _ingest(ctx, principal, body.messages)


@router.post(
    "/questionnaires",
    response_model=QuestionnaireOut,
    status_code=201,
    summary="Add an administered PHQ-9 (questionnaire contract)",
    responses=error_responses(404),
)
def add_questionnaire(
    body: QuestionnaireIn,
    principal: Principal = Depends(require_roles("service", "admin", "clinician")),
    ctx: ServerContext = Depends(get_ctx),
) -> QuestionnaireOut:
    when = body.date if isinstance(body.date, datetime) else datetime.combine(body.date, time(12, 0))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    with ctx.db.write() as s:
        if body.user_id is not None:
            found = people.people_by_external_ids(s, principal.organisation_id, [body.user_id]).get(body.user_id)
            if found is None:
                raise NotFoundError(f"user_id '{body.user_id}' is not a patient of this organisation.")
            patient_id = found.id
        else:
            assert body.patient_id is not None  # QuestionnaireIn requires exactly one of user_id / patient_id
            patient_id = body.patient_id
        check_patient_access(s, principal, patient_id, "ingest")
        row = questionnaires.add_questionnaire(
            s,
            organisation_id=principal.organisation_id,
            patient_id=patient_id,
            administered_at=when,
            total=body.phq9_total,
            items=body.items,
            source=principal.role,
            entered_by_id=principal.person_id,
        )
        audit.record(
            s,
            actor_id=principal.person_id,
            actor_role=principal.role,
            action="create",
            resource="questionnaire",
            resource_id=row.id,
            patient_id=patient_id,
            organisation_id=principal.organisation_id,
            ip=principal.ip,
        )
        return questionnaire_out(row)
