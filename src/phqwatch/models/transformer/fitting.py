"""Fitting the transformer estimator, step by step: accelerator, trainable backbone, head, training loop.

Split from `estimator.py`; `TransformerEstimator._fit` calls these in order (each takes the estimator,
whose config groups say what to do). torch, transformers, accelerate and peft are imported inside the
functions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from phqwatch.errors import InputError
from phqwatch.models.transformer.backbone import auto_flag
from phqwatch.models.transformer.config import RuntimeConfig


def accelerator(runtime: RuntimeConfig) -> Any:
    """An `accelerate.Accelerator`: CPU or the GPU, bf16 when the runtime config (or "auto" on a GPU) asks."""
    import torch
    from accelerate import Accelerator

    cpu = runtime.device == "cpu" or not torch.cuda.is_available()
    bf16 = auto_flag(runtime.bf16, not cpu and torch.cuda.is_bf16_supported())
    return Accelerator(cpu=cpu, mixed_precision="bf16" if bf16 else "no")


def load_trainable(est: Any, src: Path, acc: Any) -> Any:
    """The backbone, in the precision its role allows, with checkpointing and LoRA/full/head trainability."""
    import torch
    from accelerate.utils import DistributedType

    from phqwatch.models.transformer.backbone import load_backbone

    rt = est.runtime
    sharded = acc.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)
    # A frozen base can sit in bf16; trainable weights stay fp32 (FSDP/ZeRO keep fp32 masters and cast).
    low = acc.mixed_precision == "bf16" and est.finetune != "full" and not sharded
    backbone = load_backbone(
        src, dtype=torch.bfloat16 if low else torch.float32, attn_implementation=rt.attn_implementation
    )
    est._describe(backbone.config)
    if getattr(backbone.config, "use_cache", None):
        backbone.config.use_cache = False
    if auto_flag(rt.gradient_checkpointing, acc.device.type == "cuda") and est.finetune != "head":
        backbone.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return prepare_trainable(est, backbone)


def build_model(est: Any, backbone: Any, items: list[list[float]] | None) -> Any:
    """Backbone + a fresh head (item biases start at the item means)."""
    import torch

    from phqwatch.models.transformer.heads import RegressionHead, RegressionModel

    head = RegressionHead(
        est.hidden_size_, item_heads=est.head.item_heads, dropout=est.head.dropout, n_outputs=est._n_outputs()
    )
    if items is not None and head.items is not None:  # item targets exist only with item heads
        means = np.nanmean(np.asarray(items, dtype=float), axis=0)
        with torch.no_grad():
            head.items.bias.copy_(torch.tensor(np.nan_to_num(means, nan=1.0), dtype=torch.float32))
    return RegressionModel(backbone, head, pooling=est.pooling_, is_decoder=est.kind_ == "decoder")


def train(
    est: Any, model: Any, docs: list[list[list[int]]], z: list[Any], items: list[list[float]] | None, acc: Any
) -> tuple[Any, list[float]]:
    """Train; returns (the prepared model, loss per epoch). A frozen backbone on one process encodes
    every text once and trains the head on the cached vectors."""
    from phqwatch.models.transformer.training import TrainConfig, encode_docs, train_head, train_loop

    o, h = est.optim, est.head
    cfg = TrainConfig(
        **{f.name: getattr(o, f.name) for f in dataclasses.fields(o)},
        loss=h.loss,
        huber_delta=h.huber_delta,
        item_weight=h.item_weight,
        seed=est.seed,
    )
    pad_id, side = est.tokenizer_.pad_token_id, est.padding_side_
    if est.finetune == "head" and acc.num_processes == 1:
        model.to(acc.device)
        feats = encode_docs(
            model,
            docs,
            pad_id=pad_id,
            padding_side=side,
            batch_size=est.runtime.predict_batch_size,
            device=acc.device,
        )
        model.head.cpu()
        history = train_head(model.head, feats, z, items, cfg=cfg)
        return model.to(acc.device), history
    return train_loop(
        model,
        docs,
        z,
        items,
        cfg=cfg,
        accelerator=acc,
        pad_id=pad_id,
        padding_side=side,
        progress=est.runtime.progress,
    )


def prepare_trainable(est: Any, backbone: Any) -> Any:
    """LoRA adapters (`finetune="lora"`, recorded as `lora_config_`), or every weight trainable ("full"), or none."""
    if est.finetune == "lora":
        from peft import LoraConfig as PeftLoraConfig
        from peft import get_peft_model

        kwargs = est.lora.peft_kwargs()
        if any("pooler" in n for n, _ in backbone.named_modules()):
            kwargs["exclude_modules"] = r".*pooler.*"  # unused by our pooling; DDP rejects unused params
        est.lora_config_ = kwargs
        return get_peft_model(backbone, PeftLoraConfig(**kwargs))
    est.lora_config_ = None
    for n, p in backbone.named_parameters():
        p.requires_grad_(est.finetune == "full" and "pooler" not in n)
    return backbone


def item_targets(raw: Sequence[Sequence[float | None] | None] | None, n: int) -> list[list[float]]:
    """The item labels of `fit(..., items=...)` as n rows of nine floats (NaN where unknown), checked."""
    if raw is None:
        raise InputError(
            "item_heads=True but no item labels were given",
            fix="Pass fit(X, y, items=...) with nine 0-3 scores per row (None where unknown), or item_heads=False.",
        )
    if len(raw) != n:
        raise InputError(f"items has {len(raw)} rows but X has {n}", fix="Align items with X.")
    out = []
    for i, row in enumerate(raw):
        if row is None:
            out.append([float("nan")] * 9)
            continue
        vals = [float("nan") if v is None else float(v) for v in row]
        if len(vals) != 9:
            raise InputError(f"items row {i} has {len(vals)} scores; expected 9", fix="Give item_1..item_9.")
        if any(not np.isnan(v) and not 0 <= v <= 3 for v in vals):
            raise InputError(f"items row {i} has a score outside 0-3", fix="Items are 0-3 each.")
        out.append(vals)
    if all(np.isnan(v) for row in out for v in row):
        raise InputError("item_heads=True but every item label is missing", fix="Give item labels or disable.")
    return out


__all__ = ["accelerator", "build_model", "item_targets", "load_trainable", "prepare_trainable", "train"]
