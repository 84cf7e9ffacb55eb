"""A patient's clinical data: timeline (estimates and administered PHQ-9s apart), evidence, conversations."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse

from phqwatch.server.api.views import estimate_out, patient_out, questionnaire_out
from phqwatch.server.auth import Principal, authenticate, check_patient_access, require_roles
from phqwatch.server.context import ServerContext
from phqwatch.server.deps import audit_read, get_ctx
from phqwatch.server.schemas import (
    EstimateOut,
    PathId,
    PatientConversationsOut,
    PatientOut,
    QuestionnaireOut,
    QueuedOut,
    TimelineOut,
)
from phqwatch.server.services import patient_record
from phqwatch.server.services.caseload import visible_patients
from phqwatch.store import audit, estimates, jobs, questionnaires

router = APIRouter(prefix="/api/v1/patients", tags=["patients"])
CLINICAL_READERS = ("admin", "clinician", "patient")


@router.get("", response_model=list[PatientOut], summary="Patients the caller may see")
def list_patients(
    principal: Principal = Depends(require_roles(*CLINICAL_READERS)), ctx: ServerContext = Depends(get_ctx)
) -> list[PatientOut]:
    with ctx.db.read() as s:
        out = [patient_out(p) for p in visible_patients(s, principal)]
    audit_read(ctx, principal, "patient_list", [p.id for p in out])
    return out


@router.get("/{patient_id}/timeline", response_model=TimelineOut, summary="Estimate timeline and administered PHQ-9s")
def timeline(
    patient_id: PathId,
    since: datetime | None = None,
    until: datetime | None = None,
    evidence: bool = Query(False, description="Include each estimate's evidence quotes."),
    principal: Principal = Depends(authenticate),
    ctx: ServerContext = Depends(get_ctx),
) -> Response:
    with ctx.db.read() as s:
        body = patient_record.timeline_out(
            s, ctx.cipher, principal, patient_id, since=since, until=until, evidence=evidence
        )
    n = len(body["estimates"])
    audit_read(ctx, principal, "timeline", [patient_id], details={"evidence": evidence, "n": n})
    return JSONResponse(body)


@router.get("/{patient_id}/estimates/{estimate_id}", response_model=EstimateOut, summary="One estimate with evidence")
def estimate_detail(
    patient_id: PathId,
    estimate_id: PathId,
    principal: Principal = Depends(authenticate),
    ctx: ServerContext = Depends(get_ctx),
) -> EstimateOut:
    with ctx.db.read() as s:
        check_patient_access(s, principal, patient_id, "clinical")
        out = estimate_out(estimates.get_estimate(s, estimate_id, patient_id=patient_id), ctx.cipher)
    audit_read(ctx, principal, "estimate", [patient_id], resource_id=estimate_id)
    return out


@router.get("/{patient_id}/questionnaires", response_model=list[QuestionnaireOut], summary="Administered PHQ-9s")
def administered(
    patient_id: PathId, principal: Principal = Depends(authenticate), ctx: ServerContext = Depends(get_ctx)
) -> list[QuestionnaireOut]:
    with ctx.db.read() as s:
        check_patient_access(s, principal, patient_id, "clinical")
        out = [questionnaire_out(q) for q in questionnaires.list_questionnaires(s, patient_id)]
    audit_read(ctx, principal, "questionnaires", [patient_id])
    return out


@router.get(
    "/{patient_id}/conversations",
    response_model=PatientConversationsOut,
    summary="The patient's conversations (family's kept apart)",
)
def conversations(
    patient_id: PathId,
    include_family: bool = Query(False, description="Also the family's conversations (clinicians/admins only)."),
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(2000, ge=1, le=20000),
    principal: Principal = Depends(authenticate),
    ctx: ServerContext = Depends(get_ctx),
) -> dict:
    with ctx.db.read() as s:
        body = patient_record.patient_conversations(
            s, ctx.cipher, principal, patient_id, include_family=include_family, since=since, until=until, limit=limit
        )
    n = sum(len(c["messages"]) for group in ("patient", "family") for c in body[group])
    audit_read(ctx, principal, "conversations", [patient_id], details={"messages": n, "family": include_family})
    return body


@router.post(
    "/{patient_id}/reestimate",
    response_model=QueuedOut,
    status_code=202,
    summary="Queue a re-estimation (or a backfill) job",
)
def reestimate(
    patient_id: PathId,
    backfill: bool = False,
    principal: Principal = Depends(require_roles("admin", "clinician")),
    ctx: ServerContext = Depends(get_ctx),
) -> dict:
    with ctx.db.write() as s:
        check_patient_access(s, principal, patient_id, "clinical")
        new = jobs.enqueue(
            s, "backfill" if backfill else "estimate", organisation_id=principal.organisation_id, patient_id=patient_id
        )
        audit.record(
            s,
            actor_id=principal.person_id,
            actor_role=principal.role,
            action="create",
            resource="estimate_job",
            patient_id=patient_id,
            organisation_id=principal.organisation_id,
            ip=principal.ip,
            details={"backfill": backfill, "queued": new},
        )
    ctx.job_signal.set()
    return {"queued": new, "coalesced": not new}
