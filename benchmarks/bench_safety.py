"""Throughput of the crisis-safety screen (messages screened per second) on synthetic text.

Baseline: every rule's regex run on every message (``gate=False``). phqwatch: each rule's required
literals (derived from its parsed pattern) checked first; its regex runs only when one is present. Messages
are built from an everyday vocabulary; a share of them get one risk or idiom phrase so the slow path runs
too. Prints a side-by-side table (medians of several runs) and writes benchmarks/results/bench_safety.json.

Usage: python benchmarks/bench_safety.py [--runs 5] [--messages 3000]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from pathlib import Path

from phqwatch.monitoring.safety import SafetyScreen

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


def rate(screen: SafetyScreen, msgs: list[str], gate: bool, runs: int) -> float:
    rates = []
    for _ in range(runs):
        t = time.perf_counter()
        for m in msgs:
            screen.screen(m, gate=gate)
        rates.append(len(msgs) / (time.perf_counter() - t))
    return statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--messages", type=int, default=3000)
    args = ap.parse_args()
    s = SafetyScreen()
    rows = []
    for label, words, share in (("short (25 words), 5% risky", 25, 0.05), ("long (250 words), 5% risky", 250, 0.05),
                                ("short (25 words), 50% risky", 25, 0.50)):  # fmt: skip
        msgs = make_messages(args.messages if words < 100 else args.messages // 5, words, share)
        base = rate(s, msgs, gate=False, runs=args.runs)
        ours = rate(s, msgs, gate=True, runs=args.runs)
        hits = sum(s.screen(m).hit for m in msgs)
        rows.append({"workload": label, "messages": len(msgs), "hits": hits,
                     "baseline_per_rule_msgs_per_s": round(base), "gated_msgs_per_s": round(ours),
                     "speedup": round(ours / base, 2)})  # fmt: skip
    print(f"{'workload':32s} {'baseline msg/s':>15s} {'phqwatch msg/s':>15s} {'speedup':>8s} {'hits':>6s}")
    for r in rows:
        print(f"{r['workload']:32s} {r['baseline_per_rule_msgs_per_s']:>15,d} {r['gated_msgs_per_s']:>15,d} "
              f"{r['speedup']:>7.2f}x {r['hits']:>6d}")  # fmt: skip
    out = Path(__file__).resolve().parent / "results" / "bench_safety.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"runs": args.runs, "statistic": "median", "python": platform.python_version(),
            "machine": platform.machine(), "rules": len(s.rule_names)}  # fmt: skip
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
