"""Does self-training help? Model-only self-training on the shared proxy data, against ground truth only.

    python benchmarks/bench_selftrain.py                       # DepSeverity, 25% administered, 4 rounds
    python benchmarks/bench_selftrain.py --dataset lt_edi --admin-frac 0.2 --rounds 3 --no-dr

Setup (weak proxy, stated in the output): the dataset's user-grouped split gives train / calib / test.
A stratified `--admin-frac` of train plays the "administered" labels; the rest of train (labels hidden)
plus every Reddit DR post (no severity labels) is the unlabeled pool. calib is the held-out split that
picks the round and calibrates intervals; test is reported and never used for a decision. No LLM teacher
of useful quality runs here (only a 135M model), so the teacher is the previous round's model.

Runs: ground truth only (round 0, the baseline), self-training with the confidence filter and with no
filter (every round run, so the curve is visible; the round early stopping would pick is marked), the
ensemble of round 0 and that round, and an oracle trained on ALL train labels (the ceiling that
pseudolabels could at best approach). Metrics: phqwatch.evaluation.ordinal_metrics (Spearman, AUC per cut,
QWK; 95% bootstrap CIs). Writes benchmarks/results/selftrain.{json,md,png}. Run folders go to a temporary
directory (they hold models trained on research-use data: never commit them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from phqwatch.datasets import load_dataset, split
from phqwatch.errors import DatasetUnavailableError
from phqwatch.models.cpu import SOURCE_EDGES, CpuEstimator
from phqwatch.training.selftrain import LabelScale, SelfTrainer

RESULTS = Path(__file__).resolve().parent / "results"

#: Self-training variants compared with ground truth only (name -> SelfTrainer options): conf0.8 keeps
#: pseudolabels whose conformal interval lies >= 80% inside one class; top20-balanced keeps the most
#: confident 20% of the pool per round (growing: 20%, 40%, ...) split by the administered class shares;
#: all keeps every pseudolabel.
CONFIGS: dict[str, dict[str, Any]] = {
    "conf0.8": {"filter": "confidence", "min_confidence": 0.8},
    "top20-balanced": {
        "filter": "confidence",
        "min_confidence": 0.0,
        "accept_frac": 0.2,
        "balance_classes": True,
    },
    "all": {"filter": "none"},
}


def _admin_subset(labels: np.ndarray, frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified positions (administered, rest) within `labels`."""
    rng = np.random.default_rng(seed)
    admin = []
    for k in np.unique(labels):
        idx = np.flatnonzero(labels == k)
        rng.shuffle(idx)
        admin.extend(idx[: max(2, round(frac * len(idx)))])
    admin = np.sort(np.asarray(admin))
    rest = np.setdiff1d(np.arange(len(labels)), admin)
    return admin, rest


