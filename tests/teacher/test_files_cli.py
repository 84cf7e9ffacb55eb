"""pseudolabel_file on synthetic users with an even spread of severity (HTTP faked at the boundary) and the CLI's
edges."""

from __future__ import annotations

import json
import re

import httpx
import pandas as pd
from click.testing import CliRunner

from phqwatch.cli import cli
from phqwatch.datasets.synthetic import EXAMPLES_DIR, write_examples
from phqwatch.teacher import COLUMNS
from phqwatch.training.pseudolabel_file import pseudolabel_file

from .conftest import FakeServer, completion, rating_json

EXAMPLES = EXAMPLES_DIR
SAD = re.compile(r"sleep|tired|down|hopeless|failure|interest|appetite|focus|concentrat", re.I)


def keyword_teacher(body, i):
    """A 'teacher' that scores by counting symptom words: deterministic, and correlated with severity."""
    text = body["messages"][1]["content"].split("<transcript>")[1]
    hits = len(SAD.findall(text))
    words = max(1, len(text.split()))
    level = min(3, round(60 * hits / words))
    return httpx.Response(200, json=completion(rating_json([level] * 8 + [0])))


def test_pseudolabel_file_with_labels_and_recalibration(settings, tmp_path):
    server = FakeServer(keyword_teacher)
    # severities spread over 0-24 (not the bundled caseload, mostly mild): the crude keyword teacher's
    # correlation is measurable there
    transcripts, phq9 = write_examples(tmp_path / "users", n_users=36, seed=7)
    out, stats = tmp_path / "teacher.csv", tmp_path / "run.json"
    r = pseudolabel_file(
        transcripts,
        out,
        settings,
        questionnaires_path=phq9,
        recalibrate=True,
        stats_path=stats,
        transport=server.transport,
        progress=False,
        backoff_base_s=0.0,
    )
    frame = pd.read_csv(out)
    assert r.users == 36 == len(frame) and list(frame.columns) == [*COLUMNS, "phq9_recalibrated"]
    assert set(frame["status"]) <= {"ok", "abstained"}
    assert r.windows > 50 and r.calibration is not None and r.calibration.n_labeled == r.windows
    assert r.calibration.recalibrated and r.calibration.metrics_raw["pearson"]["value"] > 0.2
    ok = frame[frame["status"] == "ok"]
    assert ok["phq9_recalibrated"].between(0, 27).all()
    report = json.loads(stats.read_text())
    assert report["run"]["n_users"] == 36 and report["calibration"]["n_labeled"] == r.windows
    assert r.calibration.metrics_raw["n_users"] == 36  # windows bootstrap as their users
    assert len(server.bodies) == 36 + r.windows - r.stats.cache_hits - r.window_stats.cache_hits


def test_cli_without_endpoint_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("PHQWATCH_TEACHER_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(
        cli, ["pseudolabel", str(EXAMPLES / "transcripts.jsonl"), "--out", "x.csv", "--no-progress"]
    )
    assert res.exit_code == 2 and "PHQWATCH_TEACHER_BASE_URL" in res.output
    assert not (tmp_path / "x.csv").exists()


def test_cli_help_has_examples():
    res = CliRunner().invoke(cli, ["pseudolabel", "--help"])
    assert res.exit_code == 0 and "Examples:" in res.output and "--labels" in res.output
