"""The JSON API end to end over HTTP (TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

import phqwatch
from phqwatch.safety.resources import crisis_resources
from phqwatch.store import jobs
from phqwatch.store.tables import AuditEntry, MessageRow

from .conftest import msg
from .tiny_model import CALM, LOW_MOOD


def test_ingest_screens_every_user_message_and_is_idempotent(world):
    w = world
    body = {"messages": [msg(mid="a1", text="work was fine today"), msg(mid="a2", text="I want to end my life")]}
    r = w.client.post("/api/v1/messages/batch", json=body, headers=w.h("service"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["accepted"], out["duplicates"], out["crisis"]) == (2, 0, True)
    assert out["crisis_text"] == crisis_resources(w.settings.crisis_locale, w.settings.crisis_text)
    assert len(out["crisis_alert_ids"]) == 1 and out["jobs_queued"] == 1
    again = w.client.post("/api/v1/messages/batch", json=body, headers=w.h("service")).json()
    assert (again["accepted"], again["duplicates"], again["crisis_alert_ids"]) == (0, 2, [])
    assert again["crisis"] is True  # a retried flagged message still gets the crisis text
    alerts = w.client.get("/api/v1/alerts", headers=w.h("doc")).json()
    assert [(a["kind"], a["severity"], a["excerpt"]) for a in alerts] == [("crisis", "urgent", "I want to end my life")]
    assert w.client.get("/api/v1/alerts", headers=w.h("doc2")).json() == []  # not doc2's patient
    # negated risk is no rule hit; assistant turns are never screened as the user's words
    calm = w.client.post(
        "/api/v1/messages/batch",
        json={
            "messages": [
                msg(mid="a3", text="I'd never hurt myself"),
                msg(mid="a4", role="assistant", text="Do you want to die?"),
                msg(mid="a5", conv="c2", text="we had pizza and watched a film"),
            ]
        },
        headers=w.h("service"),
    ).json()
    denial, question, pizza = calm["results"]
    assert denial["screen"]["rules"] == [] and question["screen"] is None
    assert pizza["screen"]["severity"] == "none" and pizza["screen"]["flag"] is False


def test_family_crisis_message_alerts_the_patients_team(world):
    w = world
    r = w.client.post(
        "/api/v1/messages", json=msg(user="u1-fam", mid="f1", text="I want to kill myself"), headers=w.h("service")
    )
    assert r.json()["crisis"] is True and r.json()["jobs_queued"] == 0  # family words never enter the estimate
    (a,) = w.client.get("/api/v1/alerts", headers=w.h("doc")).json()
    assert a["patient_id"] == w.ids["pat"] and a["details"]["speaker"] == "family"


def test_timeline_keeps_estimates_and_administered_apart(world):
    w = world
    base = datetime(2026, 1, 1, 12, tzinfo=UTC)
    batch = [
        msg(mid=f"t{i}", text=(LOW_MOOD if i >= 6 else CALM), ts=(base + timedelta(days=3 * i)).isoformat())
        for i in range(12)
    ]
    assert w.client.post("/api/v1/messages/batch", json={"messages": batch}, headers=w.h("service")).status_code == 200
    r = w.client.post(
        "/api/v1/questionnaires", json={"user_id": "u1", "date": "2025-12-15", "phq9_total": 6}, headers=w.h("service")
    )
    assert r.status_code == 201 and r.json()["kind"] == "administered"
    with w.ctx.db.write() as s:  # a backfill job: weekly windows across the history
        jobs.enqueue(s, "backfill", organisation_id=1, patient_id=w.ids["pat"])
    from phqwatch.server.worker import Worker

    worker = Worker(w.settings, w.ctx.db, w.ctx.cipher, model=_model())
    assert worker.run_once() == 2  # the estimate job queued by ingestion + the backfill
    tl = w.client.get(f"/api/v1/patients/{w.ids['pat']}/timeline", headers=w.h("doc")).json()
    assert [a["total"] for a in tl["administered"]] == [6]
    ests = tl["estimates"]
    assert len(ests) >= 4 and all(e["kind"] == "estimate" and e["evidence"] is None for e in ests)
    assert all(e["model_name"] == "tiny-low-mood" and e["model_version"] == "test1" for e in ests)
    ok = [e for e in ests if e["status"] == "ok"]
    assert ok[-1]["value"] > ok[0]["value"] + 5  # the low-mood turn shows
    assert all(e["interval_low"] <= e["value"] <= e["interval_high"] for e in ok)
    ends = [e["window_end"] for e in ests]
    assert ends == sorted(ends) and len(set(ends)) == len(ends)
    detail = w.client.get(f"/api/v1/patients/{w.ids['pat']}/estimates/{ok[-1]['id']}", headers=w.h("doc")).json()
    assert isinstance(detail["evidence"], dict)
    # the alert rules ran: worsening into a high band with no recent PHQ-9 -> alerts that ask for a PHQ-9
    kinds = {a["kind"] for a in w.client.get("/api/v1/alerts", headers=w.h("doc")).json()}
    assert "administer_phq9" in kinds and ({"band_crossing_up", "sustained_worsening"} & kinds)
    # FHIR export: estimates are not LOINC 44261-6; the administered PHQ-9 is
    b = w.client.get(f"/api/v1/patients/{w.ids['pat']}/fhir", headers=w.h("doc")).json()
    assert b["resourceType"] == "Bundle"
    codes = [e["resource"]["code"]["coding"][0]["code"] for e in b["entry"]]
    assert codes.count("44261-6") == 1 and len(codes) == len(ok) + 1
    with w.ctx.db.read() as s:  # reads are audited, without text
        actions = {
            (a.action, a.resource) for a in s.scalars(select(AuditEntry).where(AuditEntry.patient_id == w.ids["pat"]))
        }
    assert {
        ("create", "messages"),
        ("create", "estimate"),
        ("read", "timeline"),
        ("read", "estimate"),
        ("read", "fhir_export"),
    } <= actions


def _model():
    from .tiny_model import fitted

    return fitted()


def test_alert_actions_keep_history(world):
    w = world
    w.client.post(
        "/api/v1/messages", json=msg(mid="x1", text="I have pills saved up to overdose"), headers=w.h("service")
    )
    (a,) = w.client.get("/api/v1/alerts", headers=w.h("doc")).json()
    url = f"/api/v1/alerts/{a['id']}"
    assert (
        w.client.post(url + "/acknowledge", json={"note": "seen"}, headers=w.h("doc")).json()["status"]
        == "acknowledged"
    )
    assert (
        w.client.post(url + "/assign", json={"assignee_id": w.ids["doc"]}, headers=w.h("doc")).json()["assignee_id"]
        == w.ids["doc"]
    )
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    assert w.client.post(url + "/snooze", json={"until": until}, headers=w.h("doc")).json()["status"] == "snoozed"
    done = w.client.post(url + "/resolve", json={"note": "safety plan made"}, headers=w.h("doc")).json()
    assert done["status"] == "resolved"
    assert [h["action"] for h in done["history"]] == ["opened", "acknowledged", "assigned", "snoozed", "resolved"]
    assert w.client.post(url + "/acknowledge", headers=w.h("doc")).status_code == 422  # resolved
    assert w.client.get("/api/v1/alerts", headers=w.h("doc")).json() == []
    assert len(w.client.get("/api/v1/alerts?status=resolved", headers=w.h("doc")).json()) == 1


def test_conversations_patient_and_family_apart(world):
    w = world
    w.client.post(
        "/api/v1/messages/batch",
        json={
            "messages": [
                msg(mid="p1", text="my own words"),
                msg(user="u1-fam", conv="fc", mid="q1", text="family words"),
            ]
        },
        headers=w.h("service"),
    )
    own = w.client.get(f"/api/v1/patients/{w.ids['pat']}/conversations", headers=w.h("pat")).json()
    assert [m["text"] for c in own["patient"] for m in c["messages"]] == ["my own words"] and own["family"] == []
    both = w.client.get(f"/api/v1/patients/{w.ids['pat']}/conversations?include_family=true", headers=w.h("doc")).json()
    assert [m["text"] for c in both["family"] for m in c["messages"]] == ["family words"]
    assert (
        w.client.get(
            f"/api/v1/patients/{w.ids['pat']}/conversations?include_family=true", headers=w.h("pat")
        ).status_code
        == 403
    )


def test_openapi_and_health(world):
    w = world
    spec = w.client.get("/api/openapi.json").json()
    assert {
        "/api/v1/messages",
        "/api/v1/messages/batch",
        "/api/v1/patients/{patient_id}/timeline",
        "/api/v1/alerts",
    } <= set(spec["paths"])
    assert w.client.get("/api/docs").status_code == 200
    health = w.client.get("/api/v1/health").json()
    assert health["status"] == "ok"
    assert health["version"] == spec["info"]["version"] == phqwatch.__version__  # pyproject's, as installed


def test_message_text_is_encrypted_in_the_database(world):
    w = world
    w.client.post("/api/v1/messages", json=msg(mid="enc", text="a very private sentence"), headers=w.h("service"))
    with w.ctx.db.read() as s:
        (raw,) = s.scalars(select(MessageRow.text_enc))
    assert b"private" not in bytes(raw)


def test_further_crisis_hits_fold_into_the_unacknowledged_alert_then_a_new_one_after_ack(world):
    w = world

    def send(mid, text):
        r = w.client.post("/api/v1/messages", json=msg(mid=mid, text=text), headers=w.h("service"))
        assert r.status_code == 200, r.text
        return r.json()

    first = send("fold-1", "I want to end my life")
    second = send("fold-2", "I keep thinking about killing myself")
    assert second["crisis"] is True and second["crisis_alert_ids"] == first["crisis_alert_ids"]
    (alert,) = w.client.get("/api/v1/alerts", headers=w.h("doc")).json()
    assert "end my life" in alert["excerpt"] and "killing myself" in alert["excerpt"]
    assert len(alert["evidence"]) == 2
    ack = w.client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", json={}, headers=w.h("doc"))
    assert ack.status_code == 200, ack.text
    third = send("fold-3", "tonight I will take all my pills to end it")
    assert third["crisis_alert_ids"] and third["crisis_alert_ids"] != first["crisis_alert_ids"]
    assert len(w.client.get("/api/v1/alerts", headers=w.h("doc")).json()) == 2
