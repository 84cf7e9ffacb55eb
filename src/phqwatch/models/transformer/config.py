"""The transformer estimator's hyperparameters as typed, frozen config objects with defaults.

    from phqwatch.models.transformer import ChunkingConfig, OptimConfig, TransformerEstimator
    TransformerEstimator("models/qwen3-0.6b", chunking=ChunkingConfig(max_length=8192),
                         optim=OptimConfig(epochs=2, learning_rate=1e-4))

Each group is checked when it is built (a bad value is an InputError naming the field). `FLAT_PARAMS` maps
the flat keyword names of earlier versions (`max_length=`, `lora_r=`, ...; also the keys of model folders
they saved) to (group, field), so `TransformerEstimator(path, max_length=64)`, `set_params(max_chunks=8)`
and old folders keep working. Pure Python: importing this module imports no torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from phqwatch.errors import InputError
from phqwatch.models.transformer.chunking import LONG_TEXT_MODES

FINETUNE_MODES = ("lora", "full", "head")
POOLINGS = ("auto", "last", "mean")
LOSSES = ("huber", "mse")
PADDING_SIDES = ("auto", "left", "right")


def _check(ok: bool, msg: str) -> None:
    if not ok:
        raise InputError(msg, fix="See TransformerEstimator's docstring or docs/transformer.md.")


@dataclass(frozen=True)
class ChunkingConfig:
    """How a user's text fits the context window.

    max_length: tokens per sequence, special tokens included (capped by the model's positions).
    long_text: "chunk" (split into max_length windows, encode each, average; read whole up to `max_chunks`)
        or "head_tail" (one window: the start, `head_fraction` of the budget, and the most recent end).
    chunk_overlap: tokens shared by consecutive chunks.
    """

    max_length: int = 512
    long_text: str = "chunk"
    head_fraction: float = 0.25
    chunk_overlap: int = 32
    max_chunks: int = 16

    def __post_init__(self) -> None:
        _check(self.long_text in LONG_TEXT_MODES, f"long_text must be one of {LONG_TEXT_MODES}, got {self.long_text!r}")
        _check(self.max_length >= 8, f"max_length must be >= 8, got {self.max_length}")
        _check(0.0 <= self.head_fraction <= 1.0, f"head_fraction must be in [0, 1], got {self.head_fraction}")
        _check(self.chunk_overlap >= 0, f"chunk_overlap must be >= 0, got {self.chunk_overlap}")
        _check(self.max_chunks >= 1, f"max_chunks must be >= 1, got {self.max_chunks}")


@dataclass(frozen=True)
class HeadConfig:
    """The regression head and its loss.

    pooling: "auto" (last non-padding token for decoders, mean for encoders), "last" or "mean".
    item_heads: also train nine item heads (0-3) jointly; needs item labels in `fit(..., items=...)`.
    item_weight: weight of the item loss next to the total's. loss: "huber" or "mse", on the standardised
    total (delta `huber_delta` in standard deviations). dropout: before the head.
    """

    pooling: str = "auto"
    item_heads: bool = False
    item_weight: float = 0.5
    loss: str = "huber"
    huber_delta: float = 1.0
    dropout: float = 0.1

    def __post_init__(self) -> None:
        _check(self.pooling in POOLINGS, f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        _check(self.loss in LOSSES, f"loss must be 'huber' or 'mse', got {self.loss!r}")
        _check(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}")


@dataclass(frozen=True)
class LoraConfig:
    """The LoRA adapter of `finetune="lora"` (peft): rank, scaling, dropout and the modules it wraps."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    #: "all-linear" or module names (a list is kept as a tuple, so the config stays hashable).
    target_modules: str | tuple[str, ...] = "all-linear"

    def __post_init__(self) -> None:
        if not isinstance(self.target_modules, str):
            object.__setattr__(self, "target_modules", tuple(self.target_modules))
        _check(self.r >= 1, f"lora r must be >= 1, got {self.r}")

    def peft_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `peft.LoraConfig` (stored as the fitted model's `lora_config_`)."""
        target = self.target_modules
        return {
            "r": int(self.r),
            "lora_alpha": int(self.alpha),
            "lora_dropout": float(self.dropout),
            "target_modules": target if isinstance(target, str) else list(target),
            "bias": "none",
        }


@dataclass(frozen=True)
class OptimConfig:
    """The optimiser and schedule: AdamW with linear warm-up and decay; the head has its own learning rate."""

    learning_rate: float = 2e-4
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    epochs: int = 3
    batch_size: int = 8
    grad_accum_steps: int = 1
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0

    def __post_init__(self) -> None:
        _check(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        _check(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        _check(self.grad_accum_steps >= 1, f"grad_accum_steps must be >= 1, got {self.grad_accum_steps}")
        _check(0.0 <= self.warmup_ratio <= 1.0, f"warmup_ratio must be in [0, 1], got {self.warmup_ratio}")


@dataclass(frozen=True)
class RuntimeConfig:
    """Where and how it runs, and what a saved folder holds (nothing here changes what is learned).

    device: "auto" (CUDA when available), "cpu" or "cuda[:n]". bf16, gradient_checkpointing: "auto" turns
    them on when training on a CUDA GPU. attn_implementation: "sdpa", "flash_attention_2" or "eager".
    padding_side: "auto" (the tokenizer's for decoders, right for encoders), "left" or "right".
    predict_batch_size: users per scoring batch. embed_backbone: copy the base weights into the saved
    folder (self-contained, large). progress: progress bars while training and scoring.
    """

    device: str = "auto"
    bf16: bool | str = "auto"
    gradient_checkpointing: bool | str = "auto"
    attn_implementation: str = "sdpa"
    padding_side: str = "auto"
    predict_batch_size: int = 16
    embed_backbone: bool = False
    progress: bool = False

    def __post_init__(self) -> None:
        _check(self.padding_side in PADDING_SIDES, f"padding_side must be one of {PADDING_SIDES}")
        _check(self.predict_batch_size >= 1, f"predict_batch_size must be >= 1, got {self.predict_batch_size}")
        for name in ("bf16", "gradient_checkpointing"):
            value = getattr(self, name)
            _check(isinstance(value, bool) or value == "auto", f"{name} must be True, False or 'auto', got {value!r}")


#: Group parameter name -> its config class.
GROUPS: dict[str, type] = {
    "chunking": ChunkingConfig,
    "head": HeadConfig,
    "lora": LoraConfig,
    "optim": OptimConfig,
    "runtime": RuntimeConfig,
}
_RENAMED = {"lora_r": "r", "lora_alpha": "alpha", "lora_dropout": "dropout", "lora_target_modules": "target_modules"}
#: Flat keyword of earlier versions -> (group, field).
FLAT_PARAMS: dict[str, tuple[str, str]] = {
    **{f.name: (g, f.name) for g, cls in GROUPS.items() if g != "lora" for f in dataclasses.fields(cls)},
    **{flat: ("lora", name) for flat, name in _RENAMED.items()},
}


def apply_flat(groups: dict[str, Any], flat: dict[str, Any], owner: str = "TransformerEstimator") -> dict[str, Any]:
    """`groups` (group name -> config object) with the flat keywords applied (dataclasses.replace).

    An unknown keyword is a TypeError, as for any constructor."""
    unknown = sorted(set(flat) - set(FLAT_PARAMS))
    if unknown:
        raise TypeError(f"{owner} got unexpected keyword argument(s): {', '.join(unknown)}")
    changes: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        group, name = FLAT_PARAMS[key]
        changes.setdefault(group, {})[name] = value
    return {g: dataclasses.replace(cfg, **changes[g]) if g in changes else cfg for g, cfg in groups.items()}


def group_from_json(name: str, value: Any) -> Any:
    """A config object from its saved JSON form (a dict; unknown keys, from a newer version, are skipped)."""
    cls = GROUPS[name]
    if isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise InputError(f"'{name}' must be a {cls.__name__} or its dict form, got {type(value).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in value.items() if k in known})


__all__ = [
    "FINETUNE_MODES",
    "FLAT_PARAMS",
    "GROUPS",
    "ChunkingConfig",
    "HeadConfig",
    "LoraConfig",
    "OptimConfig",
    "RuntimeConfig",
    "apply_flat",
    "group_from_json",
]
