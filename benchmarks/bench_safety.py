"""Speed of the crisis screen: the full screen (normalise + rules + learned model + context) against the
rules alone, on one core.

Messages of ~25 words are built from an everyday vocabulary; a share get one risk or idiom phrase so the
slow paths run too. Reports messages/s one at a time (as ingestion calls it) and batched (as `phqwatch
screen` calls it), the p50/p99 latency per message, and the ratio to the rules alone (medians of several
runs). Writes benchmarks/results/bench_safety.json.

Usage: python benchmarks/bench_safety.py [--runs 5] [--messages 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from pathlib import Path

from phqwatch.safety import CrisisScreen, ScreenConfig

VOCAB = (
    "today work sleep tired friend coffee meeting walk dinner family weekend phone call talk feel good bad "
    "really maybe think going home school class music movie rain sunny week plan busy quiet morning night "
    "lunch sister brother game team bus train book read write stress exam money job boss happy sad okay"
).split()
INSERTS = (
    "I want to die",
    "I'd never hurt myself",
    "this traffic is killing me",
    "my friend said she wants to die",
    "I used to self-harm years ago",
    "everyone would be better off without me",
    "I could kill for a coffee",
)


def make_messages(n: int, words: int, risk_share: float, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        toks = [rng.choice(VOCAB) for _ in range(words)]
        if rng.random() < risk_share:
            toks.insert(rng.randrange(len(toks) + 1), rng.choice(INSERTS))
        out.append(" ".join(toks).capitalize() + ".")
    return out


def one_at_a_time(screen: CrisisScreen, msgs: list[str]) -> tuple[float, list[float]]:
    lat = []
    t0 = time.perf_counter()
    for m in msgs:
        t = time.perf_counter()
        screen.screen(m)
        lat.append(time.perf_counter() - t)
    return len(msgs) / (time.perf_counter() - t0), lat


def batched(screen: CrisisScreen, msgs: list[str], size: int = 256) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(msgs), size):
        screen.screen_many(msgs[i : i + size])
    return len(msgs) / (time.perf_counter() - t0)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--messages", type=int, default=2000)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    msgs = make_messages(args.messages, 25, 0.1)
    rules = CrisisScreen(ScreenConfig(use_model=False))
    full = CrisisScreen()
    full.screen_many(msgs[:50])  # load and warm the model
    rows: dict[str, dict[str, float]] = {}
    for name, screen in (("rules alone", rules), ("full screen", full)):
        singles, p50s, p99s, batches = [], [], [], []
        for _ in range(args.runs):
            rate, lat = one_at_a_time(screen, msgs)
            singles.append(rate)
            p50s.append(pct(lat, 0.5) * 1000)
            p99s.append(pct(lat, 0.99) * 1000)
            batches.append(batched(screen, msgs))
        rows[name] = {
            "msgs_per_s_single": statistics.median(singles),
            "msgs_per_s_batched": statistics.median(batches),
            "p50_ms": statistics.median(p50s),
            "p99_ms": statistics.median(p99s),
        }
    base, new = rows["rules alone"], rows["full screen"]
    print(f"{args.messages} messages of ~25 words, one core, median of {args.runs} runs")
    print(f"{'':28}{'rules alone':>14}{'full screen':>14}{'ratio':>9}{'target':>14}")
    for key, label, target in (
        ("msgs_per_s_single", "messages/s, one at a time", ">= 1,000"),
        ("msgs_per_s_batched", "messages/s, batches of 256", ""),
        ("p50_ms", "p50 latency (ms)", ""),
        ("p99_ms", "p99 latency (ms)", "<= 20"),
    ):
        print(f"{label:28}{base[key]:>14.2f}{new[key]:>14.2f}{new[key] / base[key]:>8.2f}x{target:>14}")
    out = Path(__file__).resolve().parent / "results" / "bench_safety.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "messages": args.messages,
                "runs": args.runs,
                "words": 25,
                "rows": rows,
                "machine": platform.platform(),
                "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
