"""Bad input and faults: each answered with the right status and each leaves the database unchanged."""

from __future__ import annotations

import json

from .conftest import msg
from .helpers import snapshot


def test_oversized_payload_is_413(world):
    w = world
    before = snapshot(w)
    big = {"messages": [msg(mid=f"b{i}", text="x" * 9000) for i in range(130)]}  # > 1,000,000 bytes
    r = w.client.post("/api/v1/messages/batch", json=big, headers=w.h("service"))
    assert r.status_code == 413 and "larger than" in r.json()["detail"]

    def chunks():  # no Content-Length: counted while streamed
        for _ in range(200):
            yield b"x" * 10_000

    r = w.client.post(
        "/api/v1/messages/batch", content=chunks(), headers={**w.h("service"), "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert snapshot(w) == before


def test_malformed_json_is_422_with_the_field_path(world):
    w = world
    before = snapshot(w)
    r = w.client.post(
        "/api/v1/messages/batch",
        content=b'{"messages": [{"user_id": "u1",',
        headers={**w.h("service"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"
    bad = {"messages": [msg(mid="ok"), {**msg(mid="bad"), "role": "robot"}]}
    r = w.client.post("/api/v1/messages/batch", json=bad, headers=w.h("service"))
    assert r.status_code == 422
    assert [d["field"] for d in r.json()["detail"]] == ["body.messages[1].role"]
    assert "robot" not in r.text  # input is never echoed (it may be health data)
    r = w.client.post("/api/v1/messages", json={**msg(), "timestamp": "yesterday"}, headers=w.h("service"))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.timestamp"
    r = w.client.post(
        "/api/v1/questionnaires", json={"user_id": "u1", "date": "2026-01-01", "items": [1] * 8}, headers=w.h("service")
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.items"
    assert snapshot(w) == before


def test_unknown_patient_is_404(world):
    w = world
    before = snapshot(w)
    r = w.client.post(
        "/api/v1/messages/batch",
        json={"messages": [msg(mid="k1"), msg(user="nobody", mid="k2")]},
        headers=w.h("service"),
    )
    assert r.status_code == 404 and "messages[1].user_id 'nobody'" in r.json()["detail"]
    assert w.client.get("/api/v1/patients/99999/timeline", headers=w.h("admin")).status_code == 404
    assert (
        w.client.post(
            "/api/v1/questionnaires",
            json={"user_id": "nobody", "date": "2026-01-01", "phq9_total": 3},
            headers=w.h("service"),
        ).status_code
        == 404
    )
    # a patient of another organisation is unknown here, even with the same external id
    assert w.client.get(f"/api/v1/patients/{w.ids['other_pat']}/timeline", headers=w.h("admin")).status_code == 404
    assert snapshot(w) == before


def test_duplicates_are_accepted_once(world):
    w = world
    one = msg(mid="d1", text="same message")
    assert w.client.post("/api/v1/messages", json=one, headers=w.h("service")).json()["accepted"] == 1
    before = snapshot(w)
    for _ in range(3):
        r = w.client.post("/api/v1/messages", json=one, headers=w.h("service"))
        assert r.status_code == 200 and r.json()["results"][0]["status"] == "duplicate"
    no_id = msg(text="no id here")
    w.client.post("/api/v1/messages", json=no_id, headers=w.h("service"))
    after_first = snapshot(w)
    assert w.client.post("/api/v1/messages", json=no_id, headers=w.h("service")).json()["duplicates"] == 1
    assert before["messages"] + 1 == after_first["messages"] == snapshot(w)["messages"]


def test_wrong_role_is_403_and_writes_nothing(world):
    w = world
    before = snapshot(w)
    assert w.client.post("/api/v1/messages", json=msg(mid="w1"), headers=w.h("pat")).status_code == 403
    assert (
        w.client.post(
            "/api/v1/questionnaires", json={"user_id": "u1", "date": "2026-01-01", "phq9_total": 3}, headers=w.h("fam")
        ).status_code
        == 403
    )
    assert (
        w.client.post(
            "/api/v1/questionnaires",
            json={"patient_id": w.ids["pat"], "date": "2026-01-01", "phq9_total": 3},
            headers=w.h("doc2"),
        ).status_code
        == 403
    )
    assert snapshot(w) == before


def test_no_credentials_is_401(world):
    w = world
    before = snapshot(w)
    assert w.client.post("/api/v1/messages", json=msg()).status_code == 401
    assert w.client.post("/api/v1/messages", json=msg(), headers={"X-API-Key": "phq_nope.nope"}).status_code == 401
    assert w.client.get("/api/v1/alerts", headers={"Authorization": "Bearer forged"}).status_code == 401
    assert snapshot(w) == before
    assert json.loads(w.client.get("/api/v1/alerts").text)["fix"]
