"""Killing the server (SIGKILL) mid-ingestion loses no acknowledged message and no job.

A real `phqwatch serve` process on loopback takes a stream of ingests from several client threads; it is
killed while requests are in flight, restarted on the same database, and every message that got a 2xx is
checked to be stored exactly once, with a re-estimation job queued for its patient.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
from sqlalchemy import select

from phqwatch.config import DEV_ENCRYPTION_KEY
from phqwatch.store import Database, TextCipher, jobs, people, upgrade
from phqwatch.store.tables import MessageRow

from .conftest import msg


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "PHQWATCH_DATABASE_URL": url, "PHQWATCH_PRODUCTION": "false"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "phqwatch.cli", "serve", "--port", str(port), "--no-worker", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start within 60 s")


def test_sigkill_mid_ingestion_loses_no_acknowledged_message(db_url):
    upgrade(db_url)
    db = Database.from_url(db_url)
    with db.write() as s:
        org = people.create_organisation(s, "k", "Kill test")
        for i in range(4):
            people.create_person(s, organisation_id=org.id, role="patient", external_id=f"k{i}")
        svc = people.create_person(s, organisation_id=org.id, role="service")
        _, key = people.create_api_key(s, svc.id)
    port = _free_port()
    proc = _start(db_url, port)
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=5) as c:
            i = 0
            while not stop.is_set():
                mid = f"t{n}-{i}"
                body = {"messages": [msg(user=f"k{n}", mid=f"{mid}-{j}", text=f"note {i} {j}") for j in range(5)]}
                try:
                    r = c.post("/api/v1/messages/batch", json=body)
                except httpx.HTTPError:
                    return  # the server is gone: this request was never acknowledged
                if 200 <= r.status_code < 300:
                    with lock:
                        acked.extend(f"{mid}-{j}" for j in range(5))
                i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(acked) < 400:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # mid-stream: requests are in flight
    proc.wait(10)
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acked) >= 100, "too few acknowledged messages before the kill to prove anything"

    proc = _start(db_url, port)  # restarts cleanly on the same database (WAL recovery)
    try:
        with db.read() as s:
            stored = list(s.scalars(select(MessageRow.external_message_id)))
            queued = {j.patient_id for j in jobs.list_jobs(s, statuses=["queued"])}
            pids = {p.external_id: p.id for p in people.list_people(s, org.id, role="patient")}
        assert set(acked) <= set(stored), f"lost {len(set(acked) - set(stored))} acknowledged messages"
        assert len(stored) == len(set(stored))  # each stored once
        with_acks = {pids[f"k{m.split('-')[0][1:]}"] for m in acked}
        assert with_acks <= queued  # every acknowledged patient's re-estimation job survived
        # resending an acknowledged message after the restart is a duplicate, not a second copy
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}) as c:
            first = acked[0]
            n, i, j = first[1:].split("-")[0], first.split("-")[1], first.split("-")[2]
            r = c.post("/api/v1/messages", json=msg(user=f"k{n}", mid=first, text=f"note {i} {j}"))
            assert r.json()["results"][0]["status"] == "duplicate"
        with db.read() as s:
            rows = list(s.scalars(select(MessageRow).where(MessageRow.external_message_id == first)))
            assert len(rows) == 1 and TextCipher(DEV_ENCRYPTION_KEY).decrypt(rows[0].text_enc) == f"note {i} {j}"
    finally:
        proc.kill()
        proc.wait(10)
        db.dispose()
