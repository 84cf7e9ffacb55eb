"""One version: pyproject.toml's, as installed. The package, the CLI, the API and model cards report it."""

from __future__ import annotations

import importlib.metadata
import json
import tomllib
from pathlib import Path

import phqwatch
from phqwatch.models import DEFAULT_MODEL_DIR, load_model

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_the_installed_pyproject_version() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert phqwatch.__version__ == importlib.metadata.version("phqwatch") == declared, (
        "reinstall the package (pip install -e .) after changing the version in pyproject.toml"
    )


def test_a_saved_model_card_names_the_version(tmp_path: Path) -> None:
    folder = load_model().save(tmp_path / "m")
    assert f"Written by phqwatch {phqwatch.__version__}." in (folder / "README.md").read_text(encoding="utf-8")
    meta = json.loads((folder / "config.json").read_text(encoding="utf-8"))["metadata"]
    assert meta["phqwatch_version"] == phqwatch.__version__


def test_the_shipped_model_card_names_the_version_that_wrote_it() -> None:
    meta = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text(encoding="utf-8"))["metadata"]
    card = (DEFAULT_MODEL_DIR / "README.md").read_text(encoding="utf-8")
    assert f"Written by phqwatch {meta['phqwatch_version']}." in card
