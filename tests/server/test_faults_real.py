"""Faults with real processes: the store goes away or fills up, the teacher LLM refuses or hangs.

Each test runs real `phqwatch serve` / `phqwatch worker` processes on loopback and breaks a real dependency:

- PostgreSQL (a cluster of its own, from tests/pg.py) is stopped with `pg_ctl stop -m fast` while four clients
  ingest, then started again: every request gets 200 or a clear 503 (never a 500, never a hang), nothing
  acknowledged is lost, and ingestion resumes on its own; a worker running through the outage, and one started
  during it, survive it and finish every job once.
- The disk under SQLite fills up: a 3 MiB tmpfs mounted by the test (needs root; skipped otherwise), and, so that
  it runs everywhere, the same check in-process on a database capped with `PRAGMA max_page_count`.
  The client gets a 507 that says the storage is full; the refused batch is stored not at all (not in part).
- The teacher endpoint (a real local HTTP server) hangs, answers 503, or refuses connections: the second-opinion
  job retries within its budget and finishes exactly once, and ingestion is never held up by it; a worker killed
  while it waits on the teacher leaves the job to another worker, which finishes it once.

(kill -9 of the server mid-ingestion is in test_kill.py; of a worker mid-backfill in test_worker_kill.py.)
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from phqwatch.store import Database, jobs, people, upgrade
from phqwatch.store.tables import Alert, Estimate, Job, MessageRow

from .conftest import msg
from .helpers import snapshot


# ---- real processes ---------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "PHQWATCH_DATABASE_URL": url, "PHQWATCH_PRODUCTION": "false", **extra}


def _serve(url: str, log: Path, **extra: str) -> tuple[subprocess.Popen, str]:
    """`phqwatch serve --no-worker` on a free loopback port (stderr to `log`: a pipe nobody reads would fill)."""
    port = _free_port()
    cmd = [sys.executable, "-m", "phqwatch.cli", "serve", "--port", str(port), "--no-worker", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=_env(url, **extra), stdout=subprocess.DEVNULL, stderr=log.open("ab"))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start within 60 s")


def _worker(url: str, log: Path, **extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "phqwatch.cli", "worker", "--poll", "0.2"]
    return subprocess.Popen(cmd, env=_env(url, **extra), stdout=subprocess.DEVNULL, stderr=log.open("ab"))


def _stop(*procs: subprocess.Popen | None) -> None:
    for p in procs:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait(10)


def _seed(url: str, n_patients: int = 4) -> tuple[Database, int, str]:
    """An organisation with patients p0..p{n-1} and a service API key."""
    upgrade(url)
    db = Database.from_url(url)
    with db.write() as s:
        org = people.create_organisation(s, "f", "Fault test")
        for i in range(n_patients):
            people.create_person(s, organisation_id=org.id, role="patient", external_id=f"p{i}")
        svc = people.create_person(s, organisation_id=org.id, role="service")
        _, key = people.create_api_key(s, svc.id)
    return db, org.id, key


def _wait(pred, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@dataclass
class Outcome:
    start: float
    seconds: float
    status: int | None  # None: no answer (timeout, connection error)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    mids: tuple[str, ...] = ()


class Ingesters:
    """Client threads that send batches of 5 messages with unique ids and record every outcome."""

    def __init__(self, base: str, key: str, n: int = 4, text: str = "lunch was good today", timeout: float = 15.0):
        self.base, self.key, self.n, self.text, self.timeout = base, key, n, text, timeout
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(n)]

    def __enter__(self) -> Ingesters:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(self.timeout + 5)

    def _run(self, n: int) -> None:
        with httpx.Client(base_url=self.base, headers={"X-API-Key": self.key}, timeout=self.timeout) as c:
            i = 0
            while not self.stop.is_set():
                mids = tuple(f"c{n}-{i}-{j}" for j in range(5))
                body = {"messages": [msg(user=f"p{n}", mid=m, text=f"{self.text} {m}") for m in mids]}
                t0 = time.monotonic()
                try:
                    r = c.post("/api/v1/messages/batch", json=body)
                    got = Outcome(t0, time.monotonic() - t0, r.status_code, _json(r), dict(r.headers), mids)
                except httpx.HTTPError as exc:
                    got = Outcome(t0, time.monotonic() - t0, None, type(exc).__name__, mids=mids)
                with self.lock:
                    self.outcomes.append(got)
                i += 1
                if got.status != 200:
                    time.sleep(0.05)  # a client that backs off a little, as a real one would

    def acked(self, after: float = 0.0) -> list[str]:
        with self.lock:
            return [m for o in self.outcomes if o.status == 200 and o.start >= after for m in o.mids]


def _json(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return r.text


def _done_jobs(db: Database) -> int:
    with db.read() as s:
        return len(jobs.list_jobs(s, statuses=["done"]))


def _stored(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(MessageRow.external_message_id)))


# ---- the server, with its in-process worker, killed mid-job ----------------------------------------------------
@pytest.mark.slow
def test_server_with_its_worker_killed_mid_job_the_restarted_server_finishes_it_once(sqlite_url, tmp_path):
    """The SQLite default: `phqwatch serve` runs the worker in-process. SIGKILL while it works a backfill; the
    restarted server (a new worker id) takes the job once its lease lapses and finishes it exactly once."""
    from datetime import UTC, datetime, timedelta

    from phqwatch.config import DEV_ENCRYPTION_KEY
    from phqwatch.server.worker import BACKFILL_STEP_DAYS
    from phqwatch.store import TextCipher, messages
    from phqwatch.transcripts.schema import Message

    from .test_worker_kill import TEXT

    weeks = 60
    db, org_id, _ = _seed(sqlite_url, n_patients=1)
    t0 = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
    with db.write() as s:
        pat = people.people_by_external_ids(s, org_id, ["p0"])["p0"]
        items = [
            Message("p0", f"c{d // 7}", "user", f"day {d}: {TEXT}", t0 + timedelta(days=d), f"m{d}")
            for d in range(weeks * 7)
        ]
        messages.ingest_messages(s, TextCipher(DEV_ENCRYPTION_KEY), org_id, items)
        jobs.enqueue(s, "backfill", organisation_id=org_id, patient_id=pat.id)
        (job_id,) = [j.id for j in jobs.list_jobs(s)]
    expected = len(range(BACKFILL_STEP_DAYS, weeks * 7 - 1, BACKFILL_STEP_DAYS)) + 1
    env = {"PHQWATCH_JOB_LEASE_S": "2", "PHQWATCH_JOB_HEARTBEAT_S": "0.4"}
    log = tmp_path / "server.log"

    def job() -> Job:
        with db.read() as s:
            return s.get(Job, job_id)  # type: ignore[return-value]

    def serve_with_worker() -> subprocess.Popen:
        port = _free_port()
        cmd = [sys.executable, "-m", "phqwatch.cli", "serve", "--port", str(port), "--worker", "--log-level", "warning"]
        return subprocess.Popen(cmd, env=_env(sqlite_url, **env), stdout=subprocess.DEVNULL, stderr=log.open("ab"))

    first = serve_with_worker()
    second = None
    try:
        _wait(lambda: (j := job()).status == "running" and f":{first.pid}:" in (j.locked_by or ""), 90, "the claim")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        second = serve_with_worker()
        done = _wait(lambda: (j := job()).status == "done" and j, 180, "the restarted server to finish the job")
        assert done.attempts == 2 and done.locked_by is None
        with db.read() as s:
            n, distinct = s.execute(
                select(func.count(Estimate.id), func.count(func.distinct(Estimate.window_end))).where(
                    Estimate.patient_id == pat.id
                )
            ).one()
            assert [j.status for j in jobs.list_jobs(s)] == ["done"]
        assert n == distinct == expected  # every window estimated exactly once
    finally:
        _stop(first, second)
        db.dispose()


# ---- PostgreSQL restarted during ingestion -------------------------------------------------------------------
def _pg_module():  # type: ignore[no-untyped-def]
    name = "phqwatch_tests_pg"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "pg.py")
        mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = mod
        spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return sys.modules[name]


@pytest.fixture
def own_cluster() -> Iterator[Any]:
    """A PostgreSQL cluster of this test's own (it is stopped and started: the shared one must not be)."""
    if os.environ.get("PHQWATCH_TEST_POSTGRES_URL"):
        pytest.skip("PHQWATCH_TEST_POSTGRES_URL points at a server this test cannot restart")
    try:
        cluster = _pg_module().start_cluster()
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        if os.environ.get("PHQWATCH_REQUIRE_POSTGRES", "") not in ("", "0", "false", "no"):
            pytest.fail(f"PostgreSQL required (PHQWATCH_REQUIRE_POSTGRES=1) but could not start: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_restart_during_ingestion_is_503_then_resumes_and_loses_nothing(own_cluster, tmp_path):
    url = _pg_module().create_database(own_cluster.url)
    db, _, key = _seed(url)
    log = tmp_path / "server.log"
    proc, base = _serve(url, log)
    wenv = {"PHQWATCH_JOB_LEASE_S": "2", "PHQWATCH_JOB_HEARTBEAT_S": "0.4"}
    worker = _worker(url, tmp_path / "worker.log", **wenv)  # works through the outage
    late = None  # starts while the database is down
    health_down: list[int] = []
    try:
        with Ingesters(base, key) as clients:
            _wait(lambda: len(clients.acked()) >= 200, 30, "200 acknowledged messages before the restart")
            _wait(lambda: _done_jobs(db), 60, "the first worker to finish a job before the restart")
            down_at = time.monotonic()
            own_cluster.stop_server("fast")  # cuts every open connection of the server and the worker
            late = _worker(url, tmp_path / "late-worker.log", **wenv)
            late_log = tmp_path / "late-worker.log"
            _wait(
                lambda: late.poll() is not None or "waiting for the database" in late_log.read_text(errors="replace"),
                60,
                "the late worker to find the database down",
            )
            assert late.poll() is None, f"a worker started while the database was down exited: {late_log.read_text()}"
            health_down.append(httpx.get(f"{base}/api/v1/health", timeout=10).status_code)
            time.sleep(2.0)
            up_at = time.monotonic()
            own_cluster.start_server()
            _wait(lambda: len(clients.acked(after=up_at)) >= 100, 60, "ingestion to resume after the restart")
        assert proc.poll() is None, "the server died with its database"
        assert worker.poll() is None, "the worker died with the database"
        assert late.poll() is None, "a worker started while the database was down exited"
        outcomes = clients.outcomes
        hung = [o for o in outcomes if o.status is None]
        assert not hung, f"{len(hung)} requests got no answer (first: {hung[0].body}, {hung[0].seconds:.1f} s)"
        assert max(o.seconds for o in outcomes) < 10, "a request hung while the database was down"
        statuses = {o.status for o in outcomes}
        assert statuses <= {200, 503}, f"unexpected statuses {statuses}"
        refused = [o for o in outcomes if o.status == 503]
        assert any(down_at + 0.5 < o.start and o.start + o.seconds < up_at for o in refused), "no 503 while down"
        for o in refused:
            assert "database" in o.body["detail"] and o.body["fix"], o.body
            assert int(o.headers["retry-after"]) > 0
        assert health_down == [503]
        acked = clients.acked()
        stored = _stored(db)
        assert set(acked) <= set(stored), f"lost {len(set(acked) - set(stored))} acknowledged messages"
        assert len(stored) == len(set(stored))  # each stored once

        def settled() -> list[Job] | None:
            with db.read() as s:
                all_jobs = jobs.list_jobs(s)
            return all_jobs if all(j.status in ("done", "dead") for j in all_jobs) else None

        all_jobs = _wait(settled, 120, "the worker to finish every job after the restart")
        assert {j.status for j in all_jobs} == {"done"}  # none dead-lettered by the outage
        with db.read() as s:
            per_patient = s.execute(
                select(Estimate.patient_id, func.count(Estimate.id)).group_by(Estimate.patient_id)
            ).all()
        assert sorted(n for _, n in per_patient) == [1, 1, 1, 1]  # one window each, estimated once
        assert "Traceback" not in log.read_text(errors="replace")
        print(f"\n{len(acked)} acknowledged, {len(refused)} refused with 503 while PostgreSQL was down")
    finally:
        _stop(proc, worker, late)
        db.dispose()  # the cluster, with this database, is removed by the fixture


# ---- the disk under SQLite fills up ----------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 3 MiB tmpfs (mounting needs root, or CAP_SYS_ADMIN)."""
    where = tmp_path / "disk"
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({r.stderr.strip()[:200]}); the max_page_count test covers it")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _check_disk_full(answer: Outcome | Any) -> None:
    status, body = (answer.status, answer.body) if isinstance(answer, Outcome) else (answer.status_code, answer.json())
    assert status == 507, (status, body)
    assert "full" in body["detail"] and "space" in body["fix"], body


def test_disk_full_under_sqlite_is_507_and_nothing_half_written(small_disk, tmp_path):
    url = f"sqlite:///{small_disk / 'phqwatch.db'}"
    db, _, key = _seed(url)
    log = tmp_path / "server.log"
    proc, base = _serve(url, log)
    filler = "x" * 3000
    try:
        full: Outcome | None = None
        acked: list[str] = []
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=15) as c:
            for i in range(2000):
                mids = tuple(f"d{i}-{j}" for j in range(5))
                body = {"messages": [msg(user="p0", mid=m, text=f"{filler} {m}") for m in mids]}
                r = c.post("/api/v1/messages/batch", json=body)
                if r.status_code != 200:
                    full = Outcome(0, 0, r.status_code, _json(r), dict(r.headers), mids)
                    break
                acked.extend(mids)
            assert full is not None, "the disk never filled"
            _check_disk_full(full)
            assert int(full.headers["retry-after"]) > 0
            assert len(acked) > 20
            stored = set(_stored(db))
            assert set(acked) <= stored
            assert not set(full.mids) & stored, "part of the refused batch was stored"
            assert c.get("/api/v1/health").status_code == 200  # reads still work on a full disk
            # more room: the same batch goes in whole, once
            subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
            body = {"messages": [msg(user="p0", mid=m, text=f"{filler} {m}") for m in full.mids]}
            r = c.post("/api/v1/messages/batch", json=body)
            assert r.status_code == 200 and r.json()["accepted"] == 5, r.text
        stored_list = _stored(db)
        assert set(full.mids) <= set(stored_list) and len(stored_list) == len(set(stored_list))
        assert filler not in log.read_text(errors="replace")  # no message text in the server's log
    finally:
        _stop(proc)
        db.dispose()


