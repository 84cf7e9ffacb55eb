"""Dashboard pages against a real app and SQLite database: sessions, CSRF, roles, JSON twins, review flow."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from browser.pages_world import FAMILY_LINES, PASSWORD, PagesWorld, build

FORM_RE = re.compile(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", re.S | re.I)
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def world(tmp_path) -> Iterator[PagesWorld]:
    w = build(f"sqlite:///{tmp_path / 'pages.db'}")
    yield w
    w.app.state.ctx.db.dispose()


def client(w: PagesWorld) -> TestClient:
    return TestClient(w.app, follow_redirects=False)


def login(w: PagesWorld, username: str, password: str = PASSWORD) -> TestClient:
    c = client(w)
    page = c.get("/login")
    token = CSRF_RE.search(page.text).group(1)
    r = c.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert r.status_code == 303, r.text
    return c


def csrf_of(html: str) -> str:
    return CSRF_RE.search(html).group(1)


def test_login_sets_httponly_samesite_cookie_and_needs_csrf(world):
    c = client(world)
    page = c.get("/login")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    token = csrf_of(page.text)
    # no CSRF token: refused
    r = c.post("/login", data={"username": "doc", "password": PASSWORD})
    assert r.status_code == 403 and "phqwatch_session" not in r.headers.get("set-cookie", "")
    c.get("/login")  # fresh login CSRF cookie
    token = c.cookies.get("phqwatch_login_csrf")
    r = c.post("/login", data={"username": "doc", "password": "wrong", "csrf_token": token})
    assert r.status_code == 401 and "Wrong username or password" in r.text
    token = c.cookies.get("phqwatch_login_csrf")
    r = c.post("/login", data={"username": "doc", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/caseload"
    cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith("phqwatch_session=")][0].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_unauthenticated_pages_redirect_and_json_twins_401(world):
    c = client(world)
    r = c.get("/caseload")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert c.get("/caseload.json").status_code == 401
    assert c.get("/caseload", headers={"Accept": "application/json"}).status_code == 401


def test_caseload_html_and_json_twin(world):
    c = login(world, "doc")
    page = c.get("/caseload")
    assert page.status_code == 200
    assert "Pat Example" in page.text and "Other Patient" not in page.text  # only assigned patients
    assert "estimated" in page.text and "administered" in page.text
    j = c.get("/caseload.json").json()
    assert j == c.get("/caseload", headers={"Accept": "application/json"}).json()
    (row,) = j["patients"]
    assert row["estimate"]["kind"] == "estimate" and row["estimate"]["interval_low"] < row["estimate"]["value"]
    assert "words of the patient's own messages" in row["estimate"]["basis"]
    assert row["trend"]["direction"] == "up"  # estimates rise 0.8 per 3 days
    assert row["last_administered"]["total"] == 11 and row["last_activity"]
    assert c.get("/caseload.json?band=severe").json()["patients"] == []
    assert c.get("/caseload.json?q=nomatch").json()["shown"] == 0
    assert c.get("/caseload.json?sort=bogus").status_code == 422


def test_patient_page_keeps_family_conversations_apart(world):
    c = login(world, "doc")
    pid = world.ids["pat"]
    j = c.get(f"/patients/{pid}.json").json()
    assert len(j["conversations"]) == 7 and len(j["family_conversations"]) == 1
    assert j["family_conversations"][0]["person"] == "Sam (brother)"
    assert all(e["kind"] == "estimate" for e in [j["latest_estimate"]])
    assert j["timeline"]["administered"][0]["total"] == 11 and len(j["timeline"]["estimates"]) == 6
    html = c.get(f"/patients/{pid}").text
    assert 'id="timeline"' in html and "/static/vendor/chart.umd.min.js" in html
    assert "Family members' conversations (kept apart)" in html
    conv = j["family_conversations"][0]["id"]
    cj = c.get(f"/patients/{pid}/conversations/{conv}.json").json()
    assert cj["conversation"]["by"] == "family" and cj["messages"][0]["text"] == FAMILY_LINES[0]
    # another clinician's patient: refused (HTML page and JSON twin)
    other = world.ids["pat2"]
    assert c.get(f"/patients/{other}").status_code == 403
    assert c.get(f"/patients/{other}.json").status_code == 403


def test_json_twins_use_the_api_schema_of_each_resource(world):
    """One schema per resource: an estimate, an administered PHQ-9, an alert, a patient and a message read
    from a page's JSON twin carry the API's response model, field for field (no `low` vs `interval_low`)."""
    from browser.pages_world import T0
    from phqwatch.server.schemas import (
        AlertOut,
        ConversationMessageOut,
        EstimateOut,
        PatientOut,
        QuestionnaireOut,
    )
    from phqwatch.server.services.ingestion import ingest
    from phqwatch.transcripts.schema import Message

    ctx = world.app.state.ctx
    risk = Message("p1", "p1-risk", "user", "Some nights I wish I could just not wake up.", T0, "p1-risk-0")
    with ctx.db.write() as s:  # a crisis alert on the timeline (the symptom lines raise none)
        org = world.ids["org"]
        ingest(s, ctx.cipher, organisation_id=org, items=[risk], actor_id=None, actor_role="service", ip=None)
    c = login(world, "doc")
    pid = world.ids["pat"]
    page = c.get(f"/patients/{pid}.json").json()
    api = c.get(f"/api/v1/patients/{pid}/timeline").json()
    alerts = c.get(f"/api/v1/alerts?patient_id={pid}&status=open&status=acknowledged&status=resolved").json()
    checks = [
        (EstimateOut, page["timeline"]["estimates"] + [page["latest_estimate"]], api["estimates"]),
        (QuestionnaireOut, page["timeline"]["administered"], api["administered"]),
        (AlertOut, page["timeline"]["alerts"], alerts),
        (PatientOut, [page["patient"]], [api["patient"]]),
    ]
    for model, from_page, from_api in checks:
        assert from_page, model.__name__
        by_id = {r["id"]: r for r in from_api}
        for row in from_page:
            assert set(row) <= set(model.model_fields) and set(model.model_fields) - set(row) <= {"history"}, row
            model.model_validate(row)
            twin = by_id.get(row["id"])
            if twin is not None and model is not PatientOut:  # (a page names the patient with a fallback)
                same = {k for k in row if k not in ("evidence", "history") and row[k] is not None}
                assert {k: row[k] for k in same if k != "window_start" and k != "window_end"} == {
                    k: twin[k] for k in same if k != "window_start" and k != "window_end"
                }, model.__name__
    conv = page["conversations"][0]["id"]
    for m in c.get(f"/patients/{pid}/conversations/{conv}.json").json()["messages"]:
        assert set(m) == set(ConversationMessageOut.model_fields)
    api_conv = c.get(f"/api/v1/patients/{pid}/conversations").json()["patient"][0]["messages"][0]
    assert set(api_conv) == set(ConversationMessageOut.model_fields)


def test_review_flow_and_what_family_and_patient_see(world):
    doc = login(world, "doc")
    pid = world.ids["pat"]
    page = doc.get(f"/patients/{pid}")
    token = csrf_of(page.text)
    # a form post without the CSRF token changes nothing
    assert doc.post(f"/patients/{pid}/reports", data={}).status_code == 403
    assert doc.get(f"/patients/{pid}.json").json()["report"] is None
    r = doc.post(f"/patients/{pid}/reports", data={"csrf_token": token})
    assert r.status_code == 303
    url = r.headers["location"]
    rid = int(url.rsplit("/", 1)[1])
    rep = doc.get(url + ".json").json()
    assert rep["status"] == "draft" and rep["content"]["estimate"]["label"] == "estimated"
    items = {f["number"]: f for f in rep["content"]["items"]}
    assert items[3]["quotes"][0]["text"].startswith("I can barely sleep")
    assert items[3]["criteria"][0]["id"] == "C4"

    fam = login(world, "fam")
    assert fam.get("/family.json").json()["report"] is None  # nothing released yet
    assert fam.get(f"/patients/{pid}/reports/{rid}.json").status_code == 404

    edit = {"csrf_token": token, "summary": "Reviewed by Dr. Doc: low mood and poor sleep.",
            "clinician_note": "Private: check meds.", "patient_notes": "Keep a sleep diary.",
            "family_advice": "Invite him for a walk.\nCall us if worried."}  # fmt: skip
    assert doc.post(f"/patients/{pid}/reports/{rid}/edit", data={**edit, "csrf_token": "forged"}).status_code == 403
    assert doc.post(f"/patients/{pid}/reports/{rid}/edit", data=edit).status_code == 303
    assert doc.post(f"/patients/{pid}/reports/{rid}/release", data={"csrf_token": token}).status_code == 303
    rep = doc.get(url + ".json").json()
    assert rep["status"] == "released" and [v["kind"] for v in rep["versions"]] == ["draft", "edit", "release"]
    assert rep["versions"][1]["author"] == "Dr. Doc"
    assert rep["original_summary"] != rep["content"]["summary"]  # the original draft is kept

    fj = fam.get("/family.json").json()
    assert "summary" not in fj["report"]["content"]  # written for clinicians, never shown to family (issue 12.9)
    assert fj["report"]["content"]["family_advice"] == ["Invite him for a walk.", "Call us if worried."]
    assert "items" not in fj["report"]["content"] and "clinician_note" not in fj["report"]["content"]
    assert "I can barely sleep" not in fam.get("/family").text
    # the family member cannot open the patient's conversations, page or JSON, by URL
    conv = doc.get(f"/patients/{pid}.json").json()["conversations"][0]["id"]
    assert fam.get(f"/patients/{pid}/conversations/{conv}").status_code == 403
    assert fam.get(f"/patients/{pid}/conversations/{conv}.json").status_code == 403
    assert fam.get(f"/patients/{pid}").status_code == 403
    assert fam.get(f"/api/v1/patients/{pid}/timeline").status_code == 403  # the JSON API agrees
    pdf = fam.get(f"/patients/{pid}/reports/{rid}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    pat = login(world, "pat")
    mj = pat.get("/me.json").json()
    assert mj["reports"][0]["content"]["summary"] == edit["summary"]
    assert "clinician_note" not in mj["reports"][0]["content"] and mj["reports"][0]["content"]["items"]
    assert pat.get(f"/patients/{pid}/conversations/{conv}").status_code == 200  # their own
    fconv = doc.get(f"/patients/{pid}.json").json()["family_conversations"][0]["id"]
    assert pat.get(f"/patients/{pid}/conversations/{fconv}.json").status_code == 403  # not the family's
    assert pat.post(f"/patients/{pid}/reports/{rid}/edit", data=edit).status_code == 403


def test_every_post_form_carries_a_csrf_token_and_labels(world):
    doc = login(world, "doc")
    pid = world.ids["pat"]
    token = csrf_of(doc.get(f"/patients/{pid}").text)
    rid = int(doc.post(f"/patients/{pid}/reports", data={"csrf_token": token}).headers["location"].rsplit("/", 1)[1])
    pages = [doc.get(p).text for p in ("/caseload", f"/patients/{pid}", f"/patients/{pid}/reports/{rid}",
                                       f"/patients/{pid}/monthly")]  # fmt: skip
    pages.append(client(world).get("/login").text)
    n = 0
    for html in pages:
        for form in FORM_RE.findall(html):
            n += 1
            assert 'name="csrf_token"' in form
        for m in re.finditer(r'<(?:input|textarea|select)[^>]*id="([^"]+)"', html):
            assert f'for="{m.group(1)}"' in html or "aria-label" in m.group(0), m.group(0)
    assert n >= 6


def test_monthly_analysis_page(world):
    doc = login(world, "doc")
    pid = world.ids["pat"]
    j = doc.get(f"/patients/{pid}/monthly.json?month=2026-03").json()
    assert j["chat_days"] == 7 and j["turns"] == 35 and j["label"] == "estimated"
    assert sum(j["distribution"].values()) == 7
    assert "chatted on 7 of 31 days" in j["summary"]
    assert doc.get(f"/patients/{pid}/monthly?month=2026-03").status_code == 200
    assert doc.get(f"/patients/{pid}/monthly.json?month=march").status_code == 422


def test_static_files_and_vendor_licence(world):
    c = client(world)
    r = c.get("/static/vendor/chart.umd.min.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert c.get("/static/vendor/chart.js.LICENSE.md").status_code == 200
    assert c.get("/static/../pages/routes.py").status_code == 404
