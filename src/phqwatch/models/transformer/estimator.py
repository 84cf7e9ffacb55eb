"""TransformerEstimator: a local Hugging Face backbone + a regression head, fine-tuned with LoRA or fully.

Hyperparameters: the backbone folder, `finetune` and five config objects (`transformer.config`):
`ChunkingConfig` (the context window and long texts), `HeadConfig` (pooling, item heads, loss),
`LoraConfig`, `OptimConfig` (optimiser and schedule) and `RuntimeConfig` (device, precision, batching,
what a saved folder holds). The flat keywords of earlier versions (`max_length=`, `lora_r=`, ...) are
still taken by the constructor and `set_params`, and model folders that saved them still load.

Folder format (the same contract as every estimator; `phqwatch score/evaluate --model` load it unchanged):

- ``config.json`` / ``README.md``: written by `PHQ9Estimator.save` (hyperparameters, one JSON object per
  config group, learned state, card).
- ``weights.safetensors``: the head (``head.*``) and, with LoRA, the adapter tensors (``lora.*``), float32.
- ``tokenizer/``: the backbone's tokenizer files (small; scoring never needs the original folder for them).
- ``backbone/``: the backbone's ``config.json``, plus its weights when they changed (``finetune="full"``) or
  when ``embed_backbone=True``. Otherwise the frozen base weights are *referenced* by the ``backbone`` path
  (absolute) and checked on load against the saved config and a size fingerprint of the weight files,
  so a 27B folder stays a few hundred MB. Move such a folder together with its backbone, or re-save with
  ``embed_backbone=True`` to make it self-contained.

torch, transformers and peft are imported inside methods, so importing this module stays light.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from phqwatch.config import DEFAULT_MIN_WORDS
from phqwatch.errors import InputError
from phqwatch.models.base import Labels, PHQ9Estimator
from phqwatch.models.transformer.config import (
    FINETUNE_MODES,
    FLAT_PARAMS,
    GROUPS,
    ChunkingConfig,
    HeadConfig,
    LoraConfig,
    OptimConfig,
    RuntimeConfig,
    apply_flat,
    group_from_json,
)
from phqwatch.models.transformer.encoding import encode_texts, token_usage, wrap
from phqwatch.models.transformer.fitting import accelerator, build_model, item_targets, load_trainable, train
from phqwatch.models.transformer.sources import ensemble_latent, fit_source_scale, source_targets, to_phq9

log = logging.getLogger(__name__)


class TransformerEstimator(PHQ9Estimator):
    """Fine-tuned transformer regressor for the PHQ-9 total (and optionally its nine items).

    Args:
        backbone: local folder of a Hugging Face model (encoder or decoder). Hub ids are refused.
        finetune: "lora" (peft adapters, see `lora`), "full" (every weight) or "head" (frozen backbone).
        chunking, head, lora, optim, runtime: the config groups (`transformer.config`; defaults when omitted).
        seed: seeds the head's initialisation, the data order and dropout.
        min_words, coverage: as for every estimator (abstention floor, conformal interval coverage).
        **flat: the flat keywords of earlier versions (max_length=, epochs=, lora_r=, device=, ...),
            applied to their groups (`config.FLAT_PARAMS`).
    """

    name = "transformer"
    supports_sources = True

    def __init__(
        self,
        backbone: str = "",
        *,
        finetune: str = "lora",
        chunking: ChunkingConfig = ChunkingConfig(),
        head: HeadConfig = HeadConfig(),
        lora: LoraConfig = LoraConfig(),
        optim: OptimConfig = OptimConfig(),
        runtime: RuntimeConfig = RuntimeConfig(),
        seed: int = 0,
        min_words: int = DEFAULT_MIN_WORDS,
        coverage: float = 0.8,
        **flat: Any,
    ) -> None:
        super().__init__(min_words=min_words, coverage=coverage)
        groups: dict[str, Any] = {"chunking": chunking, "head": head, "lora": lora, "optim": optim, "runtime": runtime}
        if flat:  # only the flat spelling builds new objects; get_params/clone hand back what was passed
            groups = apply_flat(groups, flat, type(self).__name__)
        self.backbone = backbone
        self.finetune = finetune
        self.chunking: ChunkingConfig = groups["chunking"]
        self.head: HeadConfig = groups["head"]
        self.lora: LoraConfig = groups["lora"]
        self.optim: OptimConfig = groups["optim"]
        self.runtime: RuntimeConfig = groups["runtime"]
        self.seed = seed

    # ---- parameters -----------------------------------------------------------------------
    @classmethod
    def accepted_keywords(cls) -> set[str]:
        return set(cls._param_names()) | set(FLAT_PARAMS)

    def set_params(self, **params: Any) -> Self:
        """Set hyperparameters: group objects (chunking=ChunkingConfig(...)) or flat keywords (max_chunks=8)."""
        flat = {k: v for k, v in params.items() if k in FLAT_PARAMS and k not in self._param_names()}
        super().set_params(**{k: v for k, v in params.items() if k not in flat})
        if flat:
            for group, cfg in apply_flat({g: getattr(self, g) for g in GROUPS}, flat).items():
                setattr(self, group, cfg)
        return self

    @classmethod
    def _construct(cls, folder: Path, config: dict[str, Any]) -> PHQ9Estimator:
        """An unfitted instance from a folder's params: one dict per group, or the flat keys of old folders."""
        params = config.get("params", {})
        kwargs = {k: v for k, v in params.items() if k in cls._param_names() and k not in GROUPS}
        kwargs.update({g: group_from_json(g, params[g]) for g in GROUPS if g in params})
        kwargs.update({k: v for k, v in params.items() if k in FLAT_PARAMS and k not in kwargs})
        return cls(**kwargs)

    def _validate(self) -> None:
        for group, cls in GROUPS.items():
            if not isinstance(getattr(self, group), cls):
                raise InputError(
                    f"{group} must be a {cls.__name__}, got {type(getattr(self, group)).__name__}",
                    fix=f"Pass {group}={cls.__name__}(...) (phqwatch.models.transformer.config).",
                )
        if self.finetune not in FINETUNE_MODES:
            raise InputError(
                f"finetune must be one of {FINETUNE_MODES}, got {self.finetune!r}",
                fix="See TransformerEstimator's docstring or docs/transformer.md.",
            )

    # ---- fitting --------------------------------------------------------------------------
    def fit(
        self,
        X: Sequence[str],
        y: Labels,
        *,
        sources: Sequence[str] | None = None,
        items: Sequence[Sequence[float | None] | None] | None = None,
    ) -> TransformerEstimator:
        """Fit on texts and PHQ-9 totals, or (with `sources`) on each source's own ordinal codes.

        With `sources`, one output per source learns that source's codes (standardised within it) and the
        PHQ-9 output combines the outputs as the CPU default does (see `transformer.sources`). `items`
        (n rows of 9 scores, None/NaN where unknown) trains the item heads jointly when `item_heads=True`.
        """
        self._fit_items = items
        try:
            super().fit(X, y, sources=sources)
        finally:
            self._fit_items = None
        return self

    def _item_targets(self, n: int) -> list[list[float]] | None:
        if not self.head.item_heads:
            return None
        return item_targets(getattr(self, "_fit_items", None), n)

    def _fit(self, texts: list[str], y: np.ndarray, sources: list[str] | None) -> None:
        from accelerate.utils import set_seed

        from phqwatch.models.transformer.backbone import fingerprint, resolve_local

        self._validate()
        items = self._item_targets(len(texts))
        acc = accelerator(self.runtime)
        set_seed(self.seed)
        src = resolve_local(self.backbone)
        self._setup_tokenizer(src)
        backbone = load_trainable(self, src, acc)
        z = self._set_targets(y, sources)
        model = build_model(self, backbone, items)
        prepared, self.loss_history_ = train(self, model, self._encode_texts(texts), z, items, acc)
        self.n_train_ = len(texts)
        self.backbone_source_ = str(src)
        self.backbone_fingerprint_ = fingerprint(src)
        if acc.num_processes > 1:
            # Sharded/replicated training: gather the learned tensors once, for save() on the main process.
            full = acc.get_state_dict(prepared)
            self._gathered_ = {k: v.detach().float().cpu() for k, v in (full or {}).items()}
            acc.wait_for_everyone()
        self.model_ = acc.unwrap_model(prepared).eval()
        self.device_ = str(acc.device)
        self._autocast_bf16_ = acc.mixed_precision == "bf16"
        self._cache: tuple[tuple[int, int], tuple[np.ndarray, np.ndarray | None]] | None = None
        self.ensemble_: dict[str, Any] | None = None
        self.anchor_: str | None = None
        self.scale_: dict[str, list[float]] | None = None
        if sources is not None and self.sources_ and self.source_stats_ is not None:
            raw = self._forward_all(texts)[0]
            self.ensemble_, self.anchor_, self.scale_ = fit_source_scale(
                raw, y, sources, self.sources_, self.source_stats_
            )

    def _set_targets(self, y: np.ndarray, sources: list[str] | None) -> list[Any]:
        """Standardised training targets: the total's z-scores, or each source's own standardised codes."""
        self.sources_: list[str] | None
        self.source_stats_: dict[str, dict[str, float]] | None
        if sources is not None:
            names, targets, self.source_stats_ = source_targets(y, sources)
            self.sources_ = names
            self.y_mean_, self.y_std_ = 0.0, 1.0
            return list(targets.tolist())
        self.sources_, self.source_stats_ = None, None
        self.y_mean_ = float(np.mean(y))
        self.y_std_ = float(np.std(y)) or 1.0
        return list(((y - self.y_mean_) / self.y_std_).tolist())

    def _n_outputs(self) -> int:
        names = getattr(self, "sources_", None)  # unset before fit
        return len(names) if names else 1

    def _describe(self, config: Any) -> None:
        from phqwatch.models.transformer.backbone import hidden_size, is_decoder

        self.kind_ = "decoder" if is_decoder(config) else "encoder"
        pooling = self.head.pooling
        self.pooling_ = pooling if pooling != "auto" else ("last" if self.kind_ == "decoder" else "mean")
        self.hidden_size_ = hidden_size(config)
        positions = getattr(config.get_text_config(), "max_position_embeddings", None)
        max_length = self.chunking.max_length
        self.max_length_ = int(min(max_length, positions)) if positions else int(max_length)
        side = self.runtime.padding_side
        if side == "auto":
            side = getattr(self.tokenizer_, "padding_side", "right")
        self.padding_side_ = side if self.kind_ == "decoder" else "right"

    def _setup_tokenizer(self, folder: Path) -> None:
        from phqwatch.models.transformer.backbone import load_tokenizer

        self.tokenizer_ = load_tokenizer(folder)
        self.tokenizer_.model_max_length = 10**9  # we window ourselves; silence the length warning

    # ---- tokenizing (transformer.encoding) -------------------------------------------------
    def _wrap(self) -> tuple[list[int], list[int], int]:
        """(prefix ids, suffix ids, text tokens per sequence) for this tokenizer and max_length."""
        return wrap(self.tokenizer_, self.kind_, self.max_length_)

    def _encode_texts(self, texts: list[str]) -> list[list[list[int]]]:
        """Each text as its list of token sequences (one for head_tail, up to max_chunks for chunk)."""
        return encode_texts(self.tokenizer_, texts, self.chunking, self._wrap())

    # ---- scoring --------------------------------------------------------------------------
    def _forward_all(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
        key = (len(texts), hash(tuple(texts)))
        cache = getattr(self, "_cache", None)
        if cache is not None and cache[0] == key:
            return cache[1]
        import torch

        from phqwatch.models.transformer.training import collate

        docs = self._encode_texts(texts)
        order = sorted(range(len(docs)), key=lambda i: -sum(len(s) for s in docs[i]))
        n_out = self._n_outputs()
        totals = np.zeros(len(docs)) if n_out == 1 else np.zeros((len(docs), n_out))
        items = np.zeros((len(docs), 9)) if self.head.item_heads else None
        batch = self.runtime.predict_batch_size
        starts = range(0, len(order), batch)
        if self.runtime.progress and len(starts) > 1:
            from tqdm import tqdm

            starts = tqdm(starts, desc="scoring", unit=" batches", leave=False)
        device = torch.device(self.device_)
        use_bf16 = device.type == "cuda" and getattr(self, "_autocast_bf16_", False)
        model = self.model_.eval()
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            for s in starts:
                idx = order[s : s + batch]
                b = collate([docs[i] for i in idx], self.tokenizer_.pad_token_id, self.padding_side_)
                t, it = model(
                    b["input_ids"].to(device), b["attention_mask"].to(device), b["owner"].to(device), b["n_docs"]
                )
                totals[idx] = t.float().cpu().numpy() * self.y_std_ + self.y_mean_
                if items is not None and it is not None:
                    items[idx] = it.float().cpu().numpy()
        result = (totals, None if items is None else np.clip(items, 0, 3))
        self._cache = (key, result)
        return result

    def _predict(self, texts: list[str]) -> np.ndarray:
        raw = self._forward_all(texts)[0]
        if getattr(self, "sources_", None):
            assert self.ensemble_ is not None and self.scale_ is not None  # fitted or loaded with the sources
            return to_phq9(ensemble_latent(raw, self.ensemble_), self.scale_)
        return raw

    def predict_latent(self, X: Sequence[str], source: str | None = None) -> np.ndarray:
        """One source head's score, or (default) the combined latent behind the PHQ-9 output.

        Without sources the latent is the PHQ-9 regression output itself (unclipped)."""
        from phqwatch.models.base import as_texts

        self._check_fitted()
        texts = as_texts(X)
        names = getattr(self, "sources_", None) or []
        if source is not None and source not in names:
            raise InputError(f"no head named '{source}'", field="source", fix=f"Use one of {sorted(names)}.")
        raw = self._forward_all(texts)[0] if texts else np.zeros((0, max(1, len(names))))
        if not names:
            return raw
        if source is not None:
            return raw[:, names.index(source)]
        assert self.ensemble_ is not None  # fitted or loaded with the sources
        return ensemble_latent(raw, self.ensemble_)

    def token_usage(self, X: Sequence[str]) -> list[dict[str, int]]:
        """Per text: `n_tokens` in the text and `n_used` that the model reads (no silent truncation)."""
        from phqwatch.models.base import as_texts

        self._check_fitted()
        return token_usage(self.tokenizer_, as_texts(X), self.chunking, self._wrap()[2])

    def predict_items(self, X: Sequence[str]) -> np.ndarray | None:
        """Item scores (n, 9) in 0-3 when trained with item heads, else None."""
        from phqwatch.models.base import as_texts

        self._check_fitted()
        if not self.head.item_heads:
            return None
        texts = as_texts(X)
        return self._forward_all(texts)[1] if texts else np.zeros((0, 9))

    # ---- folder format (transformer.folder) ----------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        from phqwatch.models.transformer.folder import state_of

        return state_of(self)

    def _save_extra(self, folder: Path) -> None:
        from phqwatch.models.transformer.folder import save_extra

        save_extra(self, folder)

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path) -> None:
        from phqwatch.models.transformer.folder import restore

        restore(self, state, arrays, folder)
