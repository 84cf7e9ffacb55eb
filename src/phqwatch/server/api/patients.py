"""A patient's clinical data: timeline (estimates and administered PHQ-9s apart), evidence, conversations."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse

from phqwatch.errors import PermissionDeniedError
from phqwatch.server.api.views import estimate_basis, estimate_out, patient_out, questionnaire_out
from phqwatch.server.auth import Principal, authenticate, check_patient_access, require_roles, visible_patient_ids
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
from phqwatch.store import audit, estimates, jobs, messages, people, questionnaires

router = APIRouter(prefix="/api/v1/patients", tags=["patients"])
CLINICAL_READERS = ("admin", "clinician", "patient")


def _iso(t: datetime) -> str:
    """ISO 8601 in UTC with 'Z', as pydantic writes it."""
    return t.isoformat().replace("+00:00", "Z")


@router.get("", response_model=list[PatientOut], summary="Patients the caller may see")
def list_patients(
    principal: Principal = Depends(require_roles(*CLINICAL_READERS)), ctx: ServerContext = Depends(get_ctx)
) -> list[PatientOut]:
    with ctx.db.read() as s:
        ids = visible_patient_ids(s, principal)
        out = [patient_out(p) for p in people.list_people(s, principal.organisation_id, role="patient", ids=ids)]
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
        patient = check_patient_access(s, principal, patient_id, "clinical")
        if evidence:
            est = [
                estimate_out(e, ctx.cipher).model_dump(mode="json")
                for e in estimates.list_estimates(s, patient_id, since=since, until=until)
            ]
        else:  # fast path: plain rows, no ORM objects, no evidence column
            est = [
                {**row, "kind": "estimate", "evidence": None, "window_start": _iso(row["window_start"]),
                 "window_end": _iso(row["window_end"]), "basis": estimate_basis(row["model_name"],
                 row["model_version"], row["n_user_words"], row["window_start"], row["window_end"])}
                for row in estimates.estimate_summaries(s, patient_id, since=since, until=until)
            ]  # fmt: skip
        adm = [
            questionnaire_out(q).model_dump(mode="json")
            for q in questionnaires.list_questionnaires(s, patient_id, since=since, until=until)
        ]
        body = {
            "patient": patient_out(patient).model_dump(),
            "estimates": est,
            "administered": adm,
            "note": TimelineOut.model_fields["note"].default,
        }
    audit_read(ctx, principal, "timeline", [patient_id], details={"evidence": evidence, "n": len(est)})
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
    if include_family and principal.role not in ("admin", "clinician"):
        raise PermissionDeniedError("Only clinicians and admins may read the family's conversations.")
    with ctx.db.read() as s:
        check_patient_access(s, principal, patient_id, "clinical")
        rows = messages.patient_messages(
            s, ctx.cipher, patient_id, since=since, until=until, patient_only=not include_family, limit=limit
        )
    groups: dict[str, dict[str, list]] = {"patient": {}, "family": {}}
    for r in rows:
        who = "patient" if r.by_patient else "family"
        groups[who].setdefault(r.conversation_id, []).append(
            {
                "id": r.id,
                "role": r.role,
                "text": r.text,
                "timestamp": r.sent_at.isoformat(),
                "message_id": r.external_message_id,
                "person_id": r.person_id,
                "crisis_flag": r.crisis_flag,
            }
        )
    audit_read(ctx, principal, "conversations", [patient_id], details={"messages": len(rows), "family": include_family})

    def listed(g: dict[str, list]) -> list[dict]:
        return [{"conversation_id": k, "messages": v} for k, v in g.items()]

    return {"patient_id": patient_id, "patient": listed(groups["patient"]), "family": listed(groups["family"])}


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