def _cell(m: dict[str, Any] | None, key: str) -> str:
    if not m:
        return "-"
    node: Any = m
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict) or node.get("value") is None:
        return "-"
    ci = node.get("ci") or [None, None]
    if ci[0] is None:
        return f"{node['value']:.3f}"
    return f"{node['value']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="depseverity", choices=["depseverity", "lt_edi"])
    ap.add_argument("--admin-frac", type=float, default=0.25)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--no-dr", action="store_true", help="Do not add the Reddit DR posts to the unlabeled pool.")
    ap.add_argument(
        "--configs", default=",".join(CONFIGS), help=f"Comma-separated self-training configs: {', '.join(CONFIGS)}."
    )
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-oracle", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS / "selftrain.json")
    args = ap.parse_args(argv)

    try:
        ds = load_dataset(args.dataset)
        dr = None if args.no_dr else load_dataset("reddit_dr")
    except DatasetUnavailableError as exc:
        print(f"SKIPPED: {exc}")
        return 0
    parts = split(ds, seed=args.seed)
    train, calib, test = parts["train"], parts["calib"], parts["test"]
    a_pos, u_pos = _admin_subset(ds.labels[train], args.admin_frac, args.seed)
    admin, pool = train[a_pos], train[u_pos]
    T = ds.texts
    L_texts, L_y = [T[i] for i in admin], ds.labels[admin].astype(float)
    unlabeled = {ds.user_ids[i]: T[i] for i in pool}
    if dr is not None:
        unlabeled.update(zip(dr.user_ids, dr.texts, strict=True))
    H = ([T[i] for i in calib], ds.labels[calib].astype(float))
    Te = ([T[i] for i in test], ds.labels[test].astype(float))
    scale = LabelScale(source=ds.name, boundaries=SOURCE_EDGES[ds.name], class_names=ds.label_names)
    setup = {
        "dataset": ds.name,
        "mapping": ds.mapping_note,
        "administered": len(admin),
        "administered_class_counts": np.bincount(ds.labels[admin], minlength=ds.n_classes).tolist(),
        "unlabeled_same_set": len(pool),
        "unlabeled_reddit_dr": 0 if dr is None else len(dr),
        "heldout_calib": len(calib),
        "test": len(test),
        "admin_frac": args.admin_frac,
        "seed": args.seed,
    }
    print(f"# Self-training benchmark ({ds.name})\n")
    print(json.dumps(setup))
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="phqwatch-selftrain-") as tmp:
        for filt in [f.strip() for f in args.configs.split(",") if f.strip()]:
            if filt not in CONFIGS:
                ap.error(f"unknown config {filt!r}; known: {', '.join(CONFIGS)}")
            t0 = time.perf_counter()
            print(f"config: {filt}", file=sys.stderr, flush=True)
            trainer = SelfTrainer(
                estimator_factory=CpuEstimator,
                max_rounds=args.rounds,
                **CONFIGS[filt],
                patience=args.rounds,  # run every round; the early-stopping pick (patience 1) is derived below
                ensemble=True,
                scale=scale,
                n_boot=args.n_boot,
                out_dir=Path(tmp) / f"run{len(runs)}",
                seed=args.seed,
                progress=lambda s: print("  " + s, file=sys.stderr, flush=True),
            )
            res = trainer.run(L_texts, L_y, unlabeled, heldout=H, test=Te)
            # what patience=1 would have picked: stop at the first round that does not improve
            pick = 0
            for r in res.rounds[1:]:
                if not r.improved:
                    break
                pick = r.round
            runs[filt] = {
                "summary": res.summary,
                "early_stop_pick_patience1": pick,
                "wall_s": round(time.perf_counter() - t0, 1),
            }
        oracle = None
        if not args.no_oracle:
            from phqwatch.evaluation import ordinal_metrics

            t0 = time.perf_counter()
            m = CpuEstimator().fit(
                [T[i] for i in train], ds.labels[train].astype(float), sources=[ds.name] * len(train)
            )
            fit_s = time.perf_counter() - t0
            oracle = {
                "n_train": len(train),
                "fit_s": round(fit_s, 1),
                "test": ordinal_metrics(
                    Te[1], m.predict(Te[0]), n_classes=ds.n_classes, n_boot=args.n_boot, seed=args.seed
                ),
            }

    cut_keys = [f"auc_by_cut.{k}" for k in range(1, ds.n_classes)]
    cols = ["spearman", "qwk", *cut_keys]
    head = "| model | round | pseudolabels accepted | " + " | ".join(c.replace("auc_by_cut.", "AUC >=") for c in cols)
    head += " | round wall s |"
    lines = [head, "|" + "---|" * (len(cols) + 4)]
    first = next(iter(runs.values()))["summary"]
    r0 = first["rounds"][0]
    lines.append(
        "| ground truth only | 0 | 0 | "
        + " | ".join(_cell(r0["test"], c) for c in cols)
        + f" | {r0['timings_s']['total_s']:.0f} |"
    )
    for filt, run in runs.items():
        s = run["summary"]
        for r in s["rounds"][1:]:
            mark = " (early-stop pick)" if r["round"] == run["early_stop_pick_patience1"] else ""
            lines.append(
                f"| self-train, {filt}{mark} | {r['round']} | {r['n_pseudo_accepted']} | "
                + " | ".join(_cell(r["test"], c) for c in cols)
                + f" | {r['timings_s']['total_s']:.0f} |"
            )
        ens = s.get("ensemble") or {}
        if ens.get("test"):
            lines.append(
                f"| ensemble GT + round {ens['members'][1]} ({filt}) | - | - | "
                + " | ".join(_cell(ens["test"], c) for c in cols)
                + " | - |"
            )
    if oracle:
        lines.append(
            f"| oracle: all {oracle['n_train']} train labels | - | - | "
            + " | ".join(_cell(oracle["test"], c) for c in cols)
            + f" | {oracle['fit_s']:.0f} |"
        )
    table = "\n".join(lines)
    note = (
        f"Test split ({len(test)} posts), 95% bootstrap CIs. Administered: {len(admin)} of {len(train)} train posts "
        f"({args.admin_frac:.0%}); unlabeled pool: {len(pool)} same-set + {setup['unlabeled_reddit_dr']} Reddit DR. "
        "Teacher = the previous round's model (no useful LLM here). Rounds are picked on the calib split."
    )
    print("\n" + table + "\n\n" + note)

    out = {
        "setup": setup,
        "runs": runs,
        "oracle": oracle,
        "table_markdown": table,
        "note": note,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(f"# Self-training benchmark ({ds.name})\n\n{table}\n\n{note}\n", "utf-8")
    _figure(runs, r0, oracle, args.out.with_suffix(".png"))
    print(f"\nwrote {args.out}, {args.out.with_suffix('.md')}, {args.out.with_suffix('.png')}")
    return 0


def _figure(runs: dict[str, Any], r0: dict[str, Any], oracle: dict[str, Any] | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key in zip(axes, ("spearman", "qwk"), strict=True):
        for i, (filt, run) in enumerate(runs.items()):
            rounds = run["summary"]["rounds"]
            xs = [r["round"] + 0.06 * i for r in rounds]
            v = [r["test"][key]["value"] for r in rounds]
            lo = [r["test"][key]["value"] - r["test"][key]["ci"][0] for r in rounds]
            hi = [r["test"][key]["ci"][1] - r["test"][key]["value"] for r in rounds]
            ax.errorbar(xs, v, yerr=[lo, hi], marker="o", capsize=3, label=f"self-train ({filt})")
        ax.axhline(r0["test"][key]["value"], color="black", ls=":", lw=1, label="ground truth only")
        if oracle:
            ax.axhline(oracle["test"][key]["value"], color="green", ls="--", lw=1, label="oracle (all labels)")
        ax.set_xlabel("round (0 = administered labels only)")
        ax.set_ylabel(f"test {key} (95% CI)")
        ax.legend(fontsize=7)
    fig.suptitle("Model-only self-training on the proxy data (test split)", fontsize=10)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
