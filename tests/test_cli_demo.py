"""The README's main job: `phqwatch demo` on the embedded defaults (SQLite, shipped model, bundled examples)."""

import csv
import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from phqwatch.cli import cli


@dataclass
class DemoRun:
    out: Path
    output: str
    started: datetime


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """One `phqwatch demo --no-serve` run (about a minute) shared by the tests of this module."""
    out = tmp_path_factory.mktemp("demo") / "out"
    started = datetime.now(UTC)
    result = CliRunner().invoke(cli, ["demo", "--no-serve", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return DemoRun(out, result.output, started)


def test_demo_scores_evaluates_and_seeds_without_serving(demo: DemoRun) -> None:
    out = demo.out
    rows = list(csv.DictReader((out / "scores.csv").open()))
    assert len(rows) == 36 and sum(r["status"] == "ok" for r in rows) == 35
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert metrics["n"]["value"] > 0 and 0 <= metrics["mae"]["value"] <= 27
    html = (out / "evaluation" / "report.html").read_text()
    assert "<html" in html.lower() and 'src="http' not in html
    assert (out / "phqwatch-demo.db").exists()
    assert "Demo logins" in demo.output and "clinician" in demo.output
    assert "crisis alerts opened by the crisis screen" in demo.output and "urgent (paging)" in demo.output


def test_demo_shows_a_few_crisis_patients_and_files_unsure_model_flags_as_reviews(demo: DemoRun) -> None:
    """Two of the 36 synthetic users voice self-harm: the escalating crisis path holds a few patients, and the
    learned model's unsure flags on symptom talk wait as high-priority reviews instead of escalating."""
    crisis = int(re.search(r"(\d+) crisis alerts opened by the crisis screen", demo.output).group(1))  # type: ignore[union-attr]
    reviews = int(re.search(r"(\d+) high-priority risk reviews", demo.output).group(1))  # type: ignore[union-attr]
    assert 2 <= crisis <= 8 and reviews > crisis
    with sqlite3.connect(demo.out / "phqwatch-demo.db") as con:
        kinds = dict(con.execute("SELECT kind, count(*) FROM alerts GROUP BY kind"))
    assert kinds["crisis"] == crisis and kinds["risk-review"] >= reviews


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def test_demo_is_dated_relative_to_today(demo: DemoRun) -> None:
    """The latest message is from the last day, so the timeline of messages, estimates and today's alerts spans
    the twelve weeks of the examples and not the months since they were written."""
    with sqlite3.connect(demo.out / "phqwatch-demo.db") as con:
        first_msg, last_msg = map(_when, con.execute("SELECT min(sent_at), max(sent_at) FROM messages").fetchone())
        last_q = _when(con.execute("SELECT max(administered_at) FROM questionnaires").fetchone()[0])
        first_est = _when(con.execute("SELECT min(window_end) FROM estimates").fetchone()[0])
        last_alert = _when(con.execute("SELECT max(created_at) FROM alerts").fetchone()[0])
    assert timedelta(0) <= demo.started - last_msg < timedelta(days=1)
    assert demo.started - last_q < timedelta(days=2)
    assert timedelta(days=60) < last_msg - first_msg < timedelta(days=90)
    assert last_alert - min(first_msg, first_est) < timedelta(days=91)
