"""The durable job table: enqueue (coalesced per kind and patient), claim, complete, fail, recover.

Kinds: "estimate" and "backfill" (re-estimation), "safety_review" (an LLM second opinion on crisis-screen
decisions; its payload lists message ids, grown by `enqueue_or_extend` while the job waits in the queue).

PostgreSQL: several workers claim with `FOR UPDATE SKIP LOCKED`. SQLite: claims run inside a
`BEGIN IMMEDIATE` transaction (one writer at a time), so one worker (or a few, serialised) is safe. A job
left `running` by a killed worker is re-queued by `requeue_stale` after its lease runs out: nothing is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, text
from sqlalchemy.orm import Session, aliased

from phqwatch.errors import StoreError
from phqwatch.store.tables import Job, utcnow

JOB_KINDS = ("estimate", "backfill", "safety_review")


def enqueue(
    s: Session,
    kind: str,
    *,
    organisation_id: int,
    patient_id: int,
    payload: dict[str, Any] | None = None,
    run_after: datetime | None = None,
) -> bool:
    """Queue a job unless one of the same kind is already queued for the patient. True when new."""
    if kind not in JOB_KINDS:
        raise ValueError(f"job kind must be one of {JOB_KINDS}")
    now = utcnow()
    row = {
        "kind": kind,
        "organisation_id": organisation_id,
        "patient_id": patient_id,
        "status": "queued",
        "payload": payload or {},
        "attempts": 0,
        "run_after": run_after or now,
        "created_at": now,
        "updated_at": now,
    }
    where = text("status = 'queued'")  # literal, so PostgreSQL can infer the partial unique index
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(Job).on_conflict_do_nothing(index_elements=["kind", "patient_id"], index_where=where)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(Job).on_conflict_do_nothing(index_elements=["kind", "patient_id"], index_where=where)
    return s.execute(stmt.values(**row).returning(Job.id)).scalar() is not None


def enqueue_or_extend(
    s: Session,
    kind: str,
    *,
    organisation_id: int,
    patient_id: int,
    key: str,
    values: Sequence[Any],
    run_after: datetime | None = None,
) -> bool:
    """Queue a job whose payload is ``{key: values}``, or, when one of the same kind is already queued for the
    patient, append the values it lacks to its ``payload[key]`` (order kept, no duplicates). True when new.

    A job already running is never changed: the values then go to a new queued job (``claim`` waits for the
    running one to finish before it hands the new one out)."""
    wanted = list(dict.fromkeys(values))
    for _ in range(3):
        if enqueue(
            s, kind, organisation_id=organisation_id, patient_id=patient_id, payload={key: wanted}, run_after=run_after
        ):
            return True
        q = select(Job).where(Job.kind == kind, Job.patient_id == patient_id, Job.status == "queued")
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()  # a worker claiming it waits (or skips it) until this transaction ends
        job = s.scalar(q.limit(1))
        if job is None:  # claimed between the two statements: queue a fresh one
            continue
        payload = dict(job.payload or {})
        old = list(payload.get(key) or [])
        new = old + [v for v in wanted if v not in old]
        if new != old:
            payload[key] = new
            job.payload = payload  # a new dict: the JSON column sees the change
            job.updated_at = utcnow()
            s.flush()
        return False
    raise StoreError(
        f"Could not queue or extend a '{kind}' job for patient {patient_id}: it kept being claimed.",
        fix="Retry the request; if it persists, check the workers are not restarting in a loop.",
    )


def claim(s: Session, worker_id: str, *, limit: int = 1, now: datetime | None = None) -> list[Job]:
    """Mark up to `limit` due jobs as running for `worker_id` and return them (oldest first).

    A job is skipped while another job of the same kind for the same patient is running.
    """
    now = now or utcnow()
    running = aliased(Job)
    q = (
        select(Job)
        .where(
            Job.status == "queued",
            Job.run_after <= now,
            ~exists().where(
                and_(running.kind == Job.kind, running.patient_id == Job.patient_id, running.status == "running")
            ),
        )
        .order_by(Job.run_after, Job.id)
        .limit(limit)
    )
    if s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True, of=Job)
    jobs = list(s.scalars(q))
    for j in jobs:
        j.status = "running"
        j.locked_by = worker_id
        j.locked_at = now
        j.attempts += 1
        j.updated_at = now
    s.flush()
    return jobs


def complete(s: Session, job_id: int, *, result: dict[str, Any] | None = None) -> None:
    """Mark a job done. ``result`` (ids and counts only, never text) is kept under ``payload["result"]``."""
    j = s.get(Job, job_id)
    if j is not None:
        if result is not None:
            j.payload = {**(j.payload or {}), "result": result}
        j.status = "done"
        j.locked_by = None
        j.updated_at = utcnow()


def fail(s: Session, job_id: int, error: str, *, max_attempts: int = 5, base_delay_s: float = 5.0) -> str:
    """Record a failure: re-queue with exponential backoff, or mark failed after `max_attempts`.

    Returns the new status. If a newer job is already queued for the patient, this one is closed as
    failed-superseded (the queued one will cover it).
    """
    j = s.get(Job, job_id)
    if j is None:
        return "missing"
    now = utcnow()
    j.last_error = error[:2000]
    j.locked_by = None
    j.updated_at = now
    queued_twin = s.scalar(
        select(Job.id).where(Job.kind == j.kind, Job.patient_id == j.patient_id, Job.status == "queued", Job.id != j.id)
    )
    if j.attempts >= max_attempts or queued_twin is not None:
        j.status = "failed"
    else:
        j.status = "queued"
        j.run_after = now + timedelta(seconds=base_delay_s * 2 ** (j.attempts - 1))
    return j.status


def requeue_stale(s: Session, *, lease_s: float, now: datetime | None = None) -> int:
    """Jobs running for longer than `lease_s` (their worker died) go back to the queue. Returns how many."""
    now = now or utcnow()
    stale = s.scalars(select(Job).where(Job.status == "running", Job.locked_at < now - timedelta(seconds=lease_s)))
    return _requeue(s, list(stale), now)


def requeue_worker(s: Session, worker_id: str) -> int:
    """Re-queue the running jobs of a worker id that is starting again (its previous run died)."""
    jobs = s.scalars(select(Job).where(Job.status == "running", Job.locked_by == worker_id))
    return _requeue(s, list(jobs), utcnow())


def _requeue(s: Session, jobs: list[Job], now: datetime) -> int:
    for j in jobs:
        twin = s.scalar(
            select(Job.id).where(Job.kind == j.kind, Job.patient_id == j.patient_id, Job.status == "queued")
        )
        j.locked_by = None
        j.updated_at = now
        if twin is not None:
            j.status = "failed"  # superseded: the queued twin covers the same patient
            j.last_error = "worker lost; superseded by a queued job"
        else:
            j.status = "queued"
            j.run_after = now
    s.flush()
    return len(jobs)


def stats(s: Session, *, organisation_id: int | None = None) -> dict[str, int]:
    """Job counts by status (of one organisation when `organisation_id` is given)."""
    q = select(Job.status, func.count(Job.id))
    if organisation_id is not None:
        q = q.where(Job.organisation_id == organisation_id)
    return {status: int(n) for status, n in s.execute(q.group_by(Job.status))}


def list_jobs(s: Session, *, statuses: Sequence[str] | None = None, patient_id: int | None = None) -> list[Job]:
    q = select(Job)
    if statuses is not None:
        q = q.where(Job.status.in_(list(statuses)))
    if patient_id is not None:
        q = q.where(Job.patient_id == patient_id)
    return list(s.scalars(q.order_by(Job.id)))


def purge_done(s: Session, *, older_than_s: float) -> int:
    """Delete finished jobs older than `older_than_s` seconds."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    rows = list(s.scalars(select(Job).where(Job.status == "done", Job.updated_at < cutoff)))
    for j in rows:
        s.delete(j)
    return len(rows)
