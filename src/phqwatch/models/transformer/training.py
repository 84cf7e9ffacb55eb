"""Batching and the training loop. Runs under `accelerate` so one code path serves CPU, one GPU, DDP,
FSDP and DeepSpeed ZeRO-3 (the launcher's config decides; see docs/transformer.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from phqwatch.models.transformer.heads import RegressionModel


def collate(docs: list[list[list[int]]], pad_id: int, padding_side: str) -> dict[str, Any]:
    """Flatten each document's sequences into one padded batch; `owner` maps each row to its document."""
    flat = [seq for doc in docs for seq in doc]
    owner = [i for i, doc in enumerate(docs) for _ in doc]
    width = max(len(s) for s in flat)
    ids = torch.full((len(flat), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(flat), width), dtype=torch.long)
    for r, seq in enumerate(flat):
        n = len(seq)
        if padding_side == "left":
            ids[r, width - n :] = torch.tensor(seq, dtype=torch.long)
            mask[r, width - n :] = 1
        else:
            ids[r, :n] = torch.tensor(seq, dtype=torch.long)
            mask[r, :n] = 1
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "owner": torch.tensor(owner, dtype=torch.long),
        "n_docs": len(docs),
    }


@dataclass(slots=True)
class TrainConfig:
    epochs: int
    batch_size: int
    grad_accum_steps: int
    learning_rate: float
    head_learning_rate: float
    weight_decay: float
    warmup_ratio: float
    max_grad_norm: float
    loss: str
    huber_delta: float
    item_weight: float
    seed: int


def regression_loss(pred: torch.Tensor, target: torch.Tensor, kind: str, delta: float) -> torch.Tensor:
    """Element-wise Huber or MSE, averaged over the entries whose target is not NaN."""
    ok = ~torch.isnan(target)
    if not ok.any():
        return pred.sum() * 0.0
    p, t = pred[ok], target[ok]
    if kind == "huber":
        return nn.functional.huber_loss(p, t, delta=delta)
    if kind == "mse":
        return nn.functional.mse_loss(p, t)
    raise ValueError(f"unknown loss {kind!r}; expected 'huber' or 'mse'")


class _Docs(torch.utils.data.Dataset):
    def __init__(self, docs: list[list[list[int]]], z: list[float], items: list[list[float]] | None) -> None:
        self.docs, self.z, self.items = docs, z, items

    def __len__(self) -> int:
        return len(self.docs)

    def __getitem__(self, i: int) -> tuple[list[list[int]], float, list[float] | None]:
        return self.docs[i], self.z[i], None if self.items is None else self.items[i]


