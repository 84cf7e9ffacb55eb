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
from phqwatch.training.selftrain_config import PseudolabelConfig, SelfTrainConfig

RESULTS = Path(__file__).resolve().parent / "results"

#: Self-training variants compared with ground truth only (name -> which pseudolabels a round keeps):
#: conf0.8 keeps pseudolabels whose conformal interval lies >= 80% inside one class; top20-balanced keeps
#: the most confident 20% of the pool per round (growing: 20%, 40%, ...) split by the administered class
#: shares; all keeps every pseudolabel.
CONFIGS: dict[str, PseudolabelConfig] = {
    "conf0.8": PseudolabelConfig(filter="confidence", min_confidence=0.8),
    "top20-balanced": PseudolabelConfig(filter="confidence", min_confidence=0.0, accept_frac=0.2, balance_classes=True),
    "all": PseudolabelConfig(filter="none"),
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


def paired_spearman_delta(y: np.ndarray, p0: np.ndarray, p1: np.ndarray, n_boot: int, seed: int) -> dict[str, float]:
    """Spearman(p1) - Spearman(p0) on the same rows, with a paired bootstrap 95% CI (rows resampled jointly)."""
    from scipy.stats import rankdata

    def rho(idx: np.ndarray) -> tuple[float, float]:
        ry = rankdata(y[idx])
        return float(np.corrcoef(ry, rankdata(p0[idx]))[0, 1]), float(np.corrcoef(ry, rankdata(p1[idx]))[0, 1])

    full = np.arange(len(y))
    a, b = rho(full)
    rng = np.random.default_rng(seed)
    deltas = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        x0, x1 = rho(idx)
        deltas.append(x1 - x0)
    lo, hi = np.nanpercentile(deltas, [2.5, 97.5])
    return {"delta": round(b - a, 4), "ci": [round(float(lo), 4), round(float(hi), 4)]}


def estimator_fingerprint() -> str:
    """Short hash of the CPU estimator's source files (the estimator changes while the project is built)."""
    import hashlib

    import phqwatch.models.cpu as cpu

    h = hashlib.sha256()
    for name in ("cpu.py", "lexical_features.py", "lexicons.py", "ordinal.py"):
        f = Path(cpu.__file__).with_name(name)
        h.update(f.read_bytes() if f.exists() else b"")
    return h.hexdigest()[:12]


def run_seed(ds: Any, dr: Any, seed: int, args: argparse.Namespace, configs: list[str]) -> dict[str, Any]:
    """One administered subsample and split: every config, the noise floor and the oracle."""
    from phqwatch.evaluation import ordinal_metrics

    parts = split(ds, seed=seed)
    train, calib, test = parts["train"], parts["calib"], parts["test"]
    a_pos, u_pos = _admin_subset(ds.labels[train], args.admin_frac, seed)
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
        "train_total": len(train),
        "unlabeled_same_set": len(pool),
        "unlabeled_reddit_dr": 0 if dr is None else len(dr),
        "heldout_calib": len(calib),
        "test": len(test),
        "admin_frac": args.admin_frac,
        "seed": seed,
    }
    print(json.dumps(setup), file=sys.stderr, flush=True)
    src = [ds.name] * len(L_texts)
    runs: dict[str, Any] = {}
    p0 = None
    with tempfile.TemporaryDirectory(prefix="phqwatch-selftrain-") as tmp:
        for name in configs:
            t0 = time.perf_counter()
            print(f"seed {seed}, config {name}", file=sys.stderr, flush=True)
            config = SelfTrainConfig(
                max_rounds=args.rounds,
                patience=args.rounds,  # run every round; the early-stopping pick (patience 1) is derived below
                ensemble=True,
                scale=scale,
                n_boot=args.n_boot,
                seed=seed,
                pseudo=CONFIGS[name],
            )
            trainer = SelfTrainer(
                estimator_factory=CpuEstimator,
                config=config,
                out_dir=Path(tmp) / f"run{len(runs)}",
                progress=lambda s: print("  " + s, file=sys.stderr, flush=True),
            )
            res = trainer.run(L_texts, L_y, unlabeled, heldout=H, test=Te, labeled_sources=src)
            pick = 0  # what patience=1 picks: the last round before the first that does not improve
            for r in res.rounds[1:]:
                if not r.improved:
                    break
                pick = r.round
            if p0 is None:
                p0 = res.models[0].predict(Te[0])
            paired = {
                str(r.round): paired_spearman_delta(Te[1], p0, res.models[r.round].predict(Te[0]), args.n_boot, seed)
                for r in res.rounds[1:]
            }
            runs[name] = {
                "summary": res.summary,
                "early_stop_pick_patience1": pick,
                "paired_test_spearman_delta_vs_round0": paired,
                "wall_s": round(time.perf_counter() - t0, 1),
            }
    # noise floor: the ground-truth-only model refitted with other CV seeds (random_state) of the estimator
    noise = []
    for rs in range(1, args.noise_refits + 1):
        m = CpuEstimator(random_state=rs).fit(L_texts, L_y, sources=src)
        noise.append(ordinal_metrics(Te[1], m.predict(Te[0]), n_classes=ds.n_classes, n_boot=0)["spearman"]["value"])
    oracle = None
    if not args.no_oracle:
        t0 = time.perf_counter()
        m = CpuEstimator().fit([T[i] for i in train], ds.labels[train].astype(float), sources=[ds.name] * len(train))
        oracle = {
            "n_train": len(train),
            "fit_s": round(time.perf_counter() - t0, 1),
            "test": ordinal_metrics(Te[1], m.predict(Te[0]), n_classes=ds.n_classes, n_boot=args.n_boot, seed=seed),
        }
    return {"setup": setup, "runs": runs, "noise_refit_test_spearman": noise, "oracle": oracle}


