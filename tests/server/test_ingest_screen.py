"""Ingestion through the crisis screen v2 over HTTP: context from stored turns, graded alerts, no message
dropped unscreened."""

from __future__ import annotations

from sqlalchemy import func, select

from phqwatch.store.tables import Alert, MessageRow

from .conftest import msg


def _alerts(w, kind: str = "crisis") -> list[dict]:  # type: ignore[no-untyped-def]
    return [a for a in w.client.get("/api/v1/alerts", headers=w.h("doc")).json() if a["kind"] == kind]


def test_message_id_reused_by_another_patient_is_a_409_not_a_silent_duplicate(world):
    w = world
    first = w.client.post("/api/v1/messages", json=msg(user="u1", mid="m-1", text="hello"), headers=w.h("service"))
    assert first.status_code == 200 and first.json()["accepted"] == 1
    r = w.client.post(
        "/api/v1/messages", json=msg(user="u2", mid="m-1", text="I want to kill myself"), headers=w.h("service")
    )
    assert r.status_code == 409, r.text
    assert "m-1" in r.json()["detail"] and "another person" in r.json()["detail"] and r.json()["fix"]
    with w.ctx.db.read() as s:
        assert s.scalar(select(func.count(MessageRow.id))) == 1  # nothing half-written
    # The same person re-sending the same id is an idempotent retry, as before.
    again = w.client.post("/api/v1/messages", json=msg(user="u1", mid="m-1", text="hello"), headers=w.h("service"))
    assert again.status_code == 200 and again.json()["duplicates"] == 1


def test_reply_is_screened_with_the_stored_question_before_it(world):
    w = world
    q = msg(mid="q1", role="assistant", text="Are you having thoughts of hurting yourself?", ts="2026-01-10T10:00:00Z")
    assert w.client.post("/api/v1/messages", json=q, headers=w.h("service")).status_code == 200
    r = w.client.post(
        "/api/v1/messages",
        json=msg(mid="r1", text="yeah every night", ts="2026-01-10T10:01:00Z"),
        headers=w.h("service"),
    ).json()
    assert r["crisis"] is True and r["crisis_text"]
    screen = r["results"][0]["screen"]
    assert screen["flag"] and screen["severity"] in ("urgent", "imminent") and "context_self_harm" in screen["rules"]
    (a,) = _alerts(w)
    assert a["severity"] == "urgent" and a["details"]["screen_severity"] == screen["severity"]


def test_one_open_crisis_alert_per_episode_its_severity_only_rises(world):
    w = world
    send = [
        ("e1", "everyone would be better off without me"),  # high
        ("e2", "I already took everything in the medicine cabinet"),  # imminent
        ("e3", "I wish I could just not wake up"),  # high again: never lowers the alert
    ]
    for i, (mid, text) in enumerate(send):
        ts = f"2026-01-10T10:0{i}:00Z"
        out = w.client.post("/api/v1/messages", json=msg(mid=mid, text=text, ts=ts), headers=w.h("service")).json()
        assert out["crisis"] is True
    (a,) = _alerts(w)
    assert a["details"]["screen_severity"] == "imminent" and a["details"]["pages"] is True
    with w.ctx.db.read() as s:
        alert = s.scalar(select(Alert).where(Alert.kind == "crisis"))
        assert len(alert.evidence) == 3  # every hit's message is on the one alert


def test_past_history_opens_a_review_alert_not_the_crisis_path(world):
    w = world
    out = w.client.post(
        "/api/v1/messages",
        json=msg(mid="h1", text="I attempted suicide years ago, I'm in a much better place now"),
        headers=w.h("service"),
    ).json()
    assert out["crisis"] is False and out["crisis_text"] is None
    assert out["results"][0]["screen"]["severity"] == "review"
    assert _alerts(w) == []
    (review,) = _alerts(w, "risk-review")
    assert review["severity"] == "warning"


def test_every_user_message_gets_a_screen_result_and_assistant_turns_none(world):
    w = world
    body = {
        "messages": [
            msg(mid="s1", role="assistant", text="How was your week?"),
            msg(mid="s2", text="long week but ok, cooked dinner with my sister"),
        ]
    }
    out = w.client.post("/api/v1/messages/batch", json=body, headers=w.h("service")).json()
    assert out["results"][0]["screen"] is None
    assert out["results"][1]["screen"]["severity"] == "none" and out["results"][1]["screen"]["flag"] is False
    assert 0.0 <= out["results"][1]["screen"]["score"] <= 1.0


def test_an_unsure_model_flag_is_a_high_priority_review_not_an_escalating_crisis_alert(sqlite_url):
    from .conftest import build_world

    w = build_world(sqlite_url, crisis_alert_score=0.999)  # every flag from the model alone counts as unsure
    try:
        oblique = "gave my cat to my sister today, she'll look after her better than i ever could"
        out = w.client.post("/api/v1/messages", json=msg(mid="o1", text=oblique), headers=w.h("service")).json()
        screen = out["results"][0]["screen"]
        assert screen["flag"] and screen["rules"] == [] and screen["crisis_alert"] is False
        assert out["crisis"] is True and out["crisis_text"]  # the person still gets the crisis resources at once
        assert _alerts(w) == []
        (review,) = _alerts(w, "risk-review")
        assert review["severity"] == "high" and "learned risk model alone" in review["message"]
        # A rule hit from the same person is a crisis alert, beside the review.
        rule = "I want to kill myself"
        hit = w.client.post("/api/v1/messages", json=msg(mid="o2", text=rule), headers=w.h("service")).json()
        assert hit["results"][0]["screen"]["crisis_alert"] is True and hit["crisis_alert_ids"]
        (crisis,) = _alerts(w)
        assert crisis["id"] in hit["crisis_alert_ids"] and crisis["id"] != review["id"]
        # While the crisis alert is open, the episode's next unsure flag joins it instead of the review.
        w.client.post("/api/v1/messages", json=msg(mid="o3", text=oblique + " again"), headers=w.h("service"))
        with w.ctx.db.read() as s:
            assert len(s.get(Alert, crisis["id"]).evidence) == 2 and len(s.get(Alert, review["id"]).evidence) == 1
    finally:
        w.client.__exit__(None, None, None)
