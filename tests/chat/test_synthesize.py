"""`phqwatch synthesize`: posts -> dialogues in the transcript contract, labels kept, prompt and model recorded.
The model is faked at the HTTP boundary (httpx.MockTransport); the client and parsing are the real ones."""

from __future__ import annotations

import json

import httpx
import pytest

from phqwatch.chat.synthesize import parse_dialogue, read_posts, synthesize_file
from phqwatch.config import Settings
from phqwatch.errors import InputError, TeacherError
from phqwatch.transcripts.readers import iter_messages

POSTS = [
    {"id": "p1", "text": "I can't sleep and nothing feels worth doing anymore.", "label": "moderate"},
    {"id": "p2", "text": "Exams are stressing me out but my friends help.", "label": "minimal"},
    {"id": "p3", "text": "Some nonsense the model will not turn into a dialogue.", "label": "mild"},
]


def _answer(body: dict) -> str:
    post = body["messages"][-1]["content"]
    if "nonsense" in post:
        return "I am sorry, I cannot help with that."
    if "Exams" in post:  # plain text in the User:/Counsellor: form
        return "User: Exams are stressing me out.\nCounsellor: What worries you most?\nUser: Failing, but friends help."
    return json.dumps({"turns": [
        {"role": "user", "text": "I can't sleep lately."},
        {"role": "assistant", "text": "That sounds exhausting. What keeps you awake?"},
        {"role": "user", "text": "Nothing feels worth doing anymore."},
    ]})  # fmt: skip


def _transport(seen: list[dict]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        content = _answer(body)
        return httpx.Response(200, json={"choices": [{"message": {"content": content}, "finish_reason": "stop"}],
                                         "usage": {"prompt_tokens": 5, "completion_tokens": 5}})  # fmt: skip

    return httpx.MockTransport(handle)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(_env_file=None, teacher_base_url="http://127.0.0.1:9/v1", teacher_model="fake-writer",
                    teacher_max_retries=0)  # fmt: skip


def test_posts_become_labelled_dialogues_in_the_transcript_contract(tmp_path, settings):
    posts = tmp_path / "posts.jsonl"
    posts.write_text("".join(json.dumps(p) + "\n" for p in POSTS), encoding="utf-8")
    out = tmp_path / "dialogues.jsonl"
    seen: list[dict] = []
    meta = synthesize_file(posts, out, settings, transport=_transport(seen))
    assert (meta["posts"], meta["ok"], meta["failed"]) == (3, 2, 1)
    assert list(meta["failures"]) == ["p3"]
    assert meta["prompt_version"].startswith("synthesize-v1+") and meta["model"] == "fake-writer"
    assert len(meta["input_sha256"]) == 64 and meta["input"] == "posts.jsonl"
    assert json.loads(out.with_suffix(".meta.json").read_text())["prompt_version"] == meta["prompt_version"]
    # the system prompt is the versioned file, the post is in the request
    assert seen[0]["messages"][0]["role"] == "system" and "counselling dialogue" in seen[0]["messages"][0]["content"]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["label"] for r in rows if r["source_id"] == "p1"} == {"moderate"}
    assert {r["label"] for r in rows if r["source_id"] == "p2"} == {"minimal"}
    assert not any(r["source_id"] == "p3" for r in rows)
    msgs = list(iter_messages(out))  # the project's own reader accepts it
    assert {m.user_id for m in msgs} == {"synth-p1", "synth-p2"}
    assert [m.role for m in msgs if m.user_id == "synth-p1"] == ["user", "assistant", "user"]


def test_csv_posts_and_a_custom_label_column(tmp_path, settings):
    posts = tmp_path / "posts.csv"
    posts.write_text("post_id,text,severity\n7,Exams are stressing me out,mild\n", encoding="utf-8")
    meta = synthesize_file(posts, tmp_path / "d.jsonl", settings, label_field="severity", transport=_transport([]))
    assert meta["ok"] == 1
    assert json.loads((tmp_path / "d.jsonl").read_text().splitlines()[0])["label"] == "mild"


def test_bad_posts_files_name_the_line_and_field(tmp_path):
    p = tmp_path / "posts.jsonl"
    p.write_text(json.dumps({"id": "a", "text": "hello"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 1") as err:
        read_posts(p)
    assert err.value.field == "label"
    p.write_text(json.dumps({"id": "a", "label": 1}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="no post text"):
        read_posts(p)
    other = tmp_path / "x.txt"
    other.write_text("a", encoding="utf-8")
    with pytest.raises(InputError, match="unknown file type"):
        read_posts(other)


def test_parse_dialogue_needs_both_speakers():
    assert parse_dialogue('{"turns": [{"role": "user", "text": "hi"}, {"role": "assistant", "text": "hello"}]}') == [
        ("user", "hi"),
        ("assistant", "hello"),
    ]
    with pytest.raises(TeacherError):
        parse_dialogue("User: only me talking")