_KEEP = ("n", "spearman", "qwk", "macro_f1", "accuracy", "auc_by_cut", "class_counts")


def compact(obj: Any) -> Any:
    """The results without bulky repeats: metric dicts keep their values and CIs; temporary paths dropped."""
    if isinstance(obj, dict):
        if "spearman" in obj and "qwk" in obj and "cutpoint_method" in obj:
            return {k: obj[k] for k in _KEEP if k in obj}
        return {k: compact(v) for k, v in obj.items() if k not in ("model_dir", "notes")}
    if isinstance(obj, list):
        return [compact(v) for v in obj]
    return obj


def detail_table(res: dict[str, Any], n_classes: int) -> str:
    """Per-round test metrics of one seed, side by side with ground truth only and the oracle."""
    cols = ["spearman", "qwk", *[f"auc_by_cut.{k}" for k in range(1, n_classes)]]
    head = "| model | round | pseudolabels accepted | " + " | ".join(c.replace("auc_by_cut.", "AUC >=") for c in cols)
    lines = [head + " | round wall s |", "|" + "---|" * (len(cols) + 4)]
    runs = res["runs"]
    r0 = next(iter(runs.values()))["summary"]["rounds"][0]
    lines.append(
        "| ground truth only | 0 | 0 | "
        + " | ".join(_cell(r0["test"], c) for c in cols)
        + f" | {r0['timings_s']['total_s']:.0f} |"
    )
    for name, run in runs.items():
        s = run["summary"]
        for r in s["rounds"][1:]:
            mark = " (early-stop pick)" if r["round"] == run["early_stop_pick_patience1"] else ""
            lines.append(
                f"| self-train {name}{mark} | {r['round']} | {r['n_pseudo_accepted']} | "
                + " | ".join(_cell(r["test"], c) for c in cols)
                + f" | {r['timings_s']['total_s']:.0f} |"
            )
        ens = s.get("ensemble") or {}
        if ens.get("test"):
            lines.append(
                f"| ensemble GT + round {ens['members'][1]} ({name}) | - | - | "
                + " | ".join(_cell(ens["test"], c) for c in cols)
                + " | - |"
            )
    o = res.get("oracle")
    if o:
        lines.append(
            f"| oracle: all {o['n_train']} train labels | - | - | "
            + " | ".join(_cell(o["test"], c) for c in cols)
            + f" | {o['fit_s']:.0f} |"
        )
    return "\n".join(lines)


