"""The durable job table: enqueue (coalesced per kind and patient), claim with a lease, heartbeat,
complete, fail with backoff, dead-letter and retry.

Kinds: "estimate" and "backfill" (re-estimation), "safety_review" (an LLM second opinion on crisis-screen
decisions; its payload lists message ids, grown by `enqueue_or_extend` while the job waits in the queue),
"notify" (send a patient's due alert notifications).

A claimed job is `running` with a lease (`lease_until`) that its worker's heartbeat renews. Any worker's
`claim` takes back a job whose lease lapsed (its worker died) as readily as a queued one, so a killed worker
delays its job by about one lease. A job that keeps failing, or keeps losing its worker, ends `dead` after
`max_attempts`; an admin lists and retries dead jobs. `failed` means superseded by a queued twin.

PostgreSQL: several workers claim with `FOR UPDATE SKIP LOCKED`. SQLite: claims run inside a
`BEGIN IMMEDIATE` transaction (one writer at a time), so one worker (or a few, serialised) is safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, and_, exists, func, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from phqwatch.errors import ConflictError, NotFoundError, StoreError
from phqwatch.store.tables import Job, utcnow

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PgInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

JOB_KINDS = ("estimate", "backfill", "safety_review", "notify")
#: Statuses an admin may send back to the queue.
RETRYABLE = ("dead", "failed")


class LeaseLostError(StoreError):
    """The job is no longer this worker's: its lease lapsed and another worker took it."""


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

        stmt: PgInsert | SqliteInsert = pg_insert(Job).on_conflict_do_nothing(
            index_elements=["kind", "patient_id"], index_where=where
        )
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


def _lapsed(now: datetime) -> Any:
    return and_(Job.status == "running", or_(Job.lease_until.is_(None), Job.lease_until < now))


def enqueue_soon(
    s: Session, kind: str, *, organisation_id: int, patient_id: int, run_after: datetime | None = None
) -> bool:
    """Queue a job to run at `run_after` (default now), or move the queued one of the same kind for the
    patient earlier when it waits longer than that. True when a new job was queued."""
    run_after = run_after or utcnow()
    if enqueue(s, kind, organisation_id=organisation_id, patient_id=patient_id, run_after=run_after):
        return True
    queued = s.scalar(select(Job).where(Job.kind == kind, Job.patient_id == patient_id, Job.status == "queued"))
    if queued is not None and queued.run_after > run_after:
        queued.run_after = run_after
        queued.updated_at = utcnow()
        s.flush()
    return False


def claim(
    s: Session,
    worker_id: str,
    *,
    limit: int = 1,
    now: datetime | None = None,
    lease_s: float = 30.0,
    max_attempts: int | None = None,
) -> list[Job]:
    """Lease up to `limit` jobs to `worker_id` for `lease_s` seconds and return them (oldest first).

    Due queued jobs and running jobs whose lease lapsed (their worker died) are both taken. A job is skipped
    while another job of the same kind for the same patient runs under a live lease. A lapsed job that has
    already used `max_attempts` goes to `dead` instead of running again (it may be what kills workers).
    """
    now = now or utcnow()
    running = aliased(Job)
    q = (
        select(Job)
        .where(
            or_(and_(Job.status == "queued", Job.run_after <= now), _lapsed(now)),
            ~exists().where(
                and_(
                    running.kind == Job.kind,
                    running.patient_id == Job.patient_id,
                    running.status == "running",
                    running.lease_until >= now,
                    running.id != Job.id,
                )
            ),
        )
        .order_by(Job.run_after, Job.id)
        .limit(limit)
    )
    if s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True, of=Job)
    taken: list[Job] = []
    seen: set[tuple[str, int]] = set()
    for j in s.scalars(q):
        if (j.kind, j.patient_id) in seen:  # a lapsed job and its queued twin: one at a time
            continue
        seen.add((j.kind, j.patient_id))
        if j.status == "running" and max_attempts is not None and j.attempts >= max_attempts:
            j.status = "dead"
            j.last_error = f"worker lost {j.attempts} times (last: {j.locked_by})"[:2000]
            j.locked_by = None
            j.lease_until = None
            j.updated_at = now
            continue
        j.status = "running"
        j.locked_by = worker_id
        j.locked_at = now
        j.lease_until = now + timedelta(seconds=lease_s)
        j.attempts += 1
        j.updated_at = now
        taken.append(j)
    s.flush()
    return taken


def heartbeat(s: Session, job_id: int, worker_id: str, *, lease_s: float, now: datetime | None = None) -> bool:
    """Renew the lease of a job `worker_id` is running. False when the job is no longer its own."""
    now = now or utcnow()
    # An UPDATE without RETURNING gives a CursorResult; Session.execute is typed as Result (SQLAlchemy's advice: cast).
    r = cast(
        CursorResult[Any],
        s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running", Job.locked_by == worker_id)
            .values(lease_until=now + timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False)
        ),
    )
    return bool(r.rowcount)


def _owned(s: Session, job_id: int, worker_id: str | None) -> Job | None:
    """The job, checked to be running under `worker_id` (when given); LeaseLostError when it is not."""
    j = s.get(Job, job_id)
    if j is not None and worker_id is not None and (j.status != "running" or j.locked_by != worker_id):
        raise LeaseLostError(
            f"Job {job_id} is no longer leased to worker {worker_id} (status {j.status}, now {j.locked_by}).",
            fix="Nothing to do: another worker took the job over after this worker's lease lapsed. "
            "If this recurs, raise PHQWATCH_JOB_LEASE_S or lower PHQWATCH_JOB_HEARTBEAT_S.",
        )
    return j


