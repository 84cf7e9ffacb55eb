"""Load test: the real server (uvicorn, `phqwatch serve`) on 127.0.0.1, driven by httpx.

Measures (bounded in requests and time):
- ingestion throughput on SQLite: batch endpoint (100 messages per request, 4 clients) next to the
  single-message endpoint as the baseline (target: >= 500 messages/s);
- timeline read latency with 1,000 patients x 100 estimates (target: p99 < 50 ms), one client and 4 clients.

Each request goes through auth, validation, the crisis screen (ingest), encryption, the audit log and a
durable commit (SQLite WAL, synchronous=FULL). The in-process worker is off (`--no-worker`) so the figures
are the API's own. Prints a table and writes benchmarks/results/load.json.

    .venv/bin/python benchmarks/load_test.py            # full run (~1-2 minutes)
    .venv/bin/python benchmarks/load_test.py --quick    # smaller, for a smoke check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "load.json"
PASSWORD = "load-test-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(url: str, n_patients: int, n_estimates: int) -> str:
    """Organisation, admin, service key, patients and estimates (bulk insert). Returns the API key."""
    from sqlalchemy import insert

    from phqwatch.config import DEV_ENCRYPTION_KEY
    from phqwatch.server.auth import hash_password
    from phqwatch.store import Database, TextCipher, people, upgrade
    from phqwatch.store.tables import Estimate

    upgrade(url)
    db = Database.from_url(url)
    cipher = TextCipher(DEV_ENCRYPTION_KEY)
    evidence = cipher.encrypt_json({"2": ["I have felt low most days"], "4": ["always tired"]})
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    rng = random.Random(0)
    with db.write() as s:
        org = people.create_organisation(s, "load", "Load test")
        people.create_person(
            s, organisation_id=org.id, role="admin", username="admin", password_hash=hash_password(PASSWORD)
        )
        svc = people.create_person(s, organisation_id=org.id, role="service")
        _, key = people.create_api_key(s, svc.id)
        pids = [
            people.create_person(s, organisation_id=org.id, role="patient", external_id=f"p{i}").id
            for i in range(n_patients)
        ]
    for chunk in range(0, n_patients, 100):
        rows = []
        for pid in pids[chunk : chunk + 100]:
            v = rng.uniform(2, 20)
            for k in range(n_estimates):
                v = min(27, max(0, v + rng.gauss(0, 1.5)))
                end = t0 + timedelta(days=3 * k)
                rows.append(
                    {
                        "organisation_id": org.id, "patient_id": pid, "model_name": "load", "model_version": "1",
                        "window_start": end - timedelta(days=14), "window_end": end, "status": "ok", "value": v,
                        "interval_low": max(0, v - 4), "interval_high": min(27, v + 4), "band": "mild",
                        "items": [round(v / 9, 2)] * 9, "evidence_enc": evidence, "n_user_words": 400,
                        "n_messages": 30, "created_at": end,
                    }
                )  # fmt: skip
        with db.write() as s:
            s.execute(insert(Estimate), rows)
    db.dispose()
    return key


def start_server(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "PHQWATCH_DATABASE_URL": url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "phqwatch.cli", "serve", "--port", str(port), "--no-worker", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def ingest(base: str, key: str, *, batch: int, clients: int, max_messages: int, max_s: float, n_patients: int) -> dict:
    """Send messages until max_messages or max_s; returns throughput and request latency."""
    sent = [0]
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    t_end = time.perf_counter() + max_s
    texts = [
        "I slept badly again and work felt heavy.",
        "We went for a walk, it was nice.",
        "Feeling a bit flat today.",
    ]

    def run(cid: int) -> None:
        rng = random.Random(cid)
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as c:
            i = 0
            while time.perf_counter() < t_end:
                with lock:
                    if sent[0] >= max_messages:
                        return
                    sent[0] += batch
                msgs = [
                    {
                        "user_id": f"p{rng.randrange(n_patients)}", "conversation_id": f"c{cid}-{i // 20}",
                        "role": "user" if j % 2 == 0 else "assistant", "text": rng.choice(texts),
                        "timestamp": f"2026-01-01T00:{(i // 60) % 60:02d}:{i % 60:02d}Z",
                        "message_id": f"m{batch}-{cid}-{i}-{j}",
                    }
                    for j in range(batch)
                ]  # fmt: skip
                t = time.perf_counter()
                r = (
                    c.post("/api/v1/messages/batch", json={"messages": msgs})
                    if batch > 1
                    else c.post("/api/v1/messages", json=msgs[0])
                )
                dt = time.perf_counter() - t
                with lock:
                    lat.append(dt)
                    if r.status_code != 200:
                        errors[0] += 1
                i += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    n = len(lat) * batch
    return {
        "batch": batch, "clients": clients, "messages": n, "requests": len(lat), "errors": errors[0],
        "seconds": round(wall, 2), "messages_per_s": round(n / wall, 1),
        "request_p50_ms": round(statistics.median(lat) * 1000, 1), "request_p99_ms": round(_pct(lat, 99) * 1000, 1),
    }  # fmt: skip


def timeline(base: str, token: str, *, patient_ids: list[int], requests: int, clients: int, max_s: float) -> dict:
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    t_end = time.perf_counter() + max_s
    per = requests // clients

    def run(cid: int) -> None:
        rng = random.Random(100 + cid)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            for _ in range(per):
                if time.perf_counter() > t_end:
                    return
                pid = rng.choice(patient_ids)
                t = time.perf_counter()
                r = c.get(f"/api/v1/patients/{pid}/timeline")
                dt = time.perf_counter() - t
                ok = r.status_code == 200 and len(r.json()["estimates"]) > 0
                with lock:
                    lat.append(dt)
                    errors[0] += 0 if ok else 1

    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {
        "clients": clients, "requests": len(lat), "errors": errors[0], "reads_per_s": round(len(lat) / wall, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 2), "p99_ms": round(_pct(lat, 99) * 1000, 2),
        "max_ms": round(max(lat) * 1000, 2),
    }  # fmt: skip


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100 patients x 100 estimates, fewer requests")
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--estimates", type=int, default=100)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    n_pat = 100 if args.quick else args.patients
    scale = 0.2 if args.quick else 1.0
    with tempfile.TemporaryDirectory(prefix="phqwatch-load-") as tmp:
        url = f"sqlite:///{tmp}/load.db"
        t = time.perf_counter()
        key = seed(url, n_pat, args.estimates)
        print(f"seeded {n_pat} patients x {args.estimates} estimates in {time.perf_counter() - t:.1f} s")
        port = free_port()
        proc = start_server(url, port)
        base = f"http://127.0.0.1:{port}"
        try:
            token = httpx.post(f"{base}/api/v1/auth/token", data={"username": "admin", "password": PASSWORD}).json()[
                "access_token"
            ]
            pids = [
                p["id"]
                for p in httpx.get(f"{base}/api/v1/patients", headers={"Authorization": f"Bearer {token}"}).json()
            ]
            timeline(base, token, patient_ids=pids, requests=50, clients=1, max_s=10)  # warm up
            reads_1 = timeline(base, token, patient_ids=pids, requests=int(2000 * scale), clients=1, max_s=60)
            reads_4 = timeline(base, token, patient_ids=pids, requests=int(2000 * scale), clients=4, max_s=60)
            single = ingest(base, key, batch=1, clients=4, max_messages=int(2000 * scale), max_s=20, n_patients=n_pat)
            batch = ingest(base, key, batch=100, clients=4, max_messages=int(30000 * scale), max_s=30, n_patients=n_pat)
        finally:
            proc.terminate()
            proc.wait(10)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),  # other work on the machine skews every figure
        "database": "sqlite (WAL, synchronous=FULL)",
        "patients": n_pat,
        "estimates_per_patient": args.estimates,
        "ingest_single": single,
        "ingest_batch": batch,
        "timeline_1_client": reads_1,
        "timeline_4_clients": reads_4,
        "targets": {"ingest_messages_per_s": 500, "timeline_p99_ms": 50},
        "pass": {
            "ingest": batch["messages_per_s"] >= 500 and batch["errors"] == 0,
            "timeline": reads_1["p99_ms"] < 50 and reads_1["errors"] == 0,
        },
    }
    print()
    print(f"{'ingestion (SQLite)':<34}{'baseline: 1 msg/request':>26}{'batch: 100 msgs/request':>26}")
    print(f"{'  messages/s':<34}{single['messages_per_s']:>26}{batch['messages_per_s']:>26}")
    print(f"{'  request p50 / p99 (ms)':<34}{str(single['request_p50_ms']) + ' / ' + str(single['request_p99_ms']):>26}"
          f"{str(batch['request_p50_ms']) + ' / ' + str(batch['request_p99_ms']):>26}")  # fmt: skip
    print(f"{'  errors':<34}{single['errors']:>26}{batch['errors']:>26}")
    print()
    print(f"{f'timeline ({n_pat} x {args.estimates} estimates)':<34}{'1 client':>26}{'4 clients':>26}")
    for k, label in (
        ("p50_ms", "  p50 (ms)"),
        ("p99_ms", "  p99 (ms)"),
        ("reads_per_s", "  reads/s"),
        ("errors", "  errors"),
    ):
        print(f"{label:<34}{reads_1[k]:>26}{reads_4[k]:>26}")
    print()
    print(f"targets: >= 500 messages/s -> {'PASS' if result['pass']['ingest'] else 'FAIL'}; "
          f"timeline p99 < 50 ms (1 client) -> {'PASS' if result['pass']['timeline'] else 'FAIL'}")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
