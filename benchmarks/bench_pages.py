"""Server render time of the dashboard pages with 1,000 patients (target: < 300 ms per page).

Builds a SQLite database with 1,000 patients on one clinician's caseload (20 estimates each, 20,000 in all;
plus the small hand-written world of the page tests), then times each page in-process through the real app
(Starlette TestClient: routing, session cookie, queries, template rendering; no network). Prints medians and
p95 over repeated requests side by side with the 300 ms target and with the JSON API's patient list as a
baseline, and writes benchmarks/results/bench_pages.json.

    .venv/bin/python benchmarks/bench_pages.py [--patients 1000] [--estimates 20] [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

TARGET_MS = 300.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--estimates", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()

    from fastapi.testclient import TestClient

    from browser.pages_world import PASSWORD, build

    tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    t0 = time.perf_counter()
    w = build(f"sqlite:///{tmp / 'bench.db'}", n_extra_patients=args.patients - 1, estimates_per_patient=args.estimates)
    build_s = time.perf_counter() - t0
    c = TestClient(w.app, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
    assert c.post("/login", data={"username": "doc", "password": PASSWORD, "csrf_token": token}).status_code == 303
    api_tok = c.post("/api/v1/auth/token", data={"username": "doc", "password": PASSWORD}).json()["access_token"]
    pid = w.ids["pat"]
    html = c.get(f"/patients/{pid}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    rid = c.post(f"/patients/{pid}/reports", data={"csrf_token": token}).headers["location"].rsplit("/", 1)[1]
    pages = {
        "caseload (HTML)": "/caseload",
        "caseload (JSON twin)": "/caseload.json",
        "caseload sorted by estimate": "/caseload?sort=estimate",
        "patient page (HTML)": f"/patients/{pid}",
        "report (HTML)": f"/patients/{pid}/reports/{rid}",
        "monthly analysis (HTML)": f"/patients/{pid}/monthly?month=2026-03",
    }
    rows = []
    n_rows = c.get("/caseload.json").json()["total"]
    for name, url in pages.items():
        times = []
        for _ in range(args.repeat + 2):
            t = time.perf_counter()
            r = c.get(url)
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, (url, r.status_code)
        times = sorted(times[2:])  # first two warm caches
        rows.append((name, statistics.median(times), times[int(0.95 * (len(times) - 1))], times[0]))
    base = []
    for _ in range(args.repeat + 2):
        t = time.perf_counter()
        assert c.get("/api/v1/patients", headers={"Authorization": f"Bearer {api_tok}"}).status_code == 200
        base.append((time.perf_counter() - t) * 1000)
    base_med = statistics.median(sorted(base[2:]))

    print(f"\n{n_rows} patients on the caseload, {args.estimates} estimates each; database built in {build_s:.1f} s")
    load = os.getloadavg()[0]
    print(f"load average during the run: {load:.1f} on {os.cpu_count()} cores (other work inflates these times)")
    print(f"{'page':34s} {'median ms':>10s} {'p95 ms':>8s} {'min ms':>7s} {'target ms':>10s} {'API list ms':>12s}  ok")
    for name, med, p95, lo in rows:
        ok = "yes" if med < TARGET_MS else "NO"
        print(f"{name:34s} {med:10.1f} {p95:8.1f} {lo:7.1f} {TARGET_MS:10.0f} {base_med:12.1f}  {ok}")
    out = ROOT / "benchmarks" / "results" / "bench_pages.json"
    out.write_text(
        json.dumps(
            {
                "patients": n_rows,
                "estimates_per_patient": args.estimates,
                "repeat": args.repeat,
                "target_ms": TARGET_MS,
                "baseline_api_patients_list_median_ms": round(base_med, 1),
                "load_average": round(load, 2),
                "cpu_count": os.cpu_count(),
                "pages": [
                    {"page": n, "median_ms": round(m, 1), "p95_ms": round(p, 1), "min_ms": round(lo, 1)}
                    for n, m, p, lo in rows
                ],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"-> {out.relative_to(ROOT)}")
    w.app.state.ctx.db.dispose()


if __name__ == "__main__":
    main()
