"""Benchmark: all PHQ-9 metrics with 1,000 bootstrap resamples on 10,000 users (target: under 10 s).

Baseline: the straightforward way, a Python loop over resamples calling scipy / scikit-learn for each
metric (timed on 20 resamples and scaled to 1,000). Prints a side-by-side table (medians of 3 runs) and
writes benchmarks/results/bench_evaluation.json. Synthetic data only.

    .venv/bin/python benchmarks/bench_evaluation.py [--users 10000] [--n-boot 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from phqwatch.evaluation.metrics import bands_of, phq9_metrics

TARGET_S = 10.0
RESULTS = Path(__file__).resolve().parent / "results"


def synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.clip(np.round(rng.gamma(2.0, 4.0, n)), 0, 27)
    x = np.round(np.clip(y + rng.normal(0, 3.5, n), 0, 27), 2)
    return y, x, np.clip(x - 4.5, 0, 27), np.clip(x + 4.5, 0, 27)


def naive_replicate(y: np.ndarray, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    e = x - y
    np.mean(np.abs(e)), np.sqrt(np.mean(e**2)), stats.pearsonr(y, x), stats.spearmanr(y, x)
    r = np.clip(np.round(x), 0, 27).astype(int)
    cohen_kappa_score(y.astype(int), r, weights="quadratic", labels=np.arange(28))
    np.mean(bands_of(x) == bands_of(y)), np.mean((lo <= y) & (y <= hi))
    for t in range(1, 28):
        pos = y >= t
        if 10 <= pos.sum() <= len(y) - 10:
            roc_auc_score(pos, x)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline-boot", type=int, default=20)
    args = ap.parse_args()
    y, x, lo, hi = synthetic(args.users)

    ours = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        m = phq9_metrics(y, x, lo, hi, n_boot=args.n_boot, seed=0)
        ours.append(time.perf_counter() - t0)
    base = []
    rng = np.random.default_rng(0)
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for _ in range(args.baseline_boot):
            i = rng.integers(0, len(y), len(y))
            naive_replicate(y[i], x[i], lo[i], hi[i])
        base.append((time.perf_counter() - t0) * args.n_boot / args.baseline_boot)
    ours_med, base_med = statistics.median(ours), statistics.median(base)
    n_auc = len(m["auc_by_threshold"])
    print(
        f"All metrics ({n_auc} AUC thresholds + 12 scalars), {args.users:,} users x {args.n_boot:,} resamples, "
        f"{os.cpu_count()} CPUs, median of {args.repeats}"
    )
    print(f"{'method':<46}{'seconds':>10}{'target':>10}")
    print(f"{'phqwatch (vectorised counts + mid-ranks)':<46}{ours_med:>10.2f}{TARGET_S:>10.1f}")
    print(f"{'baseline: loop + scipy/sklearn (extrapolated)':<46}{base_med:>10.1f}{'':>10}")
    print(f"speed-up x{base_med / ours_med:.0f}; target {'MET' if ours_med < TARGET_S else 'MISSED'}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_evaluation.json").write_text(
        json.dumps(
            {
                "users": args.users,
                "n_boot": args.n_boot,
                "cpus": os.cpu_count(),
                "repeats": args.repeats,
                "phqwatch_s": [round(v, 3) for v in ours],
                "phqwatch_median_s": round(ours_med, 3),
                "baseline_extrapolated_median_s": round(base_med, 1),
                "baseline_resamples_timed": args.baseline_boot,
                "target_s": TARGET_S,
                "auc_thresholds": n_auc,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
