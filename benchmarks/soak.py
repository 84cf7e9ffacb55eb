"""Soak test: a real `phqwatch serve` on loopback under steady mixed load for many minutes.

1. Seeds an organisation (an admin, a service key, patients with estimate histories).
2. Measures the peak ingestion rate with a short closed-loop ramp (`--ramp-seconds`, 4 clients as fast as they
   can), unless `--rate` gives it.
3. Runs `--minutes` of ingestion paced at `--load` (80%) of that peak, with reads mixed in (the caseload page's
   JSON twin, the patient list, a patient's estimate timeline, the alert list) and alert actions (acknowledging
   the urgent alerts that the crisis messages in the stream open: 1 message in 250 is one).
4. Prints, each minute: messages/s, p50/p99 latency of ingests and of reads, alerts acknowledged, errors, and
   the server's resident memory (RSS, from psutil). At the end: whether memory stayed flat, i.e. the last
   minute's RSS is within `--flat-tolerance` (10%) of minute 2's (minute 1 holds warm-up: caches, the model).

Exit status 1 when memory grew past the tolerance or more than 0.1% of requests failed.

    .venv/bin/python benchmarks/soak.py                       # 10 minutes on a temporary SQLite database
    .venv/bin/python benchmarks/soak.py --minutes 3 --rate 400
    .venv/bin/python benchmarks/soak.py --database-url postgresql://user@127.0.0.1/soak   # an empty database

SQLite runs the worker in the server process (the `serve` default), so estimates are made as messages arrive;
PostgreSQL runs the API alone (`--worker` adds the in-process worker). See docs/operations.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_test import PASSWORD, seed  # noqa: E402

CRISIS_TEXT = "I want to kill myself tonight"
TEXTS = (
    "work was long today and I am tired",
    "had lunch with my sister, it was nice",
    "could not sleep again, kept waking up at 4",
    "I went for a walk and felt a bit better",
    "nothing really matters much lately",
    "the kids had a school play this evening",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, worker: bool | None, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "phqwatch.cli", "serve", "--port", str(port), "--log-level", "warning"]
    if worker is not None:
        cmd.append("--worker" if worker else "--no-worker")
    env = {**os.environ, "PHQWATCH_DATABASE_URL": url, "PHQWATCH_PRODUCTION": "false"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"))
    base = f"http://127.0.0.1:{port}"
    for _ in range(900):
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start within 90 s")


@dataclass
class Minute:
    """What happened in one minute (appended to by every thread under `Stats.lock`)."""

    messages: int = 0
    ingest_ms: list[float] = field(default_factory=list)
    read_ms: list[float] = field(default_factory=list)
    acks: int = 0
    errors: int = 0
    requests: int = 0


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current = Minute()
        self.error_kinds: dict[str, int] = {}

    def add(self, kind: str, ms: float, ok: bool, messages: int = 0, what: str = "") -> None:
        with self.lock:
            m = self.current
            m.requests += 1
            if not ok:
                m.errors += 1
                self.error_kinds[what] = self.error_kinds.get(what, 0) + 1
                return
            (m.ingest_ms if kind == "ingest" else m.read_ms).append(ms)
            m.messages += messages
            m.acks += kind == "ack"

    def roll(self) -> Minute:
        with self.lock:
            done, self.current = self.current, Minute()
        return done


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def ingest_loop(
    base: str,
    key: str,
    n_patients: int,
    batch: int,
    interval: float | None,
    stop: threading.Event,
    stats: Stats,
    seed_: int,
) -> None:
    """Send batches of `batch` messages; one every `interval` seconds (paced), or back to back (None)."""
    rng = random.Random(seed_)
    next_at = time.monotonic()
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as c:
        i = 0
        while not stop.is_set():
            if interval is not None:
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                next_at += interval
            msgs = []
            for j in range(batch):
                crisis = rng.random() < 1 / 250
                msgs.append(
                    {
                        "user_id": f"p{rng.randrange(n_patients)}",
                        "conversation_id": f"soak-{seed_}-{i // 50}",
                        "role": "user",
                        "text": CRISIS_TEXT if crisis else rng.choice(TEXTS),
                        "message_id": f"s{seed_}-{i}-{j}",
                    }
                )
            t0 = time.perf_counter()
            try:
                r = c.post("/api/v1/messages/batch", json={"messages": msgs})
                ok, what = r.status_code == 200, f"ingest {r.status_code}"
            except httpx.HTTPError as exc:
                ok, what = False, f"ingest {type(exc).__name__}"
            stats.add("ingest", (time.perf_counter() - t0) * 1000, ok, messages=batch, what=what)
            i += 1


def read_loop(
    base: str, token: str, patient_ids: list[int], stop: threading.Event, stats: Stats, every_s: float
) -> None:
    """Reads and alert actions, one every `every_s` seconds, round robin."""
    rng = random.Random(7)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=30, headers=auth) as c:
        session = c.post(
            "/api/v1/auth/session", data={"username": "admin", "password": PASSWORD}, headers={"Origin": base}
        )
        caseload = session.status_code == 200
        if not caseload:
            print(f"(session sign-in answered {session.status_code}: the caseload page is left out)")
        k = 0
        while not stop.is_set():
            kind = ("caseload", "patients", "timeline", "alerts")[k % 4] if caseload else "patients"
            if not caseload:
                kind = ("patients", "timeline", "alerts")[k % 3]
            k += 1
            t0 = time.perf_counter()
            try:
                if kind == "caseload":
                    r = c.get("/caseload.json", headers={"Authorization": ""})
                elif kind == "patients":
                    r = c.get("/api/v1/patients")
                elif kind == "timeline":
                    r = c.get(f"/api/v1/patients/{rng.choice(patient_ids)}/timeline")
                else:
                    r = c.get("/api/v1/alerts", params={"status": ["open"], "limit": 20})
                ok, what = r.status_code == 200, f"{kind} {r.status_code}"
                stats.add("read", (time.perf_counter() - t0) * 1000, ok, what=what)
                if kind == "alerts" and ok and r.json():
                    alert_id = r.json()[0]["id"]
                    t0 = time.perf_counter()
                    r = c.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={"note": "seen in soak"})
                    stats.add(
                        "ack", (time.perf_counter() - t0) * 1000, r.status_code == 200, what=f"ack {r.status_code}"
                    )
            except httpx.HTTPError as exc:
                stats.add("read", 0, False, what=f"{kind} {type(exc).__name__}")
            stop.wait(every_s)


def run_phase(
    base: str,
    key: str,
    token: str,
    patient_ids: list[int],
    *,
    seconds: float,
    rate: float | None,
    clients: int,
    batch: int,
    reads_every_s: float | None,
    stats: Stats,
    seed_: int,
    on_minute=None,
) -> None:  # type: ignore[no-untyped-def]
    stop = threading.Event()
    interval = None if rate is None else batch * clients / rate
    threads = [
        threading.Thread(
            target=ingest_loop, args=(base, key, len(patient_ids), batch, interval, stop, stats, seed_ + n), daemon=True
        )
        for n in range(clients)
    ]
    if reads_every_s is not None:
        threads.append(
            threading.Thread(target=read_loop, args=(base, token, patient_ids, stop, stats, reads_every_s), daemon=True)
        )
    for t in threads:
        t.start()
    t_end = time.monotonic() + seconds
    next_minute = time.monotonic() + 60
    while time.monotonic() < t_end:
        time.sleep(min(0.5, max(0.0, t_end - time.monotonic())))
        if on_minute is not None and time.monotonic() >= next_minute:
            on_minute()
            next_minute += 60
    stop.set()
    for t in threads:
        t.join(35)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=None, help="messages/s to hold (default: --load x measured peak)")
    ap.add_argument("--load", type=float, default=0.8, help="fraction of the measured peak (default 0.8)")
    ap.add_argument("--ramp-seconds", type=float, default=20.0)
    ap.add_argument("--database-url", default=None, help="an empty database (default: a temporary SQLite file)")
    ap.add_argument(
        "--worker",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="in-process worker (default: the serve default, on for SQLite only)",
    )
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--estimates", type=int, default=50, help="seeded estimates per patient")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--batch", type=int, default=20, help="messages per ingest request")
    ap.add_argument("--reads-every", type=float, default=0.1, help="seconds between reads / alert actions")
    ap.add_argument("--flat-tolerance", type=float, default=0.10)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="phqwatch-soak-")
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'soak.db'}"
    backend = "postgresql" if url.startswith("postgres") else "sqlite"
    print(f"seeding {args.patients} patients x {args.estimates} estimates on {backend} ...", flush=True)
    key = seed(url, args.patients, args.estimates)
    log = Path(tmp.name) / "server.log"
    proc, base = start_server(url, args.worker, log)
    server = psutil.Process(proc.pid)
    try:
        r = httpx.post(f"{base}/api/v1/auth/token", data={"username": "admin", "password": PASSWORD}, timeout=30)
        r.raise_for_status()
        token = r.json()["access_token"]
        patient_ids = [
            p["id"]
            for p in httpx.get(
                f"{base}/api/v1/patients", headers={"Authorization": f"Bearer {token}"}, timeout=30
            ).json()
        ]
        rate = args.rate
        peak = None
        if rate is None:
            ramp = Stats()
            run_phase(
                base,
                key,
                token,
                patient_ids,
                seconds=args.ramp_seconds,
                rate=None,
                clients=args.clients,
                batch=args.batch,
                reads_every_s=None,
                stats=ramp,
                seed_=1000,
            )
            m = ramp.roll()
            peak = m.messages / args.ramp_seconds
            rate = args.load * peak
            print(
                f"peak (closed loop, {args.clients} clients x {args.batch} messages, {args.ramp_seconds:.0f} s): "
                f"{peak:.0f} messages/s; holding {rate:.0f} messages/s ({args.load:.0%})",
                flush=True,
            )
        print(
            f"soak: {args.minutes:g} min at {rate:.0f} messages/s, reads every {args.reads_every} s, "
            f"worker {'default' if args.worker is None else args.worker}",
            flush=True,
        )
        header = (
            f"{'min':>3} {'msg/s':>7} {'ingest p50':>10} {'p99':>7} {'read p50':>9} {'p99':>7} {'acks':>5} "
            f"{'errors':>6} {'RSS MiB':>8}"
        )
        print(header, flush=True)
        stats = Stats()
        minutes: list[dict] = []

        def on_minute() -> None:
            m = stats.roll()
            rss = server.memory_info().rss / 2**20
            row = {
                "minute": len(minutes) + 1,
                "messages_per_s": m.messages / 60,
                "ingest_p50_ms": pct(m.ingest_ms, 0.5),
                "ingest_p99_ms": pct(m.ingest_ms, 0.99),
                "read_p50_ms": pct(m.read_ms, 0.5),
                "read_p99_ms": pct(m.read_ms, 0.99),
                "acks": m.acks,
                "errors": m.errors,
                "requests": m.requests,
                "rss_mib": rss,
            }
            minutes.append(row)
            print(
                f"{row['minute']:>3} {row['messages_per_s']:>7.0f} {row['ingest_p50_ms']:>8.0f}ms "
                f"{row['ingest_p99_ms']:>5.0f}ms {row['read_p50_ms']:>7.0f}ms {row['read_p99_ms']:>5.0f}ms "
                f"{m.acks:>5} {m.errors:>6} {rss:>8.1f}",
                flush=True,
            )

        run_phase(
            base,
            key,
            token,
            patient_ids,
            seconds=args.minutes * 60 + 0.5,
            rate=rate,
            clients=args.clients,
            batch=args.batch,
            reads_every_s=args.reads_every,
            stats=stats,
            seed_=0,
            on_minute=on_minute,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    if not minutes:
        print("no full minute ran")
        return 1
    ref = minutes[1] if len(minutes) >= 3 else minutes[0]
    last = minutes[-1]
    growth = last["rss_mib"] / ref["rss_mib"] - 1
    flat = growth <= args.flat_tolerance
    requests = sum(m["requests"] for m in minutes)
    errors = sum(m["errors"] for m in minutes)
    print(
        f"memory: {ref['rss_mib']:.1f} MiB at minute {ref['minute']} -> {last['rss_mib']:.1f} MiB at minute "
        f"{last['minute']} ({growth:+.1%}): {'FLAT' if flat else 'GREW'} (tolerance {args.flat_tolerance:.0%})"
    )
    print(f"requests: {requests}, errors: {errors} {dict(stats.error_kinds) if errors else ''}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "backend": backend,
                    "peak": peak,
                    "rate": rate,
                    "minutes": minutes,
                    "rss_growth": growth,
                    "flat": flat,
                    "errors": errors,
                    "requests": requests,
                    "cpus": os.cpu_count(),
                },
                indent=2,
            )
        )
    ok = flat and errors <= 0.001 * max(requests, 1)
    print("soak", "PASSED" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
