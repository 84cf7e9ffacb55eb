"""Benchmark lexical-ridge (the shipped default) against majority-class and plain TF-IDF + ridge baselines.

    .venv/bin/python benchmarks/bench_default.py [--users 10000] [--baseline-users 2000] [--quick]
        [--head-weights search|equal|stacked]

`--quick` runs the quality part only and writes nothing under results/.

Quality, on the held-out test split of each shared set (datasets.split, seed 0): Spearman, AUC at each
ordinal cut, quadratic-weighted kappa and macro-F1, computed with phqwatch.evaluation.ordinal_metrics
(95% bootstrap CIs, 500 resamples); macro-F1/QWK cut-points are chosen on out-of-fold scores of the
training split (5 folds) for every method. The last column is the Spearman of those out-of-fold training
scores (5-fold CV on the train split, ~4x the test split's posts, so a lower-variance comparison); for the
head they are near-out-of-fold (block alphas picked from a 3-value grid and the 4-input stacker fitted on
the same folds' scores).
- majority: predicts the training split's most frequent class (constant score).
- tfidf+ridge: TfidfVectorizer word 1-2-grams + char_wb 2-5-grams (sublinear tf, min_df 2), Ridge(alpha=1),
  trained on that set's train split alone, labels as integer codes.
- lexical-ridge (head): the shipped recipe, trained from scratch here on the three train splits; each set is
  scored by its own head (its own labels and cut-points).
- lexical-ridge (PHQ-9 output): the single PHQ-9 estimate users get (the weighted average of the
  standardised heads, mapped to 0-27 through DepSeverity's class boundaries), scored on every set
  (cut-points cross-fitted on the test split, since it has no per-set training scores).
Speed: users/s for synthetic users of ~2,000 words (sentences sampled from a project-written vocabulary),
through `estimate()` (totals, interval, items and evidence) in batches of 256; the baseline's
`predict` on the same texts. The synthetic vocabulary is small, so the per-word and per-sentence caches
help more than on real text: the script also times 1,000 users of ~2,000 words concatenated from the
shared posts (more realistic). Peak RSS; training time from scratch (in-process).
Needs ../shared/data (skips the quality part with a message when it is missing).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"

_SUBJECTS = ["I", "I really", "Honestly I", "Today I", "Lately I", "My partner and I", "At work I", "Again I"]
_VERBS = [
    "went to the store",
    "felt tired all day",
    "couldn't sleep last night",
    "cooked dinner with friends",
    "watched a film",
    "had a long meeting",
    "feel like nothing matters",
    "went for a run",
    "skipped lunch again",
    "called my mum",
    "can't focus on anything",
    "enjoyed the sunshine",
    "was stuck in traffic",
    "feel like a failure",
    "read a good book",
    "cleaned the kitchen",
]
_TAILS = ["", " this week", " and it was fine", " but I'm not sure why", " again", " for hours", " with my dog"]


def synthetic_users(n: int, words: int = 2000, seed: int = 0) -> list[str]:
    """Project-written synthetic text: sentences sampled from a small vocabulary until ~`words` words."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        sents, count = [], 0
        while count < words:
            s = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)}{rng.choice(_TAILS)}."
            sents.append(s)
            count += len(s.split())
        out.append(" ".join(sents))
    return out


def baseline_model():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline, make_union

    feats = make_union(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True),
    )
    return make_pipeline(feats, Ridge(alpha=1.0))


def oof_scores(texts: list[str], y: np.ndarray, k: int = 5) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    out = np.zeros(len(y))
    for tr, va in StratifiedKFold(k, shuffle=True, random_state=0).split(texts, y):
        m = baseline_model().fit([texts[i] for i in tr], y[tr])
        out[va] = m.predict([texts[i] for i in va])
    return out


def _summ(m: dict) -> dict:
    return {
        "spearman": m["spearman"]["value"],
        "spearman_ci": m["spearman"]["ci"],
        "auc_by_cut": {k: v["value"] for k, v in m["auc_by_cut"].items()},
        "qwk": m["qwk"]["value"],
        "macro_f1": m["macro_f1"]["value"],
        "macro_f1_ci": m["macro_f1"]["ci"],
    }