def complete(s: Session, job_id: int, *, result: dict[str, Any] | None = None, worker_id: str | None = None) -> None:
    """Mark a job done. ``result`` (ids and counts only, never text) is kept under ``payload["result"]``.

    With `worker_id`, raise LeaseLostError (so the caller's transaction rolls back) when another worker
    has taken the job over."""
    j = _owned(s, job_id, worker_id)
    if j is not None:
        if result is not None:
            j.payload = {**(j.payload or {}), "result": result}
        j.status = "done"
        j.locked_by = None
        j.lease_until = None
        j.updated_at = utcnow()


def fail(
    s: Session,
    job_id: int,
    error: str,
    *,
    max_attempts: int = 5,
    base_delay_s: float = 5.0,
    worker_id: str | None = None,
    now: datetime | None = None,
) -> str:
    """Record a failure: re-queue with exponential backoff, or dead-letter after `max_attempts`.

    Returns the new status. If a newer job is already queued for the patient, this one is closed as
    `failed` (superseded) and the lists in its payload are merged into the queued one.
    """
    j = _owned(s, job_id, worker_id)
    if j is None:
        return "missing"
    now = now or utcnow()
    j.last_error = error[:2000]
    j.locked_by = None
    j.lease_until = None
    j.updated_at = now
    twin = _queued_twin(s, j)
    if twin is not None:
        _merge_into(twin, j)
        j.status = "failed"
    elif j.attempts >= max_attempts:
        j.status = "dead"
    else:
        j.status = "queued"
        j.run_after = now + timedelta(seconds=base_delay_s * 2 ** (j.attempts - 1))
    s.flush()
    return j.status


def retry(s: Session, job_id: int, *, organisation_id: int, now: datetime | None = None) -> Job:
    """Send a dead (or failed) job of the organisation back to the queue with fresh attempts; returns the
    queued job (a queued twin, when one exists, takes over this job's payload lists instead)."""
    now = now or utcnow()
    j = s.get(Job, job_id)
    if j is None or j.organisation_id != organisation_id:
        raise NotFoundError(f"No job with id {job_id}.", fix="List dead jobs with GET /api/v1/admin/jobs?status=dead.")
    if j.status not in RETRYABLE:
        raise ConflictError(
            f"Job {job_id} is {j.status}; only a job in {RETRYABLE} can be retried.",
            fix="Wait for it to finish, or list dead jobs with GET /api/v1/admin/jobs?status=dead.",
        )
    twin = _queued_twin(s, j)
    if twin is not None:
        _merge_into(twin, j)
        twin.run_after = min(twin.run_after, now)
        j.status = "failed"
        j.last_error = f"retried as job {twin.id}"
        j.updated_at = now
        s.flush()
        return twin
    j.status = "queued"
    j.attempts = 0
    j.run_after = now
    j.updated_at = now
    s.flush()
    return j


def _queued_twin(s: Session, j: Job) -> Job | None:
    return s.scalar(
        select(Job).where(Job.kind == j.kind, Job.patient_id == j.patient_id, Job.status == "queued", Job.id != j.id)
    )


def _merge_into(twin: Job, j: Job) -> None:
    """Lists in `j`'s payload (e.g. message ids to review) are appended to the twin's, so none is lost."""
    payload = dict(twin.payload or {})
    changed = False
    for key, values in (j.payload or {}).items():
        if key == "result" or not isinstance(values, list):
            continue
        old = list(payload.get(key) or [])
        new = old + [v for v in values if v not in old]
        if new != old:
            payload[key] = new
            changed = True
    if changed:
        twin.payload = payload


def requeue_stale(s: Session, *, now: datetime | None = None) -> int:
    """Running jobs whose lease lapsed (their worker died) go back to the queue. Returns how many.

    `claim` takes such jobs itself; this is for tools that want them queued without claiming them."""
    now = now or utcnow()
    return _requeue(s, list(s.scalars(select(Job).where(_lapsed(now)))), now)


def requeue_worker(s: Session, worker_id: str) -> int:
    """Re-queue the running jobs of a worker id that is starting again (its previous run died)."""
    jobs = s.scalars(select(Job).where(Job.status == "running", Job.locked_by == worker_id))
    return _requeue(s, list(jobs), utcnow())


def _requeue(s: Session, jobs: list[Job], now: datetime) -> int:
    for j in jobs:
        twin = _queued_twin(s, j)
        j.locked_by = None
        j.lease_until = None
        j.updated_at = now
        if twin is not None:
            _merge_into(twin, j)
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


def list_jobs(
    s: Session,
    *,
    statuses: Sequence[str] | None = None,
    patient_id: int | None = None,
    organisation_id: int | None = None,
    limit: int | None = None,
) -> list[Job]:
    """Jobs by id (of one organisation, patient or set of statuses when given)."""
    q = select(Job)
    if statuses is not None:
        q = q.where(Job.status.in_(list(statuses)))
    if patient_id is not None:
        q = q.where(Job.patient_id == patient_id)
    if organisation_id is not None:
        q = q.where(Job.organisation_id == organisation_id)
    return list(s.scalars(q.order_by(Job.id).limit(limit)))


def purge_done(s: Session, *, older_than_s: float) -> int:
    """Delete finished jobs older than `older_than_s` seconds."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    rows = list(s.scalars(select(Job).where(Job.status == "done", Job.updated_at < cutoff)))
    for j in rows:
        s.delete(j)
    return len(rows)
