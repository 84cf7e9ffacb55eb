"""TransformerEstimator: a local Hugging Face backbone + a regression head, fine-tuned with LoRA or fully.

Folder format (the same contract as every estimator; `phqwatch score/evaluate --model` load it unchanged):

- ``config.json`` / ``README.md``: written by `PHQ9Estimator.save` (hyperparameters, learned state, card).
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
from typing import Any

import numpy as np

from phqwatch.config import DEFAULT_MIN_WORDS
from phqwatch.errors import InputError
from phqwatch.models.base import Labels, PHQ9Estimator
from phqwatch.models.transformer.backbone import auto_flag
from phqwatch.models.transformer.chunking import LONG_TEXT_MODES, coverage, fit_to_window
from phqwatch.models.transformer.sources import ensemble_latent, fit_source_scale, source_targets, to_phq9

log = logging.getLogger(__name__)
FINETUNE_MODES = ("lora", "full", "head")
POOLINGS = ("auto", "last", "mean")


class TransformerEstimator(PHQ9Estimator):
    """Fine-tuned transformer regressor for the PHQ-9 total (and optionally its nine items).

    Args:
        backbone: local folder of a Hugging Face model (encoder or decoder). Hub ids are refused.
        pooling: "auto" (last non-padding token for decoders, mean for encoders), "last" or "mean".
        max_length: tokens per sequence, special tokens included (capped by the model's positions).
        long_text: "chunk" (default: split into max_length windows, encode each, average; a long history is
            read whole up to `max_chunks`) or "head_tail" (one window: the start and the most recent end).
        head_fraction: share of the budget kept from the start in head_tail mode.
        chunk_overlap, max_chunks: chunk mode's overlap (tokens) and the most chunks per user.
        item_heads: also train nine item heads (0-3) jointly; needs item labels in `fit(..., items=...)`.
        item_weight: weight of the item loss next to the total's.
        loss: "huber" or "mse", on the standardised total (delta `huber_delta` in standard deviations).
        finetune: "lora" (peft adapters), "full" (every weight) or "head" (frozen backbone).
        lora_r, lora_alpha, lora_dropout, lora_target_modules: the LoRA adapter ("all-linear" by default).
        bf16, gradient_checkpointing: "auto" turns them on when training on a CUDA GPU.
        attn_implementation: "sdpa" (default), "flash_attention_2" or "eager".
        padding_side: "auto" (the tokenizer's for decoders, right for encoders), "left" or "right".
        device: "auto" (CUDA when available), "cpu" or "cuda[:n]".
        embed_backbone: copy the base weights into the saved folder (self-contained, large).
    """

    name = "transformer"
    supports_sources = True

    def __init__(
        self,
        backbone: str = "",
        *,
        pooling: str = "auto",
        max_length: int = 512,
        long_text: str = "chunk",
        head_fraction: float = 0.25,
        chunk_overlap: int = 32,
        max_chunks: int = 16,
        item_heads: bool = False,
        item_weight: float = 0.5,
        loss: str = "huber",
        huber_delta: float = 1.0,
        finetune: str = "lora",
        lora_r: int = 16,
        lora_alpha: int = 32,
        lora_dropout: float = 0.05,
        lora_target_modules: str | list[str] = "all-linear",
        learning_rate: float = 2e-4,
        head_learning_rate: float = 1e-3,
        weight_decay: float = 0.01,
        epochs: int = 3,
        batch_size: int = 8,
        grad_accum_steps: int = 1,
        warmup_ratio: float = 0.1,
        max_grad_norm: float = 1.0,
        dropout: float = 0.1,
        bf16: bool | str = "auto",
        gradient_checkpointing: bool | str = "auto",
        attn_implementation: str = "sdpa",
        padding_side: str = "auto",
        device: str = "auto",
        predict_batch_size: int = 16,
        embed_backbone: bool = False,
        seed: int = 0,
        progress: bool = False,
        min_words: int = DEFAULT_MIN_WORDS,
        coverage: float = 0.8,
    ) -> None:
        super().__init__(min_words=min_words, coverage=coverage)
        self.backbone = backbone
        self.pooling = pooling
        self.max_length = max_length
        self.long_text = long_text
        self.head_fraction = head_fraction
        self.chunk_overlap = chunk_overlap
        self.max_chunks = max_chunks
        self.item_heads = item_heads
        self.item_weight = item_weight
        self.loss = loss
        self.huber_delta = huber_delta
        self.finetune = finetune
        self.lora_r = lora_r
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.lora_target_modules = lora_target_modules
        self.learning_rate = learning_rate
        self.head_learning_rate = head_learning_rate
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.grad_accum_steps = grad_accum_steps
        self.warmup_ratio = warmup_ratio
        self.max_grad_norm = max_grad_norm
        self.dropout = dropout
        self.bf16 = bf16
        self.gradient_checkpointing = gradient_checkpointing
        self.attn_implementation = attn_implementation
        self.padding_side = padding_side
        self.device = device
        self.predict_batch_size = predict_batch_size
        self.embed_backbone = embed_backbone
        self.seed = seed
        self.progress = progress

    # ---- validation -----------------------------------------------------------------------
    def _validate(self) -> None:
        checks = [
            (self.long_text in LONG_TEXT_MODES, f"long_text must be one of {LONG_TEXT_MODES}, got {self.long_text!r}"),
            (self.finetune in FINETUNE_MODES, f"finetune must be one of {FINETUNE_MODES}, got {self.finetune!r}"),
            (self.pooling in POOLINGS, f"pooling must be one of {POOLINGS}, got {self.pooling!r}"),
            (self.loss in ("huber", "mse"), f"loss must be 'huber' or 'mse', got {self.loss!r}"),
            (self.padding_side in ("auto", "left", "right"), f"bad padding_side {self.padding_side!r}"),
            (self.max_length >= 8, f"max_length must be >= 8, got {self.max_length}"),
            (0.0 <= self.head_fraction <= 1.0, f"head_fraction must be in [0, 1], got {self.head_fraction}"),
            (self.max_chunks >= 1, f"max_chunks must be >= 1, got {self.max_chunks}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise InputError(msg, fix="See TransformerEstimator's docstring or docs/transformer.md.")

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
        raw = getattr(self, "_fit_items", None)
        if not self.item_heads:
            return None
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

    def _accelerator(self) -> Any:
        import torch
        from accelerate import Accelerator

        cpu = self.device == "cpu" or not torch.cuda.is_available()
        bf16 = auto_flag(self.bf16, not cpu and torch.cuda.is_bf16_supported())
        return Accelerator(cpu=cpu, mixed_precision="bf16" if bf16 else "no")

    def _fit(self, texts: list[str], y: np.ndarray, sources: list[str] | None) -> None:
        import torch
        from accelerate.utils import DistributedType, set_seed

        from phqwatch.models.transformer.backbone import fingerprint, load_backbone, resolve_local
        from phqwatch.models.transformer.heads import RegressionHead, RegressionModel
        from phqwatch.models.transformer.training import TrainConfig, encode_docs, train_head, train_loop

        self._validate()
        item_targets = self._item_targets(len(texts))
        acc = self._accelerator()
        set_seed(self.seed)
        src = resolve_local(self.backbone)
        self._setup_tokenizer(src)
        sharded = acc.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)
        on_gpu = acc.device.type == "cuda"
        # A frozen base can sit in bf16; trainable weights stay fp32 (FSDP/ZeRO keep fp32 masters and cast).
        low = acc.mixed_precision == "bf16" and self.finetune != "full" and not sharded
        backbone = load_backbone(
            src, dtype=torch.bfloat16 if low else torch.float32, attn_implementation=self.attn_implementation
        )
        self._describe(backbone.config)
        if getattr(backbone.config, "use_cache", None):
            backbone.config.use_cache = False
        if auto_flag(self.gradient_checkpointing, on_gpu) and self.finetune != "head":
            backbone.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        backbone = self._prepare_trainable(backbone)
        self.sources_: list[str] | None
        self.source_stats_: dict[str, dict[str, float]] | None
        if sources is not None:
            names, targets, self.source_stats_ = source_targets(y, sources)
            self.sources_ = names
            self.y_mean_, self.y_std_ = 0.0, 1.0
            z: list[Any] = targets.tolist()
        else:
            self.sources_, self.source_stats_ = None, None
            self.y_mean_ = float(np.mean(y))
            self.y_std_ = float(np.std(y)) or 1.0
            z = ((y - self.y_mean_) / self.y_std_).tolist()
        head = RegressionHead(
            self.hidden_size_, item_heads=self.item_heads, dropout=self.dropout, n_outputs=self._n_outputs()
        )
        if item_targets is not None and head.items is not None:  # item targets exist only with item heads
            means = np.nanmean(np.asarray(item_targets, dtype=float), axis=0)
            with torch.no_grad():
                head.items.bias.copy_(torch.tensor(np.nan_to_num(means, nan=1.0), dtype=torch.float32))
        model = RegressionModel(backbone, head, pooling=self.pooling_, is_decoder=self.kind_ == "decoder")
        docs = self._encode_texts(texts)
        cfg = TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            grad_accum_steps=self.grad_accum_steps,
            learning_rate=self.learning_rate,
            head_learning_rate=self.head_learning_rate,
            weight_decay=self.weight_decay,
            warmup_ratio=self.warmup_ratio,
            max_grad_norm=self.max_grad_norm,
            loss=self.loss,
            huber_delta=self.huber_delta,
            item_weight=self.item_weight,
            seed=self.seed,
        )
        prepared: torch.nn.Module
        if self.finetune == "head" and acc.num_processes == 1:
            # Frozen backbone: encode every text once, then train the head on the cached vectors.
            model.to(acc.device)
            feats = encode_docs(
                model,
                docs,
                pad_id=self.tokenizer_.pad_token_id,
                padding_side=self.padding_side_,
                batch_size=self.predict_batch_size,
                device=acc.device,
            )
            model.head.cpu()
            history = train_head(model.head, feats, z, item_targets, cfg=cfg)
            prepared = model.to(acc.device)
        else:
            prepared, history = train_loop(
                model,
                docs,
                z,
                item_targets,
                cfg=cfg,
                accelerator=acc,
                pad_id=self.tokenizer_.pad_token_id,
                padding_side=self.padding_side_,
                progress=self.progress,
            )
        self.loss_history_ = history
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

    def _n_outputs(self) -> int:
        names = getattr(self, "sources_", None)  # unset before fit
        return len(names) if names else 1

    def _describe(self, config: Any) -> None:
        from phqwatch.models.transformer.backbone import hidden_size, is_decoder

        self.kind_ = "decoder" if is_decoder(config) else "encoder"
        self.pooling_ = self.pooling if self.pooling != "auto" else ("last" if self.kind_ == "decoder" else "mean")
        self.hidden_size_ = hidden_size(config)
        positions = getattr(config.get_text_config(), "max_position_embeddings", None)
        self.max_length_ = int(min(self.max_length, positions)) if positions else int(self.max_length)
        if self.padding_side == "auto":
            tok_side = getattr(self.tokenizer_, "padding_side", "right")
            self.padding_side_ = tok_side if self.kind_ == "decoder" else "right"
        else:
            self.padding_side_ = self.padding_side if self.kind_ == "decoder" else "right"

    def _setup_tokenizer(self, folder: Path) -> None:
        from phqwatch.models.transformer.backbone import load_tokenizer

        self.tokenizer_ = load_tokenizer(folder)
        self.tokenizer_.model_max_length = 10**9  # we window ourselves; silence the length warning

    def _lora_kwargs(self) -> dict[str, Any]:
        target = self.lora_target_modules
        return {
            "r": int(self.lora_r),
            "lora_alpha": int(self.lora_alpha),
            "lora_dropout": float(self.lora_dropout),
            "target_modules": target if isinstance(target, str) else list(target),
            "bias": "none",
        }

    def _prepare_trainable(self, backbone: Any) -> Any:
        if self.finetune == "lora":
            from peft import LoraConfig, get_peft_model

            kwargs = self._lora_kwargs()
            if any("pooler" in n for n, _ in backbone.named_modules()):
                kwargs["exclude_modules"] = r".*pooler.*"  # unused by our pooling; DDP rejects unused params
            self.lora_config_: dict[str, Any] | None = kwargs
            return get_peft_model(backbone, LoraConfig(**kwargs))
        self.lora_config_ = None
        for n, p in backbone.named_parameters():
            p.requires_grad_(self.finetune == "full" and "pooler" not in n)
        return backbone

    # ---- tokenizing -----------------------------------------------------------------------
    def _wrap(self) -> tuple[list[int], list[int], int]:
        """(prefix ids, suffix ids, text tokens per sequence) for this tokenizer and max_length."""
        from phqwatch.models.transformer.backbone import special_wrap

        prefix, suffix = special_wrap(self.tokenizer_)
        eos = self.tokenizer_.eos_token_id
        if self.kind_ == "decoder" and eos is not None and (not suffix or suffix[-1] != eos):
            suffix = [*suffix, eos]  # the last token then sees the whole text
        budget = self.max_length_ - len(prefix) - len(suffix)
        if budget < 4:
            raise InputError(f"max_length {self.max_length_} leaves no room for text", fix="Raise max_length.")
        return prefix, suffix, budget

    def _encode_texts(self, texts: list[str]) -> list[list[list[int]]]:
        """Each text as its list of token sequences (one for head_tail, up to max_chunks for chunk)."""
        prefix, suffix, budget = self._wrap()
        ids = self.tokenizer_(texts, add_special_tokens=False)["input_ids"]
        overlap = min(self.chunk_overlap, budget - 1)
        short = [
            len(r) - coverage(len(r), budget, mode=self.long_text, overlap=overlap, max_chunks=self.max_chunks)
            for r in ids
        ]
        if any(short):  # counts only, never text
            log.warning(
                "%d of %d texts exceed %s x %d tokens; %d tokens not read (raise max_chunks or max_length)",
                sum(1 for d in short if d),
                len(ids),
                self.max_chunks if self.long_text == "chunk" else 1,
                budget,
                sum(short),
            )
        return [
            [
                prefix + piece + suffix
                for piece in fit_to_window(
                    list(row),
                    budget,
                    mode=self.long_text,
                    head_fraction=self.head_fraction,
                    overlap=min(self.chunk_overlap, budget - 1),
                    max_chunks=self.max_chunks,
                )
            ]
            for row in ids
        ]

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
        items = np.zeros((len(docs), 9)) if self.item_heads else None
        starts = range(0, len(order), self.predict_batch_size)
        if self.progress and len(starts) > 1:
            from tqdm import tqdm

            starts = tqdm(starts, desc="scoring", unit=" batches", leave=False)
        device = torch.device(self.device_)
        use_bf16 = device.type == "cuda" and getattr(self, "_autocast_bf16_", False)
        model = self.model_.eval()
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            for s in starts:
                idx = order[s : s + self.predict_batch_size]
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
        budget = self._wrap()[2]
        out = []
        for row in self.tokenizer_(as_texts(X), add_special_tokens=False)["input_ids"]:
            n = len(row)
            used = coverage(
                n, budget, mode=self.long_text, overlap=min(self.chunk_overlap, budget - 1), max_chunks=self.max_chunks
            )
            out.append({"n_tokens": n, "n_used": used})
        return out

    def predict_items(self, X: Sequence[str]) -> np.ndarray | None:
        """Item scores (n, 9) in 0-3 when trained with item heads, else None."""
        from phqwatch.models.base import as_texts

        self._check_fitted()
        if not self.item_heads:
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
