"""Administration: people, care-team assignments, API keys, job queue and audit log (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from phqwatch.errors import NotFoundError
from phqwatch.server.auth import Principal, deny, hash_password, require_roles
from phqwatch.server.context import ServerContext
from phqwatch.server.deps import get_ctx
from phqwatch.server.http_errors import error_responses
from phqwatch.server.schemas import (
    ApiKeyIn,
    ApiKeyOut,
    AssignmentIn,
    AuditEntryOut,
    CareTeamOut,
    PathId,
    PersonIn,
    PersonOut,
    QueryId,
    RemovedOut,
)
from phqwatch.store import audit, jobs, people
from phqwatch.store.tables import Job, Person

router = APIRouter(prefix="/api/v1", tags=["admin"])
admin_only = require_roles("admin")
PersonRole = Literal["admin", "clinician", "patient", "family", "service"]


def _own_person(s: Session, principal: Principal, person_id: int, role: str | None = None) -> Person:
    """A person of the admin's organisation, else a 404; one in another organisation is audited as a denial."""
    try:
        return people.get_person(s, person_id, organisation_id=principal.organisation_id, role=role)
    except NotFoundError as exc:
        other = s.get(Person, person_id)
        if other is not None and other.organisation_id != principal.organisation_id:
            patient = other.id if other.role == "patient" else None
            org = other.organisation_id
            raise deny(exc, patient_id=patient, organisation_id=org, reason="other_organisation") from None
        raise


def person_out(p: Person) -> PersonOut:
    return PersonOut(
        id=p.id,
        role=p.role,
        username=p.username,
        display_name=p.display_name,
        external_id=p.external_id,
        linked_patient_id=p.linked_patient_id,
        active=p.active,
    )


@router.post("/people", response_model=PersonOut, status_code=201, summary="Add a person (any role)")
def create_person(
    body: PersonIn, principal: Principal = Depends(admin_only), ctx: ServerContext = Depends(get_ctx)
) -> PersonOut:
    with ctx.db.write() as s:
        p = people.create_person(
            s,
            organisation_id=principal.organisation_id,
            role=body.role,
            username=body.username,
            password_hash=hash_password(body.password) if body.password else None,
            display_name=body.display_name,
            external_id=body.external_id,
            linked_patient_id=body.linked_patient_id,
        )
        _audit_person(s, principal, p, "create")
        return person_out(p)


@router.get("/people", response_model=list[PersonOut], summary="People of the organisation")
def list_people(
    role: PersonRole | None = None, principal: Principal = Depends(admin_only), ctx: ServerContext = Depends(get_ctx)
) -> list[PersonOut]:
    with ctx.db.read() as s:
        return [person_out(p) for p in people.list_people(s, principal.organisation_id, role=role)]


@router.post(
    "/people/{person_id}/disable", response_model=PersonOut, summary="Disable an account and revoke its sessions"
)
def disable_person(
    person_id: PathId, principal: Principal = Depends(admin_only), ctx: ServerContext = Depends(get_ctx)
) -> PersonOut:
    with ctx.db.write() as s:
        _own_person(s, principal, person_id)
        p = people.set_active(s, person_id, False)
        _audit_person(s, principal, p, "update", details={"active": False})
        return person_out(p)


@router.post(
    "/care-team",
    response_model=CareTeamOut,
    status_code=201,
    summary="Assign a clinician to a patient",
    responses=error_responses(404),
)
def assign(
    body: AssignmentIn, principal: Principal = Depends(admin_only), ctx: ServerContext = Depends(get_ctx)
) -> dict:
    with ctx.db.write() as s:
        _own_person(s, principal, body.clinician_id, role="clinician")
        _own_person(s, principal, body.patient_id, role="patient")
        people.assign_clinician(s, body.clinician_id, body.patient_id)
        audit.record(
            s,
            actor_id=principal.person_id,
            actor_role="admin",
            action="create",
            resource="care_team",
            patient_id=body.patient_id,
            organisation_id=principal.organisation_id,
            ip=principal.ip,
            details={"clinician_id": body.clinician_id},
        )
    return {"clinician_id": body.clinician_id, "patient_id": body.patient_id}


@router.delete(
    "/care-team",
    response_model=RemovedOut,
    summary="Remove a clinician from a patient's care team",
    responses=error_responses(404),
)
def unassign(
    body: AssignmentIn, principal: Principal = Depends(admin_only), ctx: ServerContext = Depends(get_ctx)
) -> dict:
    with ctx.db.write() as s:
        _own_person(s, principal, body.patient_id, role="patient")
        removed = people.unassign_clinician(s, body.clinician_id, body.patient_id)
        audit.record(
            s,
            actor_id=principal.person_id,
            actor_role="admin",
            action="delete",
            resource="care_team",
            patient_id=body.patient_id,
            organisation_id=principal.organisation_id,
            ip=principal.ip,
            details={"clinician_id": body.clinician_id},
        )
    return {"removed": removed}


