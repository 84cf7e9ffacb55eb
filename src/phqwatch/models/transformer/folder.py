"""The transformer estimator's model folder: learned tensors, JSON state, tokenizer and backbone files.

Split from `estimator.py`; `TransformerEstimator._state/_save_extra/_restore` call these. torch,
transformers and peft are imported inside the functions.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from phqwatch.errors import ModelFormatError
from phqwatch.models.transformer.backbone import auto_flag


def learned_tensors(est: Any) -> dict[str, np.ndarray]:
    """head.* and lora.* tensors as float32 numpy (from the gathered state after distributed training)."""
    gathered = getattr(est, "_gathered_", None)
    out: dict[str, np.ndarray] = {}
    if gathered is not None:
        for k, v in gathered.items():
            if k.startswith("head."):
                out[k] = v.numpy()
            elif est.finetune == "lora" and "lora_" in k and k.startswith("backbone."):
                out["lora." + k[len("backbone.") :].replace(".default", "")] = v.numpy()
        return out
    for k, v in est.model_.head.state_dict().items():
        out[f"head.{k}"] = v.detach().float().cpu().numpy()
    if est.finetune == "lora":
        from peft import get_peft_model_state_dict

        for k, v in get_peft_model_state_dict(est.model_.backbone).items():
            out[f"lora.{k}"] = v.detach().float().cpu().numpy()
    return out


def state_of(est: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    import torch
    import transformers

    state = {
        "kind_": est.kind_,
        "pooling_": est.pooling_,
        "padding_side_": est.padding_side_,
        "hidden_size_": est.hidden_size_,
        "max_length_": est.max_length_,
        "y_mean_": est.y_mean_,
        "y_std_": est.y_std_,
        "n_train_": getattr(est, "n_train_", None),
        "loss_history_": list(getattr(est, "loss_history_", [])),
        "backbone_source_": est.backbone_source_,
        "backbone_fingerprint_": est.backbone_fingerprint_,
        "backbone_embedded_": bool(est.runtime.embed_backbone or est.finetune == "full"),
        "lora_config_": est.lora_config_,
        "sources_": getattr(est, "sources_", None),
        "source_stats_": getattr(est, "source_stats_", None),
        "ensemble_": getattr(est, "ensemble_", None),
        "anchor_": getattr(est, "anchor_", None),
        "scale_": getattr(est, "scale_", None),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
    }
    return state, learned_tensors(est)


def save_extra(est: Any, folder: Path) -> None:
    from phqwatch.models.transformer.backbone import weight_files

    bdir = folder / "backbone"
    bdir.mkdir()
    est.tokenizer_.save_pretrained(str(folder / "tokenizer"))
    if est.finetune == "full":
        base = est.model_.backbone
        sd = None
        gathered = getattr(est, "_gathered_", None)
        if gathered is not None:
            sd = {k[len("backbone.") :]: v for k, v in gathered.items() if k.startswith("backbone.")}
        base.save_pretrained(str(bdir), state_dict=sd, safe_serialization=True)
        return
    shutil.copy2(Path(est.backbone_source_) / "config.json", bdir / "config.json")
    if est.runtime.embed_backbone:
        for f in weight_files(Path(est.backbone_source_)):
            shutil.copy2(f, bdir / f.name)


def restore(est: Any, state: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path) -> None:
    import torch

    from phqwatch.models.transformer.backbone import (
        comparable_config,
        fingerprint,
        has_weights,
        load_backbone,
        load_tokenizer,
        resolve_local,
    )
    from phqwatch.models.transformer.heads import RegressionHead, RegressionModel

    for k in ("kind_", "pooling_", "padding_side_", "hidden_size_", "max_length_", "y_mean_", "y_std_"):
        if k not in state:
            raise ModelFormatError(f"{folder}/config.json lacks state '{k}'.", fix="Re-save the model.")
        setattr(est, k, state[k])
    est.n_train_ = state.get("n_train_")
    est.loss_history_ = state.get("loss_history_", [])
    est.backbone_source_ = state.get("backbone_source_", est.backbone)
    est.backbone_fingerprint_ = state.get("backbone_fingerprint_", {})
    est.lora_config_ = state.get("lora_config_")
    for k in ("sources_", "source_stats_", "ensemble_", "anchor_", "scale_"):
        setattr(est, k, state.get(k))
    if est.sources_ and not (est.ensemble_ and est.scale_):
        raise ModelFormatError(f"{folder}/config.json has source heads but no PHQ-9 scale.", fix="Re-train.")
    bdir = folder / "backbone"
    if not (bdir / "config.json").exists():
        raise ModelFormatError(f"{folder} has no backbone/config.json.", fix="Re-save the model.")
    if has_weights(bdir):
        weights_dir = bdir
    else:
        weights_dir = resolve_local(est.backbone, what=f"Backbone referenced by model folder {folder}")
        if comparable_config(weights_dir) != comparable_config(bdir):
            raise ModelFormatError(
                f"The backbone at {weights_dir} has a different config from the one {folder} was trained on.",
                fix="Point the model at its original backbone, or re-save it with embed_backbone=True.",
            )
        if est.backbone_fingerprint_ and fingerprint(weights_dir) != est.backbone_fingerprint_:
            raise ModelFormatError(
                f"The weight files at {weights_dir} differ (names or sizes) from those {folder} was trained on.",
                fix="Point the model at its original backbone, or re-save it with embed_backbone=True.",
            )
    est.tokenizer_ = load_tokenizer(folder / "tokenizer")
    est.tokenizer_.model_max_length = 10**9
    rt = est.runtime
    use_cuda = rt.device != "cpu" and torch.cuda.is_available()
    device = torch.device(rt.device if use_cuda and rt.device != "auto" else ("cuda" if use_cuda else "cpu"))
    bf16 = auto_flag(rt.bf16, use_cuda and torch.cuda.is_bf16_supported()) and use_cuda
    backbone = load_backbone(
        weights_dir,
        dtype=torch.bfloat16 if bf16 else torch.float32,
        attn_implementation=rt.attn_implementation,
        config_dir=bdir,
    )
    lora = {k[len("lora.") :]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("lora.")}
    if est.lora_config_:
        from peft import LoraConfig as PeftLoraConfig
        from peft import get_peft_model, set_peft_model_state_dict

        backbone = get_peft_model(backbone, PeftLoraConfig(**est.lora_config_))
        unexpected = getattr(set_peft_model_state_dict(backbone, lora), "unexpected_keys", None)
        if unexpected:
            raise ModelFormatError(
                f"{folder}/weights.safetensors has adapter tensors the backbone lacks (e.g. {unexpected[0]}).",
                fix="Load it with the backbone it was trained on.",
            )
    head = RegressionHead(
        est.hidden_size_, item_heads=est.head.item_heads, dropout=est.head.dropout, n_outputs=est._n_outputs()
    )
    head_sd = {k[len("head.") :]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("head.")}
    try:
        head.load_state_dict(head_sd, strict=True)
    except RuntimeError as exc:
        raise ModelFormatError(f"{folder}: the head weights do not match ({exc}).", fix="Re-save.") from None
    model = RegressionModel(backbone, head, pooling=est.pooling_, is_decoder=est.kind_ == "decoder")
    est.model_ = model.to(device).eval()
    est.device_ = str(device)
    est._autocast_bf16_ = bf16
    est._cache = None
