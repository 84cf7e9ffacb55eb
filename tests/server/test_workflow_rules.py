"""Workflow rules (issue 12, items 7 and 9): who an alert may go to, how long a crisis may sleep, who may
export which report version, and what a family member may read. Each test failed before its fix."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from browser.pages_world import PASSWORD, PagesWorld, build
from phqwatch.server.auth import hash_password
from phqwatch.store import people

from .conftest import World, msg

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
RISK_LINE = "Item 9 (thoughts of death or self-harm) has evidence: assess suicide risk promptly."


def _crisis_alert(w: World) -> int:
    r = w.client.post("/api/v1/messages", json=msg(mid="w1", text="I want to end my life"), headers=w.h("service"))
    assert r.status_code == 200, r.text
    return r.json()["crisis_alert_ids"][0]


# ---- 7a. an alert goes only to someone on the patient's care team ------------------------------------------
def test_an_alert_cannot_be_assigned_to_a_clinician_off_the_patients_care_team(world):
    w = world
    alert_id = _crisis_alert(w)  # patient "pat": doc is on the care team, doc2 is not
    url = f"/api/v1/alerts/{alert_id}/assign"
    r = w.client.post(url, json={"assignee_id": w.ids["doc2"]}, headers=w.h("doc"))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == "assignee_id" and str(w.ids["doc2"]) in str(body)
    a = w.client.get(f"/api/v1/alerts/{alert_id}", headers=w.h("doc")).json()
    assert a["assignee_id"] is None and "assigned" not in [h["action"] for h in a["history"]]
    # the admin cannot route around it either
    assert w.client.post(url, json={"assignee_id": w.ids["doc2"]}, headers=w.h("admin")).status_code == 422
    # a clinician on the team, and the organisation's admin, can be assigned
    assert (
        w.client.post(url, json={"assignee_id": w.ids["doc"]}, headers=w.h("doc")).json()["assignee_id"]
        == (w.ids["doc"])
    )
    assert w.client.post(url, json={"assignee_id": w.ids["admin"]}, headers=w.h("doc")).status_code == 200
    # once an admin puts doc2 on the team, the assignment goes through
    with w.ctx.db.write() as s:
        people.assign_clinician(s, w.ids["doc2"], w.ids["pat"])
    r = w.client.post(url, json={"assignee_id": w.ids["doc2"]}, headers=w.h("doc"))
    assert r.status_code == 200 and r.json()["assignee_id"] == w.ids["doc2"]


# ---- 7b. an urgent crisis alert cannot be snoozed for long -------------------------------------------------
def test_a_crisis_alert_cannot_be_snoozed_past_the_configured_cap(world):
    w = world
    assert w.settings.crisis_snooze_max_hours == 4  # the default
    alert_id = _crisis_alert(w)
    url = f"/api/v1/alerts/{alert_id}/snooze"
    now = datetime.now(UTC)
    for until in ("9999-12-31T00:00:00Z", (now + timedelta(hours=4, minutes=5)).isoformat()):
        r = w.client.post(url, json={"until": until}, headers=w.h("doc"))
        assert r.status_code == 422, (until, r.text)
        assert r.json()["field"] == "until" and "4 hours" in r.json()["detail"]
    a = w.client.get(f"/api/v1/alerts/{alert_id}", headers=w.h("doc")).json()
    assert a["status"] == "open" and a["snoozed_until"] is None
    r = w.client.post(url, json={"until": (now + timedelta(hours=3)).isoformat()}, headers=w.h("doc"))
    assert r.status_code == 200 and r.json()["status"] == "snoozed"


def test_the_crisis_snooze_cap_is_configurable(sqlite_url):
    from .conftest import build_world

    w = build_world(sqlite_url, crisis_snooze_max_hours=1)
    try:
        alert_id = _crisis_alert(w)
        url = f"/api/v1/alerts/{alert_id}/snooze"
        two_hours = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        assert w.client.post(url, json={"until": two_hours}, headers=w.h("doc")).status_code == 422
        half_hour = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
        assert w.client.post(url, json={"until": half_hour}, headers=w.h("doc")).status_code == 200
    finally:
        w.client.__exit__(None, None, None)


# ---- 7c and 9: report export and the family view (pages app) -----------------------------------------------
@pytest.fixture
def pages(tmp_path) -> Iterator[PagesWorld]:
    w = build(f"sqlite:///{tmp_path / 'pages.db'}")
    with w.app.state.ctx.db.write() as s:
        org_id = people.get_person(s, w.ids["doc"]).organisation_id
        w.ids["admin"] = people.create_person(
            s, organisation_id=org_id, role="admin", username="admin", password_hash=hash_password(PASSWORD)
        ).id
    yield w
    w.app.state.ctx.db.dispose()


def _login(w: PagesWorld, username: str) -> TestClient:
    c = TestClient(w.app, follow_redirects=False)
    token = CSRF_RE.search(c.get("/login").text).group(1)
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    return c


def _released_report(w: PagesWorld, summary: str) -> tuple[TestClient, str, int]:
    """doc drafts, writes `summary` and family advice, and releases: (doc's client, csrf token, report id)."""
    doc = _login(w, "doc")
    pid = w.ids["pat"]
    token = CSRF_RE.search(doc.get(f"/patients/{pid}").text).group(1)
    r = doc.post(f"/patients/{pid}/reports", data={"csrf_token": token})
    rid = int(r.headers["location"].rsplit("/", 1)[1])
    edit = {"csrf_token": token, "summary": summary, "family_advice": "Invite him for a walk.\nCall us if worried."}
    assert doc.post(f"/patients/{pid}/reports/{rid}/edit", data=edit).status_code == 303
    assert doc.post(f"/patients/{pid}/reports/{rid}/release", data={"csrf_token": token}).status_code == 303
    return doc, token, rid


def test_editors_can_export_the_latest_version_after_a_released_report_is_edited(pages):
    w = pages
    pid = w.ids["pat"]
    doc, token, rid = _released_report(w, "Low mood and poor sleep.")
    edit = {"csrf_token": token, "summary": "Edited after release: better this week."}
    assert doc.post(f"/patients/{pid}/reports/{rid}/edit", data=edit).status_code == 303
    assert doc.get(f"/patients/{pid}/reports/{rid}.json").json()["status"] == "edited"
    for c in (doc, _login(w, "admin")):
        r = c.get(f"/patients/{pid}/reports/{rid}.pdf")
        assert r.status_code == 200, r.text
        assert r.content.startswith(b"%PDF") and 'v4.pdf"' in r.headers["content-disposition"]  # the edit
        assert f"/patients/{pid}/reports/{rid}.pdf" in c.get(f"/patients/{pid}/reports/{rid}").text
    # the family still gets the released version (v3), never the unreleased edit
    r = _login(w, "fam").get(f"/patients/{pid}/reports/{rid}.pdf")
    assert r.status_code == 200 and 'v3.pdf"' in r.headers["content-disposition"]


def test_family_sees_only_the_care_advice_never_the_summary_or_risk_wording(pages):
    w = pages
    pid = w.ids["pat"]
    _, _, rid = _released_report(w, f"Low mood and poor sleep. {RISK_LINE}")
    fam = _login(w, "fam")
    for content in (
        fam.get("/family.json").json()["report"]["content"],
        fam.get(f"/patients/{pid}/reports/{rid}.json").json()["content"],
    ):
        assert content["family_advice"] == ["Invite him for a walk.", "Call us if worried."]
        text = str(content)
        assert "summary" not in content and "Item 9" not in text and "suicide" not in text
        assert "items" not in content and "quotes" not in text and "llm_claims" not in content
    for page in (fam.get("/family").text, fam.get(f"/patients/{pid}/reports/{rid}").text):
        assert "Invite him for a walk." in page
        assert "Item 9" not in page and "suicide risk" not in page and "Low mood" not in page
        assert "I can barely sleep" not in page and 'id="report-summary"' not in page
