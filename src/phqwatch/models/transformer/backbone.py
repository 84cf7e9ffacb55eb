"""Loading a Hugging Face backbone and its tokenizer from a local folder only (never from a hub)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from phqwatch.errors import InputError, ModelFormatError

#: Files that hold weights in a Hugging Face model folder (safetensors preferred).
WEIGHT_PATTERNS = ("*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin", "pytorch_model.bin.index.json")
#: config.json keys that may differ between two copies of the same backbone.
_VOLATILE_KEYS = {"transformers_version", "_name_or_path", "torch_dtype", "dtype", "architectures", "use_cache"}


def auto_flag(value: bool | str, default: bool) -> bool:
    """`value` itself, or `default` when it is "auto" (bf16, gradient checkpointing)."""
    if value == "auto":
        return default
    if isinstance(value, bool):
        return value
    raise InputError(f"expected True, False or 'auto', got {value!r}")


def resolve_local(path: str | Path, *, what: str = "Backbone") -> Path:
    """`path` as an existing local model folder with a config.json, else a ModelFormatError with the fix."""
    raw = str(path)
    if not raw.strip():
        raise ModelFormatError(
            f"{what} path is empty; the transformer estimator needs a local model folder.",
            fix="Pass backbone=PATH (CLI: --backbone PATH), e.g. the folder of Qwen3-0.6B or all-MiniLM-L6-v2.",
        )
    p = Path(raw).expanduser()
    if not p.is_dir():
        hubby = not p.is_absolute() and raw.count("/") == 1 and not raw.startswith(".")
        hint = " It looks like a Hugging Face hub id;" if hubby else ""
        raise ModelFormatError(
            f"{what} '{raw}' is not a local folder.{hint} phqwatch loads backbones from local paths only and "
            "never downloads weights.",
            fix=(
                "Download the model once on a machine with internet access (e.g. `huggingface-cli download "
                f"{raw if hubby else 'Qwen/Qwen3-0.6B'} --local-dir models/backbone`), copy the folder here and "
                "pass its path."
            ),
        )
    if not (p / "config.json").exists():
        raise ModelFormatError(
            f"{what} folder {p} has no config.json; it is not a Hugging Face model folder.",
            fix="Pass the folder that holds config.json, the tokenizer files and the *.safetensors weights.",
        )
    return p.resolve()


def has_weights(folder: Path) -> bool:
    return any(any(folder.glob(pat)) for pat in WEIGHT_PATTERNS)


def weight_files(folder: Path) -> list[Path]:
    return sorted({f for pat in WEIGHT_PATTERNS for f in folder.glob(pat)})


def fingerprint(folder: Path) -> dict[str, int]:
    """Weight file name -> size in bytes: a cheap check that a referenced backbone is the one trained on."""
    return {f.name: f.stat().st_size for f in weight_files(folder)}


def comparable_config(folder: Path) -> dict[str, Any]:
    cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    return {k: v for k, v in cfg.items() if k not in _VOLATILE_KEYS}


def is_decoder(config: Any) -> bool:
    """Decoder-only (causal LM: Qwen, Llama, ...) or encoder (BERT, MiniLM, ModernBERT, ...)."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    archs = getattr(config, "architectures", None) or []
    if any(a.endswith(("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")) for a in archs):
        return True
    if any(a.endswith(("ForMaskedLM", "Model", "ForSequenceClassification", "ForPreTraining")) for a in archs):
        return bool(getattr(config, "is_decoder", False))
    mt = getattr(config, "model_type", "")
    return mt in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and mt not in MODEL_FOR_MASKED_LM_MAPPING_NAMES


def hidden_size(config: Any) -> int:
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    return int(text.hidden_size)


def load_tokenizer(folder: Path, *, padding_side: str | None = None) -> Any:
    """The folder's tokenizer, with a pad token set (eos or unk) when the model has none."""
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelFormatError(
            f"Could not load a tokenizer from {folder} ({exc}).",
            fix="The folder needs tokenizer.json (or the model's tokenizer files) next to config.json.",
        ) from None
    if tok.pad_token_id is None:
        if tok.eos_token is not None:
            tok.pad_token = tok.eos_token
        elif tok.unk_token is not None:
            tok.pad_token = tok.unk_token
        else:
            raise ModelFormatError(
                f"The tokenizer in {folder} has no pad, eos or unk token to pad batches with.",
                fix="Add a pad token to the tokenizer (tokenizer.add_special_tokens({'pad_token': ...})) and save it.",
            )
    if padding_side is not None:
        tok.padding_side = padding_side
    return tok


def load_backbone(
    weights_dir: Path, *, dtype: Any, attn_implementation: str | None, config_dir: Path | None = None
) -> Any:
    """The base model (no LM head) from local weights; `config_dir` overrides the config's folder."""
    from transformers import AutoConfig, AutoModel

    kwargs: dict[str, Any] = {"local_files_only": True, "dtype": dtype}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if config_dir is not None:
        kwargs["config"] = AutoConfig.from_pretrained(str(config_dir), local_files_only=True)
    try:
        return AutoModel.from_pretrained(str(weights_dir), **kwargs)
    except (OSError, ValueError) as exc:
        raise ModelFormatError(
            f"Could not load backbone weights from {weights_dir} ({exc}).",
            fix="Pass a local Hugging Face model folder with config.json and *.safetensors weights.",
        ) from None


def special_wrap(tok: Any) -> tuple[list[int], list[int]]:
    """(prefix, suffix) ids the tokenizer adds around one sequence, e.g. ([CLS], [SEP]) or ([BOS], [])."""
    probe = "hello"
    body = tok(probe, add_special_tokens=False)["input_ids"]
    full = tok(probe, add_special_tokens=True)["input_ids"]
    for i in range(len(full) - len(body) + 1):
        if full[i : i + len(body)] == body:
            return list(full[:i]), list(full[i + len(body) :])
    return [], []
