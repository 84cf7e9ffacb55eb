"""The chat API: start, send (JSON and server-sent events), crisis path, storage, limits and isolation."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from chat.fake_llm import FakeLLM
from phqwatch.store import messages
from phqwatch.store.tables import Alert, Conversation, Job, MessageRow

from .conftest import World, build_world
from .helpers import snapshot

ORDINARY = "Work has been really stressful this week and I have been staying late most evenings"
CRISIS = "I have the pills in front of me and I am going to take them all tonight"


@pytest.fixture
def w(sqlite_url: str) -> Iterator[World]:
    world = build_world(sqlite_url)
    try:
        yield world
    finally:
        world.client.__exit__(None, None, None)


def _start(w: World, who: str = "pat") -> int:
    r = w.client.post("/api/v1/conversations", headers=w.h(who))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["reply"]["stage"] == "open" and body["reply"]["text"].endswith("?")
    return body["id"]


def _send(w: World, cid: int, text: str, who: str = "pat", **extra) -> dict:  # type: ignore[no-untyped-def]
    r = w.client.post(f"/api/v1/conversations/{cid}/messages", headers=w.h(who), json={"text": text, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def test_patient_chat_is_stored_screened_and_queues_reestimation(w):
    cid = _start(w)
    out = _send(w, cid, ORDINARY)
    reply = out["reply"]
    assert reply["source"] == "scripted" and reply["prompt_version"] == "script-v1" and reply["id"]
    assert reply["text"] and ORDINARY not in reply["text"] and out["duplicate"] is False
    with w.ctx.db.read() as s:
        conv = s.get(Conversation, cid)
        assert conv.kind == "chat" and conv.person_id == w.ids["pat"] and conv.patient_id == w.ids["pat"]
        rows = s.scalars(select(MessageRow).where(MessageRow.conversation_id == cid).order_by(MessageRow.id)).all()
        assert [r.role for r in rows] == ["assistant", "user", "assistant"]
        assert all(r.prompt_version for r in rows if r.role == "assistant")
        assert rows[2].chat_meta["source"] == "scripted" and rows[1].prompt_version is None
        stored = messages.patient_messages(s, w.ctx.cipher, w.ids["pat"], roles=("user",))
        assert [m.text for m in stored] == [ORDINARY]
        assert s.scalar(select(Job).where(Job.kind == "estimate", Job.patient_id == w.ids["pat"])) is not None
    got = w.client.get(f"/api/v1/conversations/{cid}", headers=w.h("pat")).json()
    assert [m["role"] for m in got["messages"]] == ["assistant", "user", "assistant"] and got["kind"] == "patient"
    listed = w.client.get("/api/v1/conversations", headers=w.h("pat")).json()["conversations"]
    assert [c["id"] for c in listed] == [cid] and listed[0]["messages"] == 3


def test_resending_the_same_message_id_gives_the_same_reply_once(w):
    cid = _start(w)
    first = _send(w, cid, ORDINARY, message_id="m-1")
    again = _send(w, cid, ORDINARY, message_id="m-1")
    assert again["duplicate"] is True and again["reply"]["text"] == first["reply"]["text"]
    with w.ctx.db.read() as s:
        assert len(s.scalars(select(MessageRow).where(MessageRow.conversation_id == cid)).all()) == 3


def test_crisis_turn_gets_the_safety_script_opens_an_alert_and_pauses_the_conversation(w):
    cid = _start(w)
    _send(w, cid, ORDINARY)
    out = _send(w, cid, CRISIS)
    assert out["crisis"] is True and out["reply"]["safety"] is True and out["reply"]["source"] == "safety"
    assert "988" in out["reply"]["text"] and out["crisis_text"] and out["status"] == "safety"
    with w.ctx.db.read() as s:
        alert = s.scalar(select(Alert).where(Alert.patient_id == w.ids["pat"], Alert.kind == "crisis"))
        assert alert is not None and alert.severity == "urgent" and alert.details["speaker"] == "patient"
        assert s.get(Conversation, cid).status == "safety"
    later = _send(w, cid, "ok, I will think about calling them after I have had some sleep tonight")
    assert later["reply"]["safety"] is True and "paused" in later["reply"]["text"]
    alerts = w.client.get("/api/v1/alerts", headers=w.h("doc")).json()
    assert any(a["kind"] == "crisis" for a in (alerts.get("alerts", alerts) if isinstance(alerts, dict) else alerts))


def test_family_chat_feeds_only_the_family_side(w):
    cid = _start(w, "fam")
    out = _send(w, cid, "My brother has barely left his room this week and skips dinner most nights", who="fam")
    assert out["reply"]["source"] == "scripted"
    with w.ctx.db.read() as s:
        conv = s.get(Conversation, cid)
        assert conv.person_id == w.ids["fam"] and conv.patient_id == w.ids["pat"]
        # not the patient's own words: not in what the estimator reads, and no re-estimation job
        assert messages.patient_messages(s, w.ctx.cipher, w.ids["pat"]) == []
        family = messages.patient_messages(s, w.ctx.cipher, w.ids["pat"], patient_only=False, roles=("user",))
        assert [m.by_patient for m in family] == [False]
        assert s.scalar(select(Job).where(Job.kind == "estimate")) is None


def test_conversations_are_isolated_by_url(w):
    pat_cid = _start(w, "pat")
    fam_cid = _start(w, "fam")
    before = snapshot(w)
    for who, cid in (("fam", pat_cid), ("pat2", pat_cid), ("pat", fam_cid), ("pat2", fam_cid)):
        r = w.client.get(f"/api/v1/conversations/{cid}", headers=w.h(who))
        assert r.status_code == 404, (who, cid)
        r = w.client.post(f"/api/v1/conversations/{cid}/messages", headers=w.h(who), json={"text": ORDINARY})
        assert r.status_code == 404, (who, cid)
        assert "fix" in r.json()
    for who in ("doc", "admin", "service"):
        r = w.client.get(f"/api/v1/conversations/{pat_cid}", headers=w.h(who))
        assert r.status_code == 403, who
    assert w.client.get("/api/v1/conversations", headers=w.h("fam")).json()["conversations"][0]["id"] == fam_cid
    after = snapshot(w)
    assert {k: v for k, v in after.items() if k != "audit_log"} == {k: v for k, v in before.items() if k != "audit_log"}


def test_empty_and_oversized_messages_are_refused_and_nothing_is_stored(w):
    cid = _start(w)
    before = snapshot(w)
    r = w.client.post(f"/api/v1/conversations/{cid}/messages", headers=w.h("pat"), json={"text": "   "})
    assert r.status_code == 422 and "empty" in r.json()["detail"] and r.json()["field"] == "text"
    big = "word " * 1000
    r = w.client.post(f"/api/v1/conversations/{cid}/messages", headers=w.h("pat"), json={"text": big})
    assert r.status_code == 422 and "at most 2000" in r.json()["detail"] and "word word" not in r.text
    assert snapshot(w) == before


def test_messages_are_rate_limited_per_person(sqlite_url):
    w = build_world(sqlite_url, chat_messages_per_minute=2)
    try:
        cid = _start(w)
        _send(w, cid, ORDINARY)
        _send(w, cid, "and my manager wants the whole report rewritten by Monday morning")
        r = w.client.post(f"/api/v1/conversations/{cid}/messages", headers=w.h("pat"), json={"text": ORDINARY})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        fam = _start(w, "fam")  # another person is not held back
        _send(w, fam, "He has been much quieter than usual at home this week", who="fam")
    finally:
        w.client.__exit__(None, None, None)


def test_model_replies_and_no_model_call_for_a_crisis_message(sqlite_url):
    with FakeLLM("That sounds like a heavy week. What would you like to focus on?") as llm:
        w = build_world(sqlite_url, chat_base_url=llm.base_url, chat_model="fake-chat", chat_timeout_s=5)
        try:
            cid = _start(w)
            out = _send(w, cid, ORDINARY)
            assert out["reply"]["source"] == "model" and out["reply"]["prompt_version"].startswith("patient-v1+")
            assert out["reply"]["text"].startswith("That sounds like a heavy week")
            assert llm.calls == 1
            with w.ctx.db.read() as s:
                row = s.get(MessageRow, out["reply"]["id"])
                assert row.prompt_version == out["reply"]["prompt_version"] and row.chat_meta["model"] == "fake-chat"
            crisis = _send(w, cid, CRISIS)
            assert crisis["reply"]["safety"] is True and llm.calls == 1  # the model never saw it
        finally:
            w.client.__exit__(None, None, None)


def test_risky_model_reply_is_withheld_and_the_team_alerted(sqlite_url):
    with FakeLLM("If it gets bad, the best way to end it is with a lethal dose of your pills.") as llm:
        w = build_world(sqlite_url, chat_base_url=llm.base_url, chat_model="fake-chat")
        try:
            cid = _start(w)
            out = _send(w, cid, ORDINARY)
            assert out["reply"]["safety"] is True and "lethal" not in out["reply"]["text"] and out["crisis"]
            with w.ctx.db.read() as s:
                alert = s.scalar(select(Alert).where(Alert.patient_id == w.ids["pat"], Alert.kind == "crisis"))
                assert alert is not None and "chat-reply-check" in alert.details["rules"]
                texts = [w.ctx.cipher.decrypt(r.text_enc) for r in s.scalars(select(MessageRow))]
                assert not any("lethal" in t for t in texts)
        finally:
            w.client.__exit__(None, None, None)


def _events(raw: str) -> list[tuple[str, dict]]:
    out = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


@pytest.mark.parametrize("how", ["path", "accept"])
def test_reply_streams_as_server_sent_events(w, how):
    cid = _start(w)
    url = f"/api/v1/conversations/{cid}/messages" + ("/stream" if how == "path" else "")
    headers = {**w.h("pat"), "Accept": "text/event-stream"}
    with w.client.stream("POST", url, headers=headers, json={"text": ORDINARY}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = _events(r.read().decode())
    names = [e for e, _ in events]
    assert names[0] == "accepted" and names[-1] == "done" and "delta" in names
    done = events[-1][1]
    assert "".join(d["text"] for e, d in events if e == "delta") == done["reply"]["text"]
    assert done["reply"]["source"] == "scripted"


def test_stream_refuses_bad_input_with_a_plain_http_error(w):
    cid = _start(w)
    r = w.client.post(f"/api/v1/conversations/{cid}/messages/stream", headers=w.h("pat"), json={"text": ""})
    assert r.status_code == 422 and "empty" in r.json()["detail"]


def test_model_down_falls_back_plainly_and_no_message_text_is_logged(sqlite_url, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    with FakeLLM("never used") as llm:
        llm.status = 503
        w = build_world(sqlite_url, chat_base_url=llm.base_url, chat_model="fake-chat")
        try:
            cid = _start(w)
            out = _send(w, cid, ORDINARY)
            assert out["reply"]["source"] == "scripted" and "not answering" in out["reply"]["notice"]
            crisis = _send(w, cid, CRISIS)
            assert crisis["reply"]["safety"]
            got = w.client.get(f"/api/v1/conversations/{cid}", headers=w.h("pat")).json()
            assert got["messages"][2]["notice"] == out["reply"]["notice"]  # the notice is kept with the reply
        finally:
            w.client.__exit__(None, None, None)
    assert "scripted check-in used" in caplog.text  # the fallback is logged ...
    for text in (ORDINARY, CRISIS, "pills", "stressful", out["reply"]["text"][:40]):
        assert text not in caplog.text  # ... without anyone's words


def test_a_patient_registered_without_a_chat_app_id_can_chat(w):
    from phqwatch.server.auth import hash_password
    from phqwatch.store import people
    from phqwatch.store.tables import Person

    from .conftest import PASSWORD

    with w.ctx.db.write() as s:
        org = s.get(Person, w.ids["pat"]).organisation_id
        pid = people.create_person(
            s, organisation_id=org, role="patient", username="newpat", password_hash=hash_password(PASSWORD)
        ).id
    cid = _start(w, "newpat")
    out = _send(w, cid, ORDINARY, who="newpat")
    assert out["reply"]["text"]
    with w.ctx.db.read() as s:
        assert s.get(Person, pid).external_id == f"phqwatch-{pid}"
        assert len(messages.patient_messages(s, w.ctx.cipher, pid, roles=("user",))) == 1


def test_chat_on_every_database(world):
    """Start, an ordinary turn and a crisis turn on SQLite and (marked postgres) PostgreSQL."""
    cid = _start(world)
    assert _send(world, cid, ORDINARY)["reply"]["prompt_version"] == "script-v1"
    out = _send(world, cid, CRISIS)
    assert out["reply"]["safety"] and out["status"] == "safety"
    with world.ctx.db.read() as s:
        assert s.get(Conversation, cid).status == "safety"
        assert s.scalar(select(Alert).where(Alert.patient_id == world.ids["pat"], Alert.kind == "crisis"))
    listed = world.client.get("/api/v1/conversations", headers=world.h("pat")).json()["conversations"]
    assert listed[0]["id"] == cid and listed[0]["messages"] == 5
