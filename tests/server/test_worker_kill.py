"""Killing a worker (SIGKILL) mid-job: another worker finishes the job within seconds, and exactly once.

Two real `phqwatch worker` processes share one database. Worker A claims a large backfill (two years of
daily messages, one estimate a week); while it works, its heartbeat keeps worker B off the job even past
the lease. A is then killed with SIGKILL; B takes the job over as soon as A's lease lapses and finishes it.
Every estimate is stored once and the job is done once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from phqwatch.config import DEV_ENCRYPTION_KEY
from phqwatch.server.worker import BACKFILL_STEP_DAYS
from phqwatch.store import Database, TextCipher, jobs, messages, people, upgrade
from phqwatch.store.tables import AuditEntry, Estimate, Job
from phqwatch.transcripts.schema import Message

LEASE_S = 2.0
WEEKS = 312  # long enough that worker A is still busy after 1.5 leases on a fast machine
TEXT = "I felt tired again and could not sleep much, work was hard and I stayed in bed most of the day"


def _worker(url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PHQWATCH_DATABASE_URL": url,
        "PHQWATCH_PRODUCTION": "false",
        "PHQWATCH_JOB_LEASE_S": str(LEASE_S),
        "PHQWATCH_JOB_HEARTBEAT_S": "0.4",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "phqwatch.cli", "worker", "--poll", "0.2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _job(db: Database, job_id: int) -> Job:
    with db.read() as s:
        return s.get(Job, job_id)  # type: ignore[return-value]


def _wait(pred, timeout: float, what: str, procs: list[subprocess.Popen]):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        for p in procs:
            if p.poll() is not None and p.returncode != -signal.SIGKILL:
                raise AssertionError(f"worker exited: {p.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_sigkill_mid_job_another_worker_finishes_it_within_seconds_exactly_once(db_url):
    upgrade(db_url)
    db = Database.from_url(db_url)
    t0 = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
    with db.write() as s:
        org = people.create_organisation(s, "k", "Kill test")
        pat = people.create_person(s, organisation_id=org.id, role="patient", external_id="k1")
        items = [
            Message("k1", f"c{d // 7}", "user", f"day {d}: {TEXT}", t0 + timedelta(days=d), f"m{d}")
            for d in range(WEEKS * 7)
        ]
        messages.ingest_messages(s, TextCipher(DEV_ENCRYPTION_KEY), org.id, items)
        jobs.enqueue(s, "backfill", organisation_id=org.id, patient_id=pat.id)
        (job_id,) = [j.id for j in jobs.list_jobs(s)]
    expected_windows = len(range(BACKFILL_STEP_DAYS, WEEKS * 7 - 1, BACKFILL_STEP_DAYS)) + 1
    host = socket.gethostname()
    a = _worker(db_url)
    procs = [a]
    b = None
    try:
        first = _wait(
            lambda: (
                (j := _job(db, job_id)).status == "running" and (j.locked_by or "").startswith(f"{host}:{a.pid}:") and j
            ),
            60,
            "worker A to claim the backfill",
            procs,
        )
        b = _worker(db_url)
        procs.append(b)
        time.sleep(1.5 * LEASE_S)  # past A's first lease: only its heartbeat keeps the job A's
        held = _job(db, job_id)
        assert held.status == "running" and held.locked_by == first.locked_by, "job left A while A was alive"
        assert held.lease_until > first.lease_until + timedelta(seconds=LEASE_S)  # renewed by heartbeats
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        killed_at = time.monotonic()
        taken = _wait(
            lambda: (
                (j := _job(db, job_id)).locked_by is not None
                and j.locked_by.startswith(f"{host}:{b.pid}:")  # type: ignore[union-attr]
                and j
            ),
            30,
            "worker B to take over the job",
            procs,
        )
        takeover_s = time.monotonic() - killed_at
        assert takeover_s < LEASE_S + 3, f"B took {takeover_s:.1f} s to take over (lease {LEASE_S} s)"
        assert taken.attempts == 2
        done = _wait(lambda: (j := _job(db, job_id)).status == "done" and j, 300, "the job to finish", procs)
        assert done.attempts == 2 and done.locked_by is None and done.lease_until is None
        with db.read() as s:
            n, distinct = s.execute(
                select(func.count(Estimate.id), func.count(func.distinct(Estimate.window_end))).where(
                    Estimate.patient_id == pat.id
                )
            ).one()
            audited = s.scalar(
                select(func.count(AuditEntry.id)).where(
                    AuditEntry.resource == "estimate", AuditEntry.patient_id == pat.id
                )
            )
            assert [j.status for j in jobs.list_jobs(s)] == ["done"]  # one job, done once
        assert n == distinct == expected_windows == audited  # every window estimated exactly once
        print(f"\ntakeover after SIGKILL: {takeover_s:.2f} s (lease {LEASE_S} s, heartbeat 0.4 s)")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        db.dispose()
