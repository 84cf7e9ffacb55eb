"""GPU throughput and model FLOPs utilisation (MFU) of the transformer estimator's backbone + head.

    .venv/bin/python benchmarks/bench_gpu.py                      # 0.6B and 4B, 4k and 16k tokens
    .venv/bin/python benchmarks/bench_gpu.py --models 0.6b --seq 4096 --iters 5

Models are Qwen3-architecture backbones built from configs with random weights (throughput does not depend
on the weights; nothing is downloaded): "0.6b" and "4b" use the published Qwen3-0.6B / Qwen3-4B shapes.
Each runs as the estimator runs it: `RegressionModel` (backbone -> last-token pooling -> regression head),
bf16 weights, SDPA attention (FlashAttention-2 when `flash_attn` is installed and --attn flash is given),
sequences of exactly `seq` tokens.

- scoring: `torch.inference_mode()` forward passes, batch of `tokens_per_batch // seq` sequences.
- training: LoRA (r=16, all linear layers) + gradient checkpointing + AdamW step on the adapters and head,
  batch of 1 sequence per step (the estimator's GPU recipe), `--full` for full fine-tuning instead.

Model FLOPs per token (activation recomputation is not counted, as usual for MFU):
  forward  = 2 * N + 2 * L * seq * d_attn          (N: non-embedding weights; causal attention = half of 4*L*seq*d)
  training = 3 * forward (full) or 2 * forward (LoRA: no weight gradients for the frozen matrices)
MFU = achieved FLOP/s / the GPU's dense bf16 peak (table below; --peak-tflops overrides). The target is
>= 40% MFU for scoring. Timings: median over `--iters` timed iterations after `--warmup` untimed ones.
Writes benchmarks/results/bench_gpu.json. Never run in tests (needs a CUDA GPU).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

#: Dense bf16 tensor-core peak, TFLOP/s (vendor data sheets, without sparsity).
PEAK_BF16_TFLOPS = {
    "H200": 989.4,
    "H100 SXM": 989.4,
    "H100 NVL": 835.0,
    "H100 PCIe": 756.0,
    "H100": 989.4,  # an unqualified "H100" name is the SXM part (e.g. "NVIDIA H100 80GB HBM3")
    "A100": 312.0,
    "L40S": 362.0,
    "A10G": 125.0,
}

#: Qwen3 shapes (from the published configs of Qwen/Qwen3-0.6B and Qwen/Qwen3-4B).
QWEN3_SHAPES: dict[str, dict[str, Any]] = {
    "0.6b": {
        "hidden_size": 1024,
        "intermediate_size": 3072,
        "num_hidden_layers": 28,
        "num_attention_heads": 16,
        "num_key_value_heads": 8,
        "head_dim": 128,
    },
    "4b": {
        "hidden_size": 2560,
        "intermediate_size": 9728,
        "num_hidden_layers": 36,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 128,
    },
}
VOCAB = 151_936
MFU_TARGET_SCORING = 0.40


def peak_tflops(name: str) -> float | None:
    """The bf16 peak for a CUDA device name such as 'NVIDIA H100 80GB HBM3' (None when unknown)."""
    upper = name.upper()
    if "H100" in upper and "PCIE" in upper:
        return PEAK_BF16_TFLOPS["H100 PCIe"]
    if "H100" in upper and "NVL" in upper:
        return PEAK_BF16_TFLOPS["H100 NVL"]
    for key, value in PEAK_BF16_TFLOPS.items():
        if key.split()[0] in upper:
            return value
    return None


def qwen3_config(size: str, seq: int, attn: str) -> Any:
    from transformers import Qwen3Config

    return Qwen3Config(
        vocab_size=VOCAB,
        max_position_embeddings=max(40_960, seq),
        rope_theta=1_000_000.0,
        tie_word_embeddings=True,
        attn_implementation=attn,
        **QWEN3_SHAPES[size],
    )


def flops_per_token(model: Any, cfg: Any, seq: int) -> tuple[float, int]:
    """(forward model FLOPs per token, non-embedding parameter count)."""
    n = sum(p.numel() for name, p in model.named_parameters() if "embed_tokens" not in name and "lora_" not in name)
    d_attn = cfg.num_attention_heads * cfg.head_dim
    return 2.0 * n + 2.0 * cfg.num_hidden_layers * seq * d_attn, n


def build(size: str, seq: int, attn: str, *, train: bool, full: bool) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModel

    from phqwatch.models.transformer.heads import RegressionHead, RegressionModel

    cfg = qwen3_config(size, seq, attn)
    with torch.device("cuda"):
        backbone = AutoModel.from_config(cfg, dtype=torch.bfloat16)
        head = RegressionHead(cfg.hidden_size, item_heads=True)
    if train:
        backbone.config.use_cache = False
        backbone.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if not full:
            from peft import LoraConfig, get_peft_model

            backbone = get_peft_model(backbone, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear"))
    model = RegressionModel(backbone, head, pooling="last", is_decoder=True)
    return model, cfg


def _timed(fn: Any, warmup: int, iters: int) -> float:
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_case(size: str, seq: int, mode: str, args: argparse.Namespace, peak: float | None) -> dict[str, Any]:
    import torch

    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    train = mode != "scoring"
    model, cfg = build(size, seq, args.attn, train=train, full=mode == "train-full")
    fwd_flops, n_params = flops_per_token(model, cfg, seq)
    batch = max(1, args.tokens_per_batch // seq) if not train else args.train_batch
    ids = torch.randint(0, VOCAB, (batch, seq), device="cuda")
    mask = torch.ones_like(ids)
    owner = torch.arange(batch, device="cuda")
    if train:
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=1e-5, fused=True)
        target = torch.zeros(batch, device="cuda")

        def step() -> None:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                total, _ = model(ids, mask, owner, batch)
            torch.nn.functional.huber_loss(total, target).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        fn, flops_tok = step, fwd_flops * (3.0 if mode == "train-full" else 2.0)
    else:
        model.eval()

        def fwd() -> None:
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
                model(ids, mask, owner, batch)

        fn, flops_tok = fwd, fwd_flops
    sec = _timed(fn, args.warmup, args.iters)
    tokens = batch * seq
    tps = tokens / sec
    achieved = tps * flops_tok
    row = {
        "model": f"qwen3-{size}",
        "params_non_embedding": n_params,
        "mode": mode,
        "seq": seq,
        "batch": batch,
        "median_s": round(sec, 4),
        "tokens_per_s": round(tps, 1),
        "tflops": round(achieved / 1e12, 1),
        "mfu": None if peak is None else round(achieved / (peak * 1e12), 4),
        "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
    }
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="0.6b,4b", help="comma-separated: 0.6b, 4b")
    p.add_argument("--seq", default="4096,16384", help="comma-separated sequence lengths")
    p.add_argument("--modes", default="scoring,train-lora", help="scoring, train-lora, train-full")
    p.add_argument("--attn", default="sdpa", choices=["sdpa", "flash_attention_2", "eager"])
    p.add_argument("--tokens-per-batch", type=int, default=32_768, help="scoring batch = this // seq sequences")
    p.add_argument("--train-batch", type=int, default=1, help="sequences per training step")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--peak-tflops", type=float, default=None, help="override the bf16 peak of the GPU")
    p.add_argument("--out", type=Path, default=RESULTS / "bench_gpu.json")
    args = p.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("bench_gpu needs a CUDA GPU; none is visible here. Nothing was measured.", file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = True
    name = torch.cuda.get_device_name()
    peak = args.peak_tflops or peak_tflops(name)
    print(f"GPU: {name}; bf16 peak {peak if peak else 'unknown (pass --peak-tflops)'} TFLOP/s; attention {args.attn}")
    rows = []
    for size in args.models.split(","):
        for seq in (int(s) for s in args.seq.split(",")):
            for mode in args.modes.split(","):
                try:
                    row = run_case(size.strip(), seq, mode.strip(), args, peak)
                except torch.cuda.OutOfMemoryError:
                    row = {"model": f"qwen3-{size}", "mode": mode, "seq": seq, "error": "out of memory"}
                    torch.cuda.empty_cache()
                rows.append(row)
                print(json.dumps(row), flush=True)

    head = (
        f"{'model':<11} {'mode':<11} {'seq':>6} {'batch':>5} {'tokens/s':>10} {'TFLOP/s':>8} {'MFU':>6} "
        f"{'target':>6} {'mem GiB':>8}"
    )
    print("\n" + head + "\n" + "-" * len(head))
    for r in rows:
        if "error" in r:
            print(f"{r['model']:<11} {r['mode']:<11} {r['seq']:>6}  {r['error']}")
            continue
        mfu = "-" if r["mfu"] is None else f"{100 * r['mfu']:.1f}%"
        target = f"{100 * MFU_TARGET_SCORING:.0f}%" if r["mode"] == "scoring" else "-"
        print(
            f"{r['model']:<11} {r['mode']:<11} {r['seq']:>6} {r['batch']:>5} {r['tokens_per_s']:>10.0f} "
            f"{r['tflops']:>8.1f} {mfu:>6} {target:>6} {r['peak_mem_gib']:>8.1f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out = {
        "gpu": name,
        "peak_bf16_tflops": peak,
        "attention": args.attn,
        "torch": torch.__version__,
        "mfu_target_scoring": MFU_TARGET_SCORING,
        "rows": rows,
    }
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
