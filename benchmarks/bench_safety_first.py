"""Record the first measurement of a new blind message set, before anything is tuned on it.

Measures the shipped screen and the rules alone on SET and writes
benchmarks/results/safety_blind_<letter>_first.json with the set's sha256, so the honest first figure is
kept beside the commit that produced it.

Usage: python benchmarks/bench_safety_first.py tests/fixtures/safety/blind_v2_d.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
from pathlib import Path

from phqwatch.safety import CrisisScreen, ScreenConfig, default_screen
from phqwatch.safety.evaluate import ScreenFigures, evaluate_screen
from phqwatch.safety.examples import read_examples

ROOT = Path(__file__).resolve().parents[1]


def _figures(f: ScreenFigures) -> dict:
    by_lang = {k: {m: round(v, 4) for m, v in d.items()} for k, d in f.by_lang.items()}
    return {**f.summary(), "by_lang": by_lang, "missed_kinds": f.missed_kinds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("set", type=Path, help="a blind set (JSONL, the trainset format)")
    args = ap.parse_args()
    path: Path = args.set.resolve()
    examples = read_examples(path)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    result = {
        "set": str(path.relative_to(ROOT)),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "screen_commit": commit,
        "written": "by a writer who never saw the rules, the model, its training set or the other blind sets; "
        "measured once with the shipped screen at screen_commit, before any change",
        "shipped": _figures(evaluate_screen(default_screen(), examples)),
        "rules_alone": _figures(evaluate_screen(CrisisScreen(ScreenConfig(use_model=False)), examples)),
    }
    letter = path.stem.rsplit("_", 1)[-1]
    out = ROOT / "benchmarks" / "results" / f"safety_blind_{letter}_first.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