@router.post(
    "/api-keys",
    response_model=ApiKeyOut,
    status_code=201,
    summary="Create an API key for a service account",
    responses=error_responses(404),
)
def create_api_key(
    body: ApiKeyIn, principal: Principal = Depends(admin_only), ctx: ServerContext = Depends(get_ctx)
) -> ApiKeyOut:
    with ctx.db.write() as s:
        _own_person(s, principal, body.person_id)
        row, key = people.create_api_key(s, body.person_id, body.name)
        return ApiKeyOut(id=row.id, person_id=row.person_id, name=row.name, key=key)


class JobOut(BaseModel):
    """A background job as an admin sees it (ids, counts and the error class; never message text)."""

    id: int
    kind: str
    patient_id: int
    status: str
    attempts: int
    last_error: str | None
    run_after: datetime
    lease_until: datetime | None
    locked_by: str | None
    created_at: datetime
    updated_at: datetime


def job_out(j: Job) -> JobOut:
    return JobOut(
        id=j.id,
        kind=j.kind,
        patient_id=j.patient_id,
        status=j.status,
        attempts=j.attempts,
        last_error=j.last_error,
        run_after=j.run_after,
        lease_until=j.lease_until,
        locked_by=j.locked_by,
        created_at=j.created_at,
        updated_at=j.updated_at,
    )


@router.get(
    "/admin/jobs",
    response_model=dict[str, int] | list[JobOut],
    summary="Job queue of the caller's organisation: counts by status, or the jobs of one status",
)
def job_stats(
    status: Literal["queued", "running", "done", "failed", "dead"] | None = Query(
        None, description="List the jobs of this status (e.g. dead) instead of the counts."
    ),
    limit: int = Query(500, ge=1, le=5000),
    principal: Principal = Depends(admin_only),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, int] | list[JobOut]:
    with ctx.db.read() as s:
        if status is None:
            return jobs.stats(s, organisation_id=principal.organisation_id)
        rows = jobs.list_jobs(s, statuses=[status], organisation_id=principal.organisation_id, limit=limit)
        return [job_out(j) for j in rows]


@router.post(
    "/admin/jobs/{job_id}/retry",
    response_model=JobOut,
    summary="Send a dead (or superseded) job back to the queue",
    responses=error_responses(404, 409),
)
def retry_job(
    job_id: PathId, principal: Principal = Depends(admin_only), ctx: ServerContext = Depends(get_ctx)
) -> JobOut:
    with ctx.db.write() as s:
        queued = jobs.retry(s, job_id, organisation_id=principal.organisation_id)
        audit.record(
            s,
            actor_id=principal.person_id,
            actor_role="admin",
            action="update",
            resource="job",
            resource_id=job_id,
            patient_id=queued.patient_id,
            organisation_id=principal.organisation_id,
            ip=principal.ip,
            details={"retry": True, "queued_job_id": queued.id, "kind": queued.kind},
        )
        out = job_out(queued)
    ctx.job_signal.set()
    return out


@router.get("/admin/audit", response_model=list[AuditEntryOut], summary="Audit log (newest first)")
def audit_log(
    patient_id: QueryId = None,
    limit: int = Query(200, ge=1, le=5000),
    principal: Principal = Depends(admin_only),
    ctx: ServerContext = Depends(get_ctx),
) -> list[dict]:
    with ctx.db.read() as s:
        rows = audit.entries(s, patient_id=patient_id, organisation_id=principal.organisation_id, limit=limit)
        return [
            {
                "at": r.at.isoformat(),
                "actor_id": r.actor_id,
                "actor_role": r.actor_role,
                "action": r.action,
                "resource": r.resource,
                "resource_id": r.resource_id,
                "patient_id": r.patient_id,
                "ip": r.ip,
                "details": r.details,
            }
            for r in rows
        ]


def _audit_person(s: Session, principal: Principal, p: Person, action: str, details: dict | None = None) -> None:
    """One audit row for an admin's change to a person's account."""
    audit.record(
        s,
        actor_id=principal.person_id,
        actor_role="admin",
        action=action,
        resource="person",
        resource_id=p.id,
        patient_id=p.id if p.role == "patient" else None,
        organisation_id=principal.organisation_id,
        ip=principal.ip,
        details=details,
    )
