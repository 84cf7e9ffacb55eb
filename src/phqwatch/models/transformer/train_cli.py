"""Training entry point that works alone or under `accelerate launch` (DDP, FSDP, DeepSpeed ZeRO-3).

    python -m phqwatch.models.transformer.train_cli --backbone models/qwen3-0.6b \\
        --transcripts chats.jsonl --questionnaires phq9.csv --out models/qwen-phq9

    accelerate launch --config_file configs/accelerate/fsdp.yaml -m phqwatch.models.transformer.train_cli \\
        --backbone /models/Qwen3.5-27B --transcripts chats.jsonl --questionnaires phq9.csv \\
        --out models/qwen27b-phq9 --max-length 16384 --batch-size 1 --grad-accum 8

Labels are the administered PHQ-9s (`phqwatch.transcripts` windows: the user's text in the 14 days before
each questionnaire). A `--calib-fraction` of users is held out to calibrate the conformal interval. Every
process trains; only the main process writes the model folder (then reloads it on one GPU to calibrate).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any


def _windows(transcripts: Path, questionnaires: Path, days: int, include_assistant: bool) -> list[Any]:
    from phqwatch.transcripts import build_windows, iter_messages, read_questionnaires

    return build_windows(
        iter_messages(transcripts), read_questionnaires(questionnaires), days=days, include_assistant=include_assistant
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backbone", required=True, help="local Hugging Face model folder")
    p.add_argument("--transcripts", type=Path, required=True)
    p.add_argument("--questionnaires", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="model folder to write")
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--include-assistant", action="store_true")
    p.add_argument("--calib-fraction", type=float, default=0.15)
    p.add_argument("--finetune", default="lora", choices=["lora", "full", "head"])
    p.add_argument("--max-length", type=int, default=4096)
    p.add_argument("--long-text", default="chunk", choices=["chunk", "head_tail"])
    p.add_argument("--item-heads", action="store_true", help="train nine item heads when items are known")
    p.add_argument("--loss", default="huber", choices=["huber", "mse"])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=1, help="users per step per process")
    p.add_argument("--grad-accum", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--params",
        type=str,
        default="{}",
        help='extra TransformerEstimator hyperparameters as flat JSON keys, e.g. {"max_chunks": 32, "lora_alpha": 64}',
    )
    args = p.parse_args(argv)

    from phqwatch.models.transformer import (
        ChunkingConfig,
        HeadConfig,
        LoraConfig,
        OptimConfig,
        RuntimeConfig,
        TransformerEstimator,
    )

    windows = _windows(args.transcripts, args.questionnaires, args.days, args.include_assistant)
    if len(windows) < 4:
        print(f"only {len(windows)} labelled windows; need at least 4", file=sys.stderr)
        return 2
    users = sorted({w.user_id for w in windows})
    random.Random(args.seed).shuffle(users)
    calib_users = set(users[: max(1, int(len(users) * args.calib_fraction))])
    train = [w for w in windows if w.user_id not in calib_users]
    calib = [w for w in windows if w.user_id in calib_users]
    items = [list(w.items) if w.items else None for w in train] if args.item_heads else None

    model = TransformerEstimator(
        args.backbone,
        finetune=args.finetune,
        chunking=ChunkingConfig(max_length=args.max_length, long_text=args.long_text),
        head=HeadConfig(item_heads=args.item_heads, loss=args.loss),
        lora=LoraConfig(r=args.lora_r),
        optim=OptimConfig(
            epochs=args.epochs, batch_size=args.batch_size, grad_accum_steps=args.grad_accum, learning_rate=args.lr
        ),
        runtime=RuntimeConfig(progress=True),
        seed=args.seed,
        **json.loads(args.params),  # flat keys replace those fields of the groups above
    )
    model.fit([w.text for w in train], [float(w.label) for w in train], items=items)

    from accelerate import PartialState

    state = PartialState()
    if state.is_main_process:
        meta = {
            "training_data": f"{args.transcripts.name} + {args.questionnaires.name} ({len(train)} windows)",
            "labels": "administered PHQ-9",
        }
        model.save(args.out, metadata=meta)
    state.wait_for_everyone()
    if state.is_main_process and calib:
        from phqwatch.models import load_model

        del model  # free the training copy before loading the saved one
        scorer = load_model(args.out)
        scorer.calibrate_interval([w.text for w in calib], [float(w.label) for w in calib])
        scorer.save(args.out)
        print(f"wrote {args.out} (interval calibrated on {len(calib)} held-out windows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
