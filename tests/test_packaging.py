"""The installed package is whole: every file under src/phqwatch reaches the wheel, and nothing the package
reads at run time lives outside it. (`make wheel-check` builds the wheel, installs it in a fresh venv and
runs the demo; these are the fast checks of the same promise.)"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import tomllib
from pathlib import Path

import phqwatch
from phqwatch.datasets.synthetic import EXAMPLES_DIR
from phqwatch.models import DEFAULT_MODEL_DIR

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "phqwatch"


def _package_files() -> list[Path]:
    """Files of the package as a clean clone has them (tracked, or new and not ignored)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", "src/phqwatch"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        files = [ROOT / line for line in out.splitlines() if line]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (e.g. an unpacked sdist)
        files = [p for p in PACKAGE.rglob("*") if p.is_file()]
    return [p for p in files if p.exists() and "__pycache__" not in p.parts and p.suffix != ".pyc"]


def test_every_data_file_matches_the_package_data_patterns():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    patterns = config["package-data"]["phqwatch"]
    # setuptools matches "**/*.ext" against paths relative to the package; "**/" also matches no folder
    flat = {p.removeprefix("**/") for p in patterns}
    missing = [
        str(f.relative_to(PACKAGE))
        for f in _package_files()
        if f.suffix != ".py" and not any(fnmatch.fnmatch(f.name, pat) for pat in flat)
    ]
    assert not missing, f"not shipped in the wheel (add a pattern to [tool.setuptools.package-data]): {missing}"


def test_every_folder_with_python_code_is_a_package():
    dirs = {f.parent for f in _package_files() if f.suffix == ".py"}
    missing = [str(d.relative_to(ROOT)) for d in sorted(dirs) if not (d / "__init__.py").exists()]
    assert not missing, f"folders with modules but no __init__.py are left out of the wheel: {missing}"


def test_shipped_data_lives_inside_the_package():
    inside = Path(phqwatch.__file__).resolve().parent
    for folder, names in (
        (EXAMPLES_DIR, ("transcripts.jsonl", "phq9.csv", "README.md")),
        (DEFAULT_MODEL_DIR, ("config.json", "weights.safetensors", "README.md")),
    ):
        assert inside in folder.resolve().parents
        assert all((folder / n).is_file() for n in names), folder
    assert not (ROOT / "examples").exists(), "the examples have one home: phqwatch/datasets/examples"


def test_settings_are_read_only_through_settings():
    """PHQWATCH_* variables reach the code through `Settings` (with its .env file and validation), never directly."""
    direct = re.compile(r"""(environ\b[^\n]*|getenv\()\s*\(?\s*["']PHQWATCH_""")
    offenders = [
        str(f.relative_to(ROOT))
        for f in _package_files()
        if f.suffix == ".py" and f.name != "config.py" and direct.search(f.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"read PHQWATCH_* through phqwatch.config.Settings instead: {offenders}"
