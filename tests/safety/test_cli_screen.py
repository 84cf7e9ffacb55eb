"""`phqwatch screen` and `phqwatch safety evaluate` from the command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner

from phqwatch.cli import cli


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_screen_writes_one_row_per_user_message_with_context(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "chats.jsonl",
        [
            {
                "user_id": "a",
                "conversation_id": "c1",
                "role": "assistant",
                "text": "Have you thought about ending your life?",
            },
            {"user_id": "a", "conversation_id": "c1", "role": "user", "text": "yes. tonight", "message_id": "m1"},
            {"user_id": "b", "conversation_id": "c2", "role": "user", "text": "went to the market and bought apples"},
            {"user_id": "b", "conversation_id": "c2", "role": "assistant", "text": "Sounds lovely."},
        ],
    )
    out = tmp_path / "screened.csv"
    r = CliRunner().invoke(cli, ["screen", str(src), "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "Screened 2 user messages: 1 flagged" in r.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == [
        "message_id",
        "user_id",
        "conversation_id",
        "flag",
        "severity",
        "categories",
        "score",
        "rules",
    ]
    assert rows[0]["message_id"] == "m1" and rows[0]["flag"] == "True" and rows[0]["severity"] == "imminent"
    assert "context_suicide" in rows[0]["rules"] and rows[0]["categories"] == "suicide"
    assert rows[1]["flag"] == "False" and rows[1]["severity"] == "none" and rows[1]["message_id"] == "b:c2:2"


def test_screen_names_the_bad_line(tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text(
        json.dumps({"user_id": "a", "conversation_id": "c", "role": "user", "text": "hi"}) + "\n{not json\n",
        encoding="utf-8",
    )
    out = tmp_path / "o.csv"
    r = CliRunner().invoke(cli, ["screen", str(src), "--out", str(out), "--no-progress"])
    assert r.exit_code == 2 and "line 2" in r.output
    assert not out.exists()  # nothing half-written


def test_safety_evaluate_prints_figures(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "labelled.jsonl",
        [
            {"id": "1", "text": "I want to kill myself tonight", "severity": "imminent", "categories": ["suicide"]},
            {"id": "2", "text": "this boss fight is killing me lol", "severity": "none", "categories": []},
        ],
    )
    r = CliRunner().invoke(cli, ["safety", "evaluate", str(src), "--rules-only"])
    assert r.exit_code == 0, r.output
    figures = json.loads(r.output)
    assert figures["recall_high_plus"] == 1.0 and figures["imminent_missed"] == 0 and figures["precision"] == 1.0


def test_safety_evaluate_rejects_an_unknown_severity(tmp_path: Path) -> None:
    src = _write(tmp_path / "l.jsonl", [{"id": "1", "text": "x", "severity": "severe", "categories": []}])
    r = CliRunner().invoke(cli, ["safety", "evaluate", str(src), "--rules-only"])
    assert r.exit_code == 2 and "line 1" in r.output and "severity" in r.output