def _cv_rho(y: np.ndarray, oof: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(y, oof)[0])


def quality(n_boot: int = 500, head_weights: str = "search") -> tuple[dict, float, float]:
    from phqwatch.datasets import DATASETS, load_dataset, split
    from phqwatch.evaluation import ordinal_metrics
    from phqwatch.models.cpu import CpuEstimator

    data = {n: load_dataset(n) for n in DATASETS}
    splits = {n: split(d, seed=0) for n, d in data.items()}
    X, y, src = [], [], []
    for n, d in data.items():
        X += [d.texts[i] for i in splits[n]["train"]]
        y += list(d.labels[splits[n]["train"]])
        src += [n] * len(splits[n]["train"])
    t0 = time.perf_counter()
    model = CpuEstimator(head_weights=head_weights).fit(X, y, sources=src)
    cpu_train_s = time.perf_counter() - t0
    print(f"lexical-ridge trained from scratch on {len(X)} posts in {cpu_train_s:.1f}s", flush=True)
    weights = dict(zip(model.ensemble_["heads"], model.ensemble_["weights"], strict=True))
    print(f"head weights ({head_weights}): {weights}", flush=True)
    res: dict = {}
    base_train_s = 0.0
    for n, d in data.items():
        tr, te = splits[n]["train"], splits[n]["test"]
        ytr, yte = d.labels[tr], d.labels[te]
        ttr = [d.texts[i] for i in tr]
        tte = [d.texts[i] for i in te]
        k = d.n_classes
        kw = {"n_classes": k, "n_boot": n_boot}
        maj = int(np.bincount(ytr).argmax())
        r = {"majority": _summ(ordinal_metrics(yte, np.full(len(te), float(maj)), **kw))}
        t0 = time.perf_counter()
        base = baseline_model().fit(ttr, ytr)
        base_train_s += time.perf_counter() - t0
        base_oof = oof_scores(ttr, ytr)
        r["tfidf+ridge"] = _summ(
            ordinal_metrics(yte, base.predict(tte), train_scores=base_oof, train_labels=ytr, **kw)
        ) | {"cv_spearman": _cv_rho(ytr, base_oof)}
        _, oof = model.train_oof_latent_[n]
        r["lexical-ridge (head)"] = _summ(
            ordinal_metrics(yte, model.predict_latent(tte, n), train_scores=oof, train_labels=ytr, **kw)
        ) | {"cv_spearman": _cv_rho(ytr, oof)}
        r["lexical-ridge (PHQ-9 output)"] = _summ(ordinal_metrics(yte, model.predict(tte), **kw))
        res[n] = r
        print(f"{n}: " + ", ".join(f"{m} rho={v['spearman']}" for m, v in r.items()), flush=True)
    return res, cpu_train_s, base_train_s


def speed(n_users: int, n_base: int) -> dict:
    from phqwatch.datasets import DATASETS, load_dataset, split
    from phqwatch.models import load_model

    texts = synthetic_users(n_users)
    words = float(np.mean([len(t.split()) for t in texts[:200]]))
    model = load_model()
    model.estimate(texts[:8])  # warm-up (loads WordLlama)
    t0 = time.perf_counter()
    for i in range(0, len(texts), 256):
        model.estimate(texts[i : i + 256])
    cpu_s = time.perf_counter() - t0
    real = {}
    try:
        posts = [t for n in DATASETS for t in load_dataset(n).texts]
        rng = random.Random(1)
        users = []
        for _ in range(1000):
            parts, count = [], 0
            while count < 2000:
                p = rng.choice(posts)
                parts.append(p)
                count += len(p.split())
            users.append("\n".join(parts))
        model.estimate(users[:8])
        t0 = time.perf_counter()
        for i in range(0, len(users), 256):
            model.estimate(users[i : i + 256])
        real = {
            "real_post_users": len(users),
            "real_post_users_per_s": round(len(users) / (time.perf_counter() - t0), 1),
        }
    except Exception as exc:  # data missing: synthetic speed only
        print(f"Skipping the real-post speed run: {exc}", file=sys.stderr)
    d = load_dataset(DATASETS[0])
    tr = split(d)["train"]
    base = baseline_model().fit([d.texts[i] for i in tr], d.labels[tr])
    t0 = time.perf_counter()
    for i in range(0, n_base, 256):
        base.predict(texts[i : min(i + 256, n_base)])
    base_s = time.perf_counter() - t0
    return {
        "users": n_users,
        "mean_words": round(words, 1),
        "cpu_users_per_s": round(n_users / cpu_s, 1),
        "baseline_users": n_base,
        "baseline_users_per_s": round(n_base / base_s, 1),
        "speed_ratio": round((n_users / cpu_s) / (n_base / base_s), 2),
        **real,
    }


