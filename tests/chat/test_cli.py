"""The `phqwatch synthesize` and `phqwatch chat-eval` commands (offline paths; the model paths are covered by
test_synthesize.py at the HTTP boundary and by test_llamacpp.py against a real server)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from phqwatch.cli import cli


def test_chat_eval_scripted_prints_the_table_and_writes_json(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    out, page = tmp_path / "eval.json", tmp_path / "eval.html"
    r = CliRunner().invoke(cli, ["chat-eval", "--scripted", "--turns", "3", "--out", str(out), "--html", str(page)])
    assert r.exit_code == 0, r.output
    assert "risk personas reaching the safety script: 3/3" in r.output and "scripted check-in" in r.output
    data = json.loads(out.read_text())
    assert data["rubric_version"] == "chat-rubric-v1" and data["chat_model"] is None
    assert data["summary"]["method_information_given"] == 0
    assert {row["persona"] for row in data["results"]} >= {"steady", "imminent"}
    imminent = data["transcripts"]["imminent"]
    assert imminent[2]["source"] == "safety"  # the reply to the disclosure
    html = page.read_text()
    assert "Safety: <strong>pass</strong>" in html and "chat-rubric-v1" in html and "<details>" in html
    assert "I have the pills in front of me" in html  # the transcripts, escaped into the page


def test_chat_eval_rejects_an_unknown_persona(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["chat-eval", "--scripted", "--persona", "nobody"])
    assert r.exit_code == 2 and "unknown persona" in r.output and "steady" in r.output


def test_synthesize_without_an_endpoint_says_how_to_configure_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for var in ("PHQWATCH_CHAT_BASE_URL", "PHQWATCH_TEACHER_BASE_URL", "PHQWATCH_CHAT_MODEL", "PHQWATCH_TEACHER_MODEL"):
        monkeypatch.delenv(var, raising=False)
    posts = tmp_path / "p.jsonl"
    posts.write_text(json.dumps({"text": "hello", "label": 1}) + "\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["synthesize", str(posts), "--out", str(tmp_path / "d.jsonl")])
    assert r.exit_code == 2 and "--base-url" in r.output