def train_loop(
    model: nn.Module,
    docs: list[list[list[int]]],
    z: list[float],
    items: list[list[float]] | None,
    *,
    cfg: TrainConfig,
    accelerator: Any,
    pad_id: int,
    padding_side: str,
    progress: bool = False,
) -> tuple[nn.Module, list[float]]:
    """Train `model` (a RegressionModel) on standardised totals `z` (and items); returns (prepared model,
    mean training loss per epoch, averaged over processes)."""

    def _collate(rows: list[tuple]) -> dict[str, Any]:
        batch = collate([r[0] for r in rows], pad_id, padding_side)
        batch["z"] = torch.tensor([r[1] for r in rows], dtype=torch.float32)
        if items is not None:
            batch["items"] = torch.tensor([r[2] for r in rows], dtype=torch.float32)
        return batch

    gen = torch.Generator().manual_seed(cfg.seed)
    loader = torch.utils.data.DataLoader(
        _Docs(docs, z, items), batch_size=cfg.batch_size, shuffle=True, generator=gen, collate_fn=_collate
    )
    head_params = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("head.")]
    body_params = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("head.")]
    groups = [{"params": head_params, "lr": cfg.head_learning_rate, "weight_decay": 0.0}]
    if body_params:
        groups.append({"params": body_params, "lr": cfg.learning_rate, "weight_decay": cfg.weight_decay})
    opt = torch.optim.AdamW(groups)
    # Counted as on one process: accelerate's scheduler wrapper steps once per process per optimizer step.
    steps_per_epoch = math.ceil(math.ceil(len(docs) / cfg.batch_size) / cfg.grad_accum_steps)
    total = max(1, steps_per_epoch * cfg.epochs)
    warmup = int(total * cfg.warmup_ratio)

    def _lr(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr)
    accelerator.gradient_accumulation_steps = cfg.grad_accum_steps
    model, opt, loader, sched = accelerator.prepare(model, opt, loader, sched)
    history: list[float] = []
    bar = None
    if progress and accelerator.is_main_process:
        from tqdm import tqdm

        bar = tqdm(total=cfg.epochs * len(loader), desc="training", unit=" batches", leave=False)
    for _ in range(cfg.epochs):
        model.train()
        running = torch.zeros((), device=accelerator.device)
        count = 0
        for batch in loader:
            with accelerator.accumulate(model):
                total_pred, item_pred = model(
                    batch["input_ids"], batch["attention_mask"], batch["owner"], batch["n_docs"]
                )
                loss = regression_loss(total_pred, batch["z"], cfg.loss, cfg.huber_delta)
                if item_pred is not None and "items" in batch:
                    loss = loss + cfg.item_weight * regression_loss(
                        item_pred, batch["items"], cfg.loss, cfg.huber_delta
                    )
                accelerator.backward(loss)
                if accelerator.sync_gradients and cfg.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
            running += loss.detach().float()
            count += 1
            if bar is not None:
                bar.update(1)
        mean = accelerator.reduce(running / max(1, count), reduction="mean")
        history.append(float(mean))
    if bar is not None:
        bar.close()
    return model, history


def encode_docs(
    model: RegressionModel,
    docs: list[list[list[int]]],
    *,
    pad_id: int,
    padding_side: str,
    batch_size: int,
    device: Any,
) -> torch.Tensor:
    """Pooled document vectors (n, dim) from a frozen backbone, computed once (longest documents first)."""
    order = sorted(range(len(docs)), key=lambda i: -sum(len(s) for s in docs[i]))
    out: torch.Tensor | None = None
    model.eval()
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            b = collate([docs[i] for i in idx], pad_id, padding_side)
            vec = model.encode(
                b["input_ids"].to(device), b["attention_mask"].to(device), b["owner"].to(device), len(idx)
            )
            if out is None:
                out = torch.zeros(len(docs), vec.shape[1])
            out[idx] = vec.float().cpu()
    assert out is not None
    return out


def train_head(
    head: nn.Module, feats: torch.Tensor, z: list[float], items: list[list[float]] | None, *, cfg: TrainConfig
) -> list[float]:
    """Train only the head on cached features (frozen backbone: a linear probe); mean loss per epoch."""
    gen = torch.Generator().manual_seed(cfg.seed)
    zt = torch.tensor(z, dtype=torch.float32)
    it = None if items is None else torch.tensor(items, dtype=torch.float32)
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.head_learning_rate, weight_decay=cfg.weight_decay)
    history: list[float] = []
    head.train()
    for _ in range(cfg.epochs):
        perm = torch.randperm(len(zt), generator=gen)
        total, count = 0.0, 0
        for s in range(0, len(perm), cfg.batch_size):
            idx = perm[s : s + cfg.batch_size]
            total_pred, item_pred = head(feats[idx])
            loss = regression_loss(total_pred, zt[idx], cfg.loss, cfg.huber_delta)
            if item_pred is not None and it is not None:
                loss = loss + cfg.item_weight * regression_loss(item_pred, it[idx], cfg.loss, cfg.huber_delta)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            total += float(loss.detach())
            count += 1
        history.append(total / max(1, count))
    head.eval()
    return history
