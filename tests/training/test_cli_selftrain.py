"""`phqwatch selftrain` end to end on synthetic example files (model-only; the teacher is off)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from phqwatch.cli import cli
from phqwatch.datasets.synthetic import write_examples
from phqwatch.models import load_model


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, env=env)


def test_help_has_examples():
    result = run("selftrain", "--help")
    assert result.exit_code == 0 and "Examples:" in result.output and "--no-teacher" in result.output


def test_selftrain_writes_rounds_summary_and_the_chosen_model(tmp_path):
    t, q = write_examples(tmp_path / "admin", n_users=24, seed=5)
    u, _ = write_examples(tmp_path / "unl", n_users=10, seed=9)
    out = tmp_path / "st"
    env = {"PHQWATCH_TEACHER_BASE_URL": ""}
    result = run(
        "selftrain",
        "--transcripts",
        t,
        "--labels",
        q,
        "--unlabeled",
        u,
        "--out",
        out,
        "--no-teacher",
        "--rounds",
        "1",
        "--min-confidence",
        "0",
        "--n-boot",
        "50",
        "--patience",
        "2",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "teacher off" in result.output and "Best round" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert [r["round"] for r in summary["rounds"]] == [0, 1]
    assert (
        summary["rounds"][1]["n_pseudo_accepted"]
        + sum(v for k, v in summary["rounds"][1]["reasons"].items() if k != "accepted")
        == summary["rounds"][1]["n_unlabeled"]
    )
    for r in (0, 1):
        assert (out / f"round_{r}" / "model" / "config.json").exists()
        assert (out / f"round_{r}" / "metrics.json").exists()
    assert (out / "round_1" / "pseudolabels.csv").exists()
    model = load_model(out / "model")
    assert model.metadata_["selftrain_round"] == summary["best_round"]


def test_agreement_without_teacher_and_teacher_without_endpoint_are_clear_errors(tmp_path):
    t, q = write_examples(tmp_path / "admin", n_users=6, seed=5)
    args = ["selftrain", "--transcripts", t, "--labels", q, "--unlabeled", t, "--out", tmp_path / "o"]
    env = {"PHQWATCH_TEACHER_BASE_URL": "", "PHQWATCH_TEACHER_MODEL": ""}
    result = run(*args, "--no-teacher", "--filter", "agreement", env=env)
    assert result.exit_code == 2 and "no teacher" in result.output
    result = run(*args, "--teacher", env=env)
    assert result.exit_code == 2 and "PHQWATCH_TEACHER_BASE_URL" in result.output
