"""The `phqwatch score` command end to end, with the shipped model and the synthetic examples."""

import csv
import json

from click.testing import CliRunner

from phqwatch import __version__
from phqwatch.cli import cli
from phqwatch.datasets.synthetic import EXAMPLES_DIR

EXAMPLES = EXAMPLES_DIR


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_version_and_help():
    assert __version__ in run("--version").output
    result = run("score", "--help")
    assert result.exit_code == 0 and "Examples:" in result.output and "--include-assistant" in result.output


def test_scores_examples_with_the_shipped_model(tmp_path):
    out = tmp_path / "scores.csv"
    result = run("score", EXAMPLES / "transcripts.jsonl", "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 36 and "ESTIMATES" in result.output
    by_user = {r["user_id"]: r for r in rows}
    short = by_user["synthetic-036"]
    assert short["status"] == "abstained" and short["phq9_estimate"] == "" and "too little text" in short["reason"]
    scored = [r for r in rows if r["status"] == "ok"]
    assert len(scored) == 35
    for r in scored:
        est, lo, hi = float(r["phq9_estimate"]), float(r["interval_low"]), float(r["interval_high"])
        assert 0 <= lo <= est <= hi <= 27 and r["band"] and r["model"]


def test_jsonl_output_and_user_with_no_user_text(tmp_path):
    src = tmp_path / "t.jsonl"
    src.write_text(
        json.dumps({"user_id": "a", "conversation_id": "c", "role": "assistant", "text": "Hello, how are you?"}) + "\n"
    )
    out = tmp_path / "s.jsonl"
    assert run("score", src, "--out", out, "--no-progress").exit_code == 0
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert (
        row["status"] == "abstained" and row["reason"] == "no user-role text to score" and row["phq9_estimate"] is None
    )
    assert row["evidence"] == {}


def test_jsonl_rows_carry_item_evidence_quoted_from_the_text(tmp_path):
    out = tmp_path / "s.jsonl"
    assert run("score", EXAMPLES / "transcripts.jsonl", "--out", out, "--no-progress").exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    text = (EXAMPLES / "transcripts.jsonl").read_text()
    quoted = [s for r in rows for sentences in r["evidence"].values() for s in sentences]
    assert quoted, "the examples voice symptoms; some evidence must be found"
    assert all(json.dumps(s)[1:-1] in text for s in quoted), "evidence must be verbatim from the transcript"


def test_malformed_line_exits_non_zero_naming_file_and_line(tmp_path):
    src = tmp_path / "bad.jsonl"
    src.write_text('{"user_id": "a", "conversation_id": "c", "role": "user", "text": "hi"}\n{broken\n')
    out = tmp_path / "s.csv"
    result = CliRunner().invoke(cli, ["score", str(src), "--out", str(out), "--no-progress"])
    assert result.exit_code == 2
    assert "bad.jsonl:line 2" in result.output and "malformed JSON" in result.output
    assert not out.exists(), "a failed run must not leave a half-written output"
