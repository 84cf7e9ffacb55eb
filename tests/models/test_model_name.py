"""One name per model: the shipped default is `lexical-ridge` in the registry, its folder, its card and the docs."""

from __future__ import annotations

import json
from pathlib import Path

from phqwatch.models import DEFAULT_MODEL_DIR, load_model
from phqwatch.models.cpu import CpuEstimator
from phqwatch.models.registry import ESTIMATORS

ROOT = Path(__file__).resolve().parents[2]
OLD_NAMES = ("cpu-default", "CPU default", "shipped CPU model")


def test_the_default_model_has_one_name_everywhere() -> None:
    name = CpuEstimator.name
    assert name == "lexical-ridge" and ESTIMATORS[name].endswith(":CpuEstimator")
    config = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text(encoding="utf-8"))
    assert config["estimator"] == config["metadata"]["name"] == load_model().name == name
    assert (DEFAULT_MODEL_DIR / "README.md").read_text(encoding="utf-8").startswith(f"# {name} ")


def test_user_facing_text_uses_no_other_name() -> None:
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "src" / "phqwatch" / "cli").glob("*.py")]
    hits = [f"{f.name}: {old}" for f in files for old in OLD_NAMES if old in f.read_text(encoding="utf-8")]
    assert not hits, hits
