"""The README stays true: every `phqwatch` command it names exists, and its Python example runs."""

import re
from pathlib import Path

from click.testing import CliRunner

from phqwatch.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_command_in_the_readme_exists_and_has_help_with_examples():
    named = set(re.findall(r"`phqwatch ((?:db |safety )?[a-z]+)\b", README))
    assert {"score", "train", "evaluate", "demo", "serve", "pseudolabel", "selftrain"} <= named
    for command in sorted(named):
        result = CliRunner().invoke(cli, [*command.split(), "--help"])
        assert result.exit_code == 0, f"README names `phqwatch {command}`, which does not exist"
        if command not in ("db", "safety"):
            assert "Example" in result.output, f"`phqwatch {command} --help` shows no examples"


def test_the_python_example_api_exists(tmp_path):
    import phqwatch
    from phqwatch.models.cpu import CpuEstimator

    model = phqwatch.load_model()
    (est,) = model.estimate(["I can't sleep, I feel like a failure and nothing is fun anymore. " * 8])
    assert est.status == "ok" and est.band and est.interval_low <= est.phq9_estimate <= est.interval_high
    assert callable(phqwatch.score_frame) and callable(phqwatch.score_file)
    assert "calibrate_interval" in dir(CpuEstimator) and "save" in dir(CpuEstimator)


def test_a_missing_optional_extra_is_one_line_naming_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if the server extra were not installed
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "optional 'server' extra" in result.output and "pip install 'phqwatch[server]'" in result.output
    assert "Traceback" not in result.output