def test_database_at_its_size_cap_is_507_and_nothing_half_written(sqlite_url):
    """The same check where no filesystem can be mounted: the database is capped with PRAGMA max_page_count
    (SQLite answers SQLITE_FULL exactly as on a full disk), in-process."""
    from .conftest import build_world

    w = build_world(sqlite_url)
    try:
        engine = w.ctx.db.engine
        with engine.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

        @event.listens_for(engine, "connect")
        def _cap(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute(f"PRAGMA max_page_count={pages + 40}")

        engine.dispose()  # new connections carry the cap
        filler = "y" * 3000
        refused = None
        for i in range(200):
            body = {"messages": [msg(mid=f"q{i}-{j}", text=f"{filler} {i} {j}") for j in range(5)]}
            r = w.client.post("/api/v1/messages/batch", json=body, headers=w.h("service"))
            if r.status_code != 200:
                refused = (r, i)
                break
        assert refused is not None, "the cap was never reached"
        r, i = refused
        _check_disk_full(r)
        before = snapshot(w)
        assert not [m for m in _stored(w.ctx.db) if m.startswith(f"q{i}-")], "part of the refused batch was stored"
        r = w.client.post("/api/v1/messages/batch", json=body, headers=w.h("service"))
        _check_disk_full(r)
        assert snapshot(w) == before  # a refused write leaves the database unchanged
    finally:
        w.client.__exit__(None, None, None)


# ---- the teacher endpoint hangs, fails or is down --------------------------------------------------------------
class Teacher:
    """A real OpenAI-compatible HTTP server on loopback. `plan` lists what the next calls get: "hang" (no answer
    until `release` is set, or `hang_s`), "503", or "ok" (a "high" opinion); once the plan is used up, "ok"."""

    def __init__(self, plan: list[str], hang_s: float = 30.0):
        self.plan = list(plan)
        self.hang_s = hang_s
        self.calls: list[str] = []
        self.times: list[float] = []  # time.monotonic() of each call
        self.release = threading.Event()
        teacher = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with threading.Lock():
                    what = teacher.plan.pop(0) if teacher.plan else "ok"
                    teacher.calls.append(what)
                    teacher.times.append(time.monotonic())
                if what == "hang":
                    teacher.release.wait(teacher.hang_s)
                    return  # close without an answer
                if what == "503":
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                content = json.dumps({"severity": "high", "categories": ["suicide"], "reason": "test"})
                out = json.dumps(
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "model": "fault-test",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _band_text() -> str:
    """A message the shipped screen puts in its uncertain band without opening the crisis path."""
    from phqwatch.config import Settings
    from phqwatch.safety import CrisisScreen, ScreenConfig
    from phqwatch.safety.second_opinion import in_uncertain_band

    from .test_safety_review import BAND_CANDIDATES

    st = Settings()
    screen = CrisisScreen(
        ScreenConfig(
            use_model=st.crisis_use_model, model_path=str(st.crisis_model_dir) if st.crisis_model_dir else None
        )
    )
    for text in BAND_CANDIDATES:
        r = screen.screen(text, [])
        if in_uncertain_band(r, screen.model) and r.severity in ("none", "review"):
            return text
    raise AssertionError("no candidate is in the uncertain band any more: add one to test_safety_review")


def _teacher_env(teacher_url: str, **extra: str) -> dict[str, str]:
    return {
        "PHQWATCH_TEACHER_BASE_URL": teacher_url,
        "PHQWATCH_TEACHER_MODEL": "fault-test",
        "PHQWATCH_TEACHER_TIMEOUT_S": "1",
        "PHQWATCH_TEACHER_MAX_RETRIES": "3",
        "PHQWATCH_JOB_LEASE_S": "2",
        "PHQWATCH_JOB_HEARTBEAT_S": "0.4",
        **extra,
    }


def _review_job(db: Database) -> Job | None:
    with db.read() as s:
        return s.scalars(select(Job).where(Job.kind == "safety_review")).first()


def _ingest_band_message(base: str, key: str, text: str) -> None:
    r = httpx.post(
        f"{base}/api/v1/messages", json=msg(user="p0", mid="band-1", text=text), headers={"X-API-Key": key}, timeout=10
    )
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text


def _second_opinion_alerts(db: Database) -> list[Alert]:
    with db.read() as s:
        return [a for a in s.scalars(select(Alert)) if (a.details or {}).get("raised_by") == "second-opinion"]


@pytest.mark.slow
def test_teacher_hanging_then_failing_the_review_retries_finishes_once_and_ingestion_flows(sqlite_url, tmp_path):
    text = _band_text()
    teacher = Teacher(["hang", "hang", "503"])  # two timeouts (4 s each) and a 503, then an answer
    db, _, key = _seed(sqlite_url)
    env = _teacher_env(teacher.url, PHQWATCH_TEACHER_TIMEOUT_S="4")
    log = tmp_path / "procs.log"
    proc, base = _serve(sqlite_url, log, **env)
    worker = _worker(sqlite_url, log, **env)
    try:
        _ingest_band_message(base, key, text)
        with Ingesters(base, key, n=2, timeout=10) as clients:  # ingestion while the teacher hangs
            done = _wait(
                lambda: (j := _review_job(db)) is not None and j.status == "done" and j, 60, "the review to finish"
            )
            time.sleep(0.5)
        assert teacher.calls[:4] == ["hang", "hang", "503", "ok"]
        assert done.attempts == 1  # retried inside the one attempt, not re-run
        result = done.payload["result"]
        assert result["reviewed"] == 1 and result["errors"] == 0 and len(result["raised"]) == 1
        assert len(_second_opinion_alerts(db)) == 1
        assert {o.status for o in clients.outcomes} == {200}
        hang_from, hang_to = teacher.times[0], teacher.times[2]  # the worker waited on the teacher meanwhile
        during = [o for o in clients.outcomes if hang_from <= o.start and o.start + o.seconds <= hang_to]
        assert len(during) >= 5, f"ingestion was held up while the teacher hung ({len(during)} answered)"
        assert max(o.seconds for o in clients.outcomes) < 4, "an ingest waited as long as a teacher timeout"
        with db.read() as s:
            assert [j.status for j in s.scalars(select(Job).where(Job.kind == "safety_review"))] == ["done"]
        assert text not in log.read_text(errors="replace")
    finally:
        _stop(proc, worker)
        teacher.close()
        db.dispose()


def test_teacher_down_the_review_finishes_once_keeping_the_first_decision(sqlite_url, tmp_path):
    text = _band_text()
    db, _, key = _seed(sqlite_url)
    env = _teacher_env(f"http://127.0.0.1:{_free_port()}/v1", PHQWATCH_TEACHER_MAX_RETRIES="2")  # nobody listens
    log = tmp_path / "procs.log"
    proc, base = _serve(sqlite_url, log, **env)
    worker = _worker(sqlite_url, log, **env)
    try:
        t0 = time.monotonic()
        _ingest_band_message(base, key, text)
        assert time.monotonic() - t0 < 5
        done = _wait(
            lambda: (j := _review_job(db)) is not None and j.status == "done" and j, 60, "the review to finish"
        )
        assert done.attempts == 1
        result = done.payload["result"]
        assert result["reviewed"] == 1 and result["errors"] == 1 and result["raised"] == []
        assert result["messages"][0]["error"] == "connection"
        assert _second_opinion_alerts(db) == []
    finally:
        _stop(proc, worker)
        db.dispose()


@pytest.mark.slow
def test_worker_killed_while_the_teacher_hangs_another_finishes_the_review_once(sqlite_url, tmp_path):
    text = _band_text()
    teacher = Teacher(["hang"], hang_s=60)
    db, _, key = _seed(sqlite_url)
    env = _teacher_env(teacher.url, PHQWATCH_TEACHER_TIMEOUT_S="30")  # A waits on the hung call
    log = tmp_path / "procs.log"
    proc, base = _serve(sqlite_url, log, **env)
    a = _worker(sqlite_url, log, **env)
    b = None
    try:
        _ingest_band_message(base, key, text)
        _wait(lambda: teacher.calls == ["hang"], 60, "worker A to ask the teacher")
        job = _review_job(db)
        assert job is not None and job.status == "running" and f":{a.pid}:" in (job.locked_by or "")
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        b = _worker(sqlite_url, log, **env)
        done = _wait(
            lambda: (j := _review_job(db)) is not None and j.status == "done" and j, 90, "worker B to finish the review"
        )
        assert done.attempts == 2 and done.locked_by is None
        assert teacher.calls == ["hang", "ok"]
        assert len(done.payload["result"]["raised"]) == 1
        alerts_raised = _second_opinion_alerts(db)
        assert len(alerts_raised) == 1 and len(alerts_raised[0].details["second_opinions"]) == 1
        with db.read() as s:
            assert s.scalar(select(func.count(Job.id)).where(Job.kind == "safety_review")) == 1
    finally:
        _stop(proc, a, b)
        teacher.close()
        db.dispose()