def markdown_quality(res: dict) -> str:
    lines = [
        "| set | method | Spearman (95% CI) | AUC per cut | QWK | macro-F1 | 5-fold CV Spearman (train split) |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, r in res.items():
        for m, v in r.items():
            ci = v["spearman_ci"]
            rho = "n/a (constant)" if v["spearman"] is None else f"{v['spearman']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"
            auc = " / ".join(f"{a:.3f}" for a in v["auc_by_cut"].values())
            cv = f"{v['cv_spearman']:.3f}" if v.get("cv_spearman") is not None else "-"
            lines.append(f"| {n} | {m} | {rho} | {auc} | {v['qwk']:.3f} | {v['macro_f1']:.3f} | {cv} |")
    return "\n".join(lines)


def markdown(res: dict, sp: dict, train: dict) -> str:
    lines = [
        markdown_quality(res),
        "",
        "| speed / cost | lexical-ridge | tfidf+ridge |",
        "|---|---|---|",
        f"| users/s (~{sp['mean_words']:.0f} words each) | {sp['cpu_users_per_s']} ({sp['users']} users, "
        f"estimate() incl. items + evidence) | {sp['baseline_users_per_s']} ({sp['baseline_users']} users, "
        "predict) |",
        f"| users/s, users of ~2,000 words concatenated from the shared posts | "
        f"{sp.get('real_post_users_per_s', 'n/a')} ({sp.get('real_post_users', 0)} users, estimate()) | - |",
        f"| training from scratch (all 3 sets) | {train['cpu_train_s']:.1f} s | {train['baseline_train_s']:.1f} s |",
        f"| peak memory (max RSS, whole benchmark) | {sp['peak_rss_mb']:.0f} MB | (same process) |",
    ]
    return "\n".join(lines)


def figure(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(res)
    methods = list(next(iter(res.values())))
    fig, ax = plt.subplots(figsize=(8, 4))
    w = 0.8 / len(methods)
    for j, m in enumerate(methods):
        vals = [res[s][m]["spearman"] or 0.0 for s in sets]
        ax.bar(np.arange(len(sets)) + j * w, vals, w, label=m)
    ax.set_xticks(np.arange(len(sets)) + w * (len(methods) - 1) / 2, sets)
    ax.set_ylabel("Spearman rho (held-out test split)")
    ax.set_title("lexical-ridge vs baselines on public proxy sets")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--baseline-users", type=int, default=2_000)
    ap.add_argument("--n-boot", type=int, default=500)
    ap.add_argument("--quick", action="store_true", help="quality only; skip speed, write no results")
    ap.add_argument("--head-weights", default="search", choices=["search", "equal", "stacked"])
    args = ap.parse_args()
    from phqwatch.errors import DatasetUnavailableError

    try:
        res, cpu_train_s, base_train_s = quality(args.n_boot, args.head_weights)
    except DatasetUnavailableError as exc:
        print(f"Skipping quality: {exc}", file=sys.stderr)
        res, cpu_train_s, base_train_s = {}, float("nan"), float("nan")
    if args.quick:
        print(markdown_quality(res))
        return
    sp = speed(args.users, args.baseline_users)
    sp["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    train = {"cpu_train_s": cpu_train_s, "baseline_train_s": base_train_s}
    md = markdown(res, sp, train)
    print(md)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "default.json").write_text(
        json.dumps({"quality": res, "speed": sp, "training": train}, indent=2) + "\n", encoding="utf-8"
    )
    (RESULTS / "default.md").write_text(md + "\n", encoding="utf-8")
    if res:
        figure(res, RESULTS / "default.png")


if __name__ == "__main__":
    main()
