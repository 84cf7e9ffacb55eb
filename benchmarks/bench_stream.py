"""Streaming: score a large transcript file (default ~1 GB) and show peak memory stays far below its size.

    python benchmarks/bench_stream.py --mb 1024      # writes a synthetic file under /tmp, then scores it

Users arrive interleaved (not sorted), so per-user text must be gathered across the whole file: the
assembler spills to a temporary SQLite file past a memory budget. Prints file size, peak RSS, users/s.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = (
    "tired sleep night work friend walk sad happy food energy focus mother brother job music day "
    "week anxious calm hope plan school cook read run talk think feel bed morning evening"
).split()


def write_file(path: Path, mb: int, seed: int = 0) -> int:
    rng = random.Random(seed)
    n_users = max(100, mb * 45)  # ~2,000-word users at ~22 KB each
    size, n = 0, 0
    with path.open("w", encoding="utf-8") as fh:
        while size < mb * 1_000_000:
            u = rng.randrange(n_users)
            text = " ".join(rng.choices(WORDS, k=rng.randint(30, 120)))
            line = (
                json.dumps(
                    {
                        "user_id": f"u{u:07d}",
                        "conversation_id": f"c{u}-{n % 7}",
                        "role": "user",
                        "text": text,
                        "timestamp": f"2026-03-{1 + n % 28:02d}T10:00:00Z",
                    }
                )
                + "\n"
            )
            fh.write(line)
            size += len(line)
            n += 1
    return n


def score_child(src: str, out: str, spill_mb: int) -> None:
    from phqwatch.models import load_model
    from phqwatch.models.scoring import ScoreSummary, score_messages
    from phqwatch.transcripts import iter_messages, write_rows

    model = load_model()
    model.predict(["warm up the model so its memory is counted before the stream starts"] * 2)
    model_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = ScoreSummary()
    t0 = time.perf_counter()
    scored = score_messages(iter_messages(src), model, spill_chars=spill_mb * 1_000_000, summary=summary)
    write_rows((e.to_row() for e in scored), out)
    dt = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "users": summary.users,
                "seconds": dt,
                "peak_rss_mb": peak_mb,
                "model_rss_mb": model_mb,
                "spilled": summary.assembled.spilled,
                "duplicates": summary.assembled.duplicates,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=1024, help="size of the synthetic transcript file")
    ap.add_argument("--spill-mb", type=int, default=200, help="in-memory text budget before spilling")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        score_child(*args.child, args.spill_mb)
        return
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "big.jsonl", Path(tmp) / "scores.csv"
        t0 = time.perf_counter()
        n = write_file(src, args.mb)
        print(f"wrote {n:,} messages, {src.stat().st_size / 1e6:,.0f} MB in {time.perf_counter() - t0:.0f}s")
        res = subprocess.run(
            [sys.executable, __file__, "--child", str(src), str(out), "--spill-mb", str(args.spill_mb)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(res.stdout.strip().splitlines()[-1])
        size_mb = src.stat().st_size / 1e6
        print(
            "| file MB | users | text budget MB | RSS, model loaded | peak RSS MB | peak / file | users/s | spilled |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|:---:|")
        print(
            f"| {size_mb:,.0f} | {r['users']:,} | {args.spill_mb} | {r['model_rss_mb']:,.0f} | "
            f"{r['peak_rss_mb']:,.0f} | {r['peak_rss_mb'] / size_mb:.2f} | "
            f"{r['users'] / r['seconds']:,.0f} | {r['spilled']} |"
        )
        (Path(__file__).parent / "results").mkdir(exist_ok=True)
        (Path(__file__).parent / "results" / "stream.json").write_text(
            json.dumps({"file_mb": size_mb, "spill_mb": args.spill_mb, **r}, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