def seeds_table(per_seed: list[dict[str, Any]], configs: list[str]) -> tuple[str, dict[str, Any]]:
    """Across seeds: the test Spearman change of the round early stopping picks (paired 95% CIs)."""
    lines = [
        "| config | seeds | picked rounds | test Spearman delta at the pick, per seed [paired 95% CI] | median delta "
        "| seeds with CI > 0 | median round wall s (rounds 1..) |",
        "|---|---|---|---|---|---|---|",
    ]
    agg: dict[str, Any] = {}
    for name in configs:
        deltas, cells, picks, pos = [], [], [], 0
        walls: dict[int, list[float]] = {}
        for res in per_seed:
            run = res["runs"][name]
            pick = run["early_stop_pick_patience1"]
            picks.append(pick)
            for r in run["summary"]["rounds"][1:]:
                walls.setdefault(r["round"], []).append(r["timings_s"]["total_s"])
            if pick == 0:
                deltas.append(0.0)
                cells.append("0 (kept round 0)")
                continue
            d = run["paired_test_spearman_delta_vs_round0"][str(pick)]
            deltas.append(d["delta"])
            pos += d["ci"][0] > 0
            cells.append(f"{d['delta']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}]")
        med_wall = [round(float(np.median(walls[k])), 1) for k in sorted(walls)]
        agg[name] = {"picks": picks, "deltas": deltas, "median_delta": float(np.median(deltas)), "ci_above_0": pos}
        lines.append(
            f"| {name} | {len(per_seed)} | {picks} | {'; '.join(cells)} | {np.median(deltas):+.3f} | {pos} "
            f"| {med_wall} |"
        )
    noise = [v for res in per_seed for v in res["noise_refit_test_spearman"]]
    base = [res["runs"][configs[0]]["summary"]["rounds"][0]["test"]["spearman"]["value"] for res in per_seed]
    spread = [
        max([b, *res["noise_refit_test_spearman"]]) - min([b, *res["noise_refit_test_spearman"]])
        for b, res in zip(base, per_seed, strict=True)
    ]
    agg["noise_floor"] = {"refit_test_spearman": noise, "range_per_seed": spread}
    return "\n".join(lines), agg


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="depseverity", choices=["depseverity", "lt_edi"])
    ap.add_argument("--admin-frac", type=float, default=0.25)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--no-dr", action="store_true", help="Do not add the Reddit DR posts to the unlabeled pool.")
    ap.add_argument(
        "--configs", default=",".join(CONFIGS), help=f"Comma-separated self-training configs: {', '.join(CONFIGS)}."
    )
    ap.add_argument("--seeds", default="0,1,2", help="Comma-separated seeds (split + administered subsample).")
    ap.add_argument("--noise-refits", type=int, default=3, help="Refits of round 0 with other estimator seeds.")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--no-oracle", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS / "selftrain.json")
    args = ap.parse_args(argv)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for c in configs:
        if c not in CONFIGS:
            ap.error(f"unknown config {c!r}; known: {', '.join(CONFIGS)}")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    try:
        ds = load_dataset(args.dataset)
        dr = None if args.no_dr else load_dataset("reddit_dr")
    except DatasetUnavailableError as exc:
        print(f"SKIPPED: {exc}")
        return 0
    t0 = time.perf_counter()
    fingerprint = estimator_fingerprint()
    per_seed = [run_seed(ds, dr, seed, args, configs) for seed in seeds]
    detail = detail_table(per_seed[0], ds.n_classes)
    across, agg = seeds_table(per_seed, configs)
    s0 = per_seed[0]["setup"]
    noise = agg["noise_floor"]
    note = (
        f"{ds.name}: test split ({s0['test']} posts), 95% bootstrap CIs. Administered: {s0['administered']} of "
        f"{s0['train_total']} train posts ({args.admin_frac:.0%}, stratified); unlabeled pool: "
        f"{s0['unlabeled_same_set']} same-set (labels hidden) + {s0['unlabeled_reddit_dr']} Reddit DR posts. "
        "Teacher = the previous round's model (no useful LLM here). The round is picked on the calib split "
        f"({s0['heldout_calib']} posts) with patience 1; every round was run to show the curve. "
        f"Estimator: CpuEstimator defaults, source fingerprint {fingerprint}."
    )
    if args.noise_refits > 0:
        note += (
            f" Noise floor: refitting round 0 with {args.noise_refits} other estimator CV seeds moves test Spearman "
            f"by up to {max(noise['range_per_seed']):.3f} (range per seed: "
            f"{[round(x, 3) for x in noise['range_per_seed']]})."
        )
    text = (
        f"# Self-training benchmark ({ds.name})\n\n## Seed {seeds[0]}: every round (test split)\n\n{detail}\n\n"
        f"## Across seeds {seeds}: the round early stopping picks vs ground truth only\n\n{across}\n\n{note}\n"
    )
    load = [round(x, 2) for x in os.getloadavg()]
    text += (
        f"\nWall times: {os.cpu_count()} CPU cores shared with other jobs (load average {load[0]} at the end), "
        f"whole benchmark {time.perf_counter() - t0:.0f} s; round times include featurising the unlabeled pool, "
        "fitting, evaluating with bootstrap CIs and saving.\n"
    )
    print(text)
    out = {
        "per_seed": compact(per_seed),
        "aggregate": agg,
        "table_detail_markdown": detail,
        "table_seeds_markdown": across,
        "note": note,
        "wall_s": round(time.perf_counter() - t0, 1),
        "estimator_fingerprint": fingerprint,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    _figure(per_seed, args.out.with_suffix(".png"))
    print(f"wrote {args.out}, {args.out.with_suffix('.md')}, {args.out.with_suffix('.png')}")
    return 0


def _figure(per_seed: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    res = per_seed[0]
    runs, oracle = res["runs"], res["oracle"]
    r0 = next(iter(runs.values()))["summary"]["rounds"][0]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4), constrained_layout=True)
    n_rounds = len(next(iter(runs.values()))["summary"]["rounds"])
    for ax, key in zip(axes[:2], ("spearman", "qwk"), strict=True):
        for i, (name, run) in enumerate(runs.items()):
            rounds = run["summary"]["rounds"]
            xs = [r["round"] + 0.06 * i for r in rounds]
            v = [r["test"][key]["value"] for r in rounds]
            lo = [r["test"][key]["value"] - r["test"][key]["ci"][0] for r in rounds]
            hi = [r["test"][key]["ci"][1] - r["test"][key]["value"] for r in rounds]
            ax.errorbar(xs, v, yerr=[lo, hi], marker="o", capsize=3, label=f"self-train {name}")
        ax.axhline(r0["test"][key]["value"], color="black", ls=":", lw=1, label="ground truth only")
        if oracle:
            ax.axhline(oracle["test"][key]["value"], color="green", ls="--", lw=1, label="oracle (all labels)")
        ax.set_xlabel("round (0 = administered labels only)")
        ax.set_xticks(range(n_rounds))
        ax.set_ylabel(f"test {key} (95% CI), seed {res['setup']['seed']}")
        ax.legend(fontsize=7)
    ax = axes[2]
    for i, name in enumerate(runs):
        for j, rs in enumerate(per_seed):
            d = rs["runs"][name]["paired_test_spearman_delta_vs_round0"]
            ks = sorted(int(k) for k in d)
            ax.errorbar(
                [k + 0.05 * (3 * i + j) for k in ks],
                [d[str(k)]["delta"] for k in ks],
                yerr=[
                    [d[str(k)]["delta"] - d[str(k)]["ci"][0] for k in ks],
                    [d[str(k)]["ci"][1] - d[str(k)]["delta"] for k in ks],
                ],
                marker="o",
                ms=3,
                capsize=2,
                color=f"C{i}",
                alpha=0.8,
                label=name if j == 0 else None,
            )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(1, n_rounds))
    ax.set_xlabel("round")
    ax.set_ylabel("test Spearman - round 0 (paired 95% CI)")
    ax.set_title(f"all seeds ({len(per_seed)})", fontsize=9)
    ax.legend(fontsize=7)
    fig.suptitle("Model-only self-training on the proxy data", fontsize=10)
    fig.savefig(path, dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
