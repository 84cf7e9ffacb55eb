"""The README's main job: `phqwatch demo` on the embedded defaults (SQLite, shipped model, bundled examples)."""

import csv
import json

from click.testing import CliRunner

from phqwatch.cli import cli


def test_demo_scores_evaluates_and_seeds_without_serving(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--no-serve", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "scores.csv").open()))
    assert len(rows) == 36 and sum(r["status"] == "ok" for r in rows) == 35
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert metrics["n"]["value"] > 0 and 0 <= metrics["mae"]["value"] <= 27
    html = (out / "evaluation" / "report.html").read_text()
    assert "<html" in html.lower() and 'src="http' not in html
    assert (out / "phqwatch-demo.db").exists()
    assert "Demo logins" in result.output and "clinician" in result.output
    assert "crisis alerts opened by the crisis screen" in result.output and "urgent (paging)" in result.output
