"""Job leases: claim, heartbeat, reclaim of a lapsed lease, dead-letter and retry (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from phqwatch.errors import ConflictError, NotFoundError
from phqwatch.store import Database, jobs, people, upgrade
from phqwatch.store.tables import Job

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def q(db_url):
    upgrade(db_url)
    db = Database.from_url(db_url)
    with db.write() as s:
        org = people.create_organisation(s, "c", "Clinic")
        other = people.create_organisation(s, "o", "Other")
        pat = people.create_person(s, organisation_id=org.id, role="patient", external_id="u1")
        pat2 = people.create_person(s, organisation_id=org.id, role="patient", external_id="u2")
        ids = {"org": org.id, "other": other.id, "pat": pat.id, "pat2": pat2.id}
    yield db, ids
    db.dispose()


def _get(db: Database, job_id: int) -> Job:
    with db.read() as s:
        return s.get(Job, job_id)  # type: ignore[return-value]


def test_a_live_lease_is_kept_and_a_lapsed_one_is_reclaimed_within_the_lease(q):
    db, ids = q
    with db.write() as s:
        jobs.enqueue(s, "backfill", organisation_id=ids["org"], patient_id=ids["pat"], run_after=T0)
    with db.write() as s:
        (j,) = jobs.claim(s, "w1", now=T0, lease_s=30)
        jid = j.id
        assert (j.status, j.locked_by, j.attempts, j.lease_until) == ("running", "w1", 1, T0 + timedelta(seconds=30))
    for t in (10, 20, 40):  # w1 heartbeats every 10 s: its lease keeps moving, nobody else takes the job
        with db.write() as s:
            assert jobs.heartbeat(s, jid, "w1", lease_s=30, now=T0 + timedelta(seconds=t)) is True
            assert jobs.claim(s, "w2", now=T0 + timedelta(seconds=t + 5), lease_s=30) == []
    assert _get(db, jid).lease_until == T0 + timedelta(seconds=70)
    # w1 dies after its last beat: one second after the lease lapses, w2 takes the job
    with db.write() as s:
        assert jobs.claim(s, "w2", now=T0 + timedelta(seconds=69), lease_s=30) == []
        (j,) = jobs.claim(s, "w2", now=T0 + timedelta(seconds=71), lease_s=30)
        assert (j.id, j.locked_by, j.attempts) == (jid, "w2", 2)
    # w1 was only slow, not dead: it can neither renew nor complete the job any more
    with db.write() as s:
        assert jobs.heartbeat(s, jid, "w1", lease_s=30, now=T0 + timedelta(seconds=72)) is False
    with pytest.raises(jobs.LeaseLostError, match="no longer leased to worker w1"):
        with db.write() as s:
            jobs.complete(s, jid, worker_id="w1")
    with db.write() as s:
        jobs.complete(s, jid, worker_id="w2", result={"windows": 3})
    j = _get(db, jid)
    assert (j.status, j.locked_by, j.lease_until, j.payload["result"]) == ("done", None, None, {"windows": 3})


def test_a_failing_job_backs_off_exponentially_then_is_dead_lettered(q):
    db, ids = q
    with db.write() as s:
        jobs.enqueue(s, "estimate", organisation_id=ids["org"], patient_id=ids["pat"], run_after=T0)
    now, delays = T0, []
    for attempt in range(1, 5):
        with db.write() as s:
            (j,) = jobs.claim(s, "w", now=now, max_attempts=4)
            status = jobs.fail(s, j.id, "ValueError: boom", max_attempts=4, base_delay_s=5, worker_id="w", now=now)
            if status == "queued":
                delays.append((j.run_after - now).total_seconds())
                assert jobs.claim(s, "w", now=j.run_after - timedelta(seconds=1)) == []  # not before its time
                now = j.run_after
        assert status == ("dead" if attempt == 4 else "queued")
    assert delays == [5, 10, 20]
    with db.read() as s:
        (dead,) = jobs.list_jobs(s, statuses=["dead"], organisation_id=ids["org"])
        assert dead.attempts == 4 and dead.last_error == "ValueError: boom"
        assert jobs.list_jobs(s, statuses=["dead"], organisation_id=ids["other"]) == []
        assert jobs.stats(s, organisation_id=ids["org"]) == {"dead": 1}
    with db.write() as s:  # nothing claims a dead job
        assert jobs.claim(s, "w", now=now + timedelta(days=1)) == []
    with db.write() as s:  # an admin of another organisation cannot see or retry it
        with pytest.raises(NotFoundError):
            jobs.retry(s, dead.id, organisation_id=ids["other"])
    with db.write() as s:
        back = jobs.retry(s, dead.id, organisation_id=ids["org"], now=now)
        assert (back.id, back.status, back.attempts, back.run_after) == (dead.id, "queued", 0, now)
    with db.write() as s:
        with pytest.raises(ConflictError, match="only a job in"):
            jobs.retry(s, dead.id, organisation_id=ids["org"])
        (j,) = jobs.claim(s, "w", now=now)
        jobs.complete(s, j.id, worker_id="w")
    assert _get(db, dead.id).status == "done"


def test_a_job_that_keeps_losing_its_worker_is_dead_lettered_not_run_again(q):
    db, ids = q
    with db.write() as s:
        jobs.enqueue(s, "backfill", organisation_id=ids["org"], patient_id=ids["pat"], run_after=T0)
    now = T0
    for n in range(1, 4):  # each worker dies mid-job (no heartbeat): the next takes the job after the lease
        with db.write() as s:
            (j,) = jobs.claim(s, f"w{n}", now=now, lease_s=30, max_attempts=3)
            assert j.attempts == n
        now += timedelta(seconds=31)
    with db.write() as s:
        assert jobs.claim(s, "w4", now=now, lease_s=30, max_attempts=3) == []
    j = _get(db, j.id)
    assert j.status == "dead" and "worker lost 3 times" in (j.last_error or "")


def test_a_lapsed_job_and_its_queued_twin_never_run_together(q):
    db, ids = q
    with db.write() as s:
        jobs.enqueue_or_extend(
            s,
            "safety_review",
            organisation_id=ids["org"],
            patient_id=ids["pat"],
            key="message_ids",
            values=[1, 2],
            run_after=T0,
        )
    with db.write() as s:
        (first,) = jobs.claim(s, "w1", now=T0 + timedelta(seconds=1), lease_s=30)
    with db.write() as s:  # a new message while it runs: a queued twin
        jobs.enqueue_or_extend(
            s,
            "safety_review",
            organisation_id=ids["org"],
            patient_id=ids["pat"],
            key="message_ids",
            values=[3],
            run_after=T0,
        )
    with db.write() as s:  # w1 died: w2 gets one of the two, never both
        got = jobs.claim(s, "w2", limit=5, now=T0 + timedelta(minutes=5), lease_s=30)
        assert [j.id for j in got] == [first.id]
        assert jobs.claim(s, "w3", limit=5, now=T0 + timedelta(minutes=5), lease_s=30) == []
    with db.write() as s:  # it fails now: the queued twin takes over its message ids (none is lost)
        assert jobs.fail(s, first.id, "boom", worker_id="w2") == "failed"
    with db.read() as s:
        (twin,) = jobs.list_jobs(s, statuses=["queued"])
        assert twin.payload["message_ids"] == [3, 1, 2]


def test_enqueue_soon_moves_a_later_queued_job_earlier(q):
    db, ids = q
    with db.write() as s:
        later = T0 + timedelta(minutes=10)
        assert jobs.enqueue_soon(s, "notify", organisation_id=ids["org"], patient_id=ids["pat"], run_after=later)
        assert not jobs.enqueue_soon(s, "notify", organisation_id=ids["org"], patient_id=ids["pat"], run_after=T0)
        assert not jobs.enqueue_soon(s, "notify", organisation_id=ids["org"], patient_id=ids["pat"], run_after=later)
        (j,) = jobs.list_jobs(s, statuses=["queued"])
        assert j.run_after == T0


@pytest.mark.postgres
def test_postgres_a_lapsed_lease_is_reclaimed_by_exactly_one_of_two_concurrent_workers(postgres_url):
    upgrade(postgres_url)
    db = Database.from_url(postgres_url)
    try:
        with db.write() as s:
            org = people.create_organisation(s, "c", "C")
            pat = people.create_person(s, organisation_id=org.id, role="patient", external_id="p")
            jobs.enqueue(s, "backfill", organisation_id=org.id, patient_id=pat.id, run_after=T0)
        with db.write() as s:
            (j,) = jobs.claim(s, "dead-worker", now=T0, lease_s=5)
        later = T0 + timedelta(seconds=6)
        with db.write() as a:  # two workers claim at the same moment: row locks, SKIP LOCKED
            got_a = jobs.claim(a, "wa", now=later, lease_s=5)
            with db.write() as b:
                got_b = jobs.claim(b, "wb", now=later, lease_s=5)
        assert [x.id for x in got_a] == [j.id] and got_b == []
        assert _get(db, j.id).locked_by == "wa"
    finally:
        db.dispose()
