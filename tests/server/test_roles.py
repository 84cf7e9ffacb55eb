"""Each role's boundary, proven with real HTTP requests (and the database left unchanged on refusal)."""

from __future__ import annotations

import pytest

from .conftest import msg
from .helpers import snapshot

# who -> expected status for reading patient 'pat' (assigned to doc, linked to fam)
READ_PAT = {
    "admin": 200,
    "doc": 200,
    "doc2": 403,
    "pat": 200,
    "pat2": 403,
    "fam": 403,
    "service": 403,
    "other_admin": 404,
}


@pytest.mark.parametrize("path", ["timeline", "questionnaires", "conversations", "fhir"])
def test_reading_a_patient(sqlite_world, path):
    w = sqlite_world
    url = f"/api/v1/patients/{w.ids['pat']}/{path}"
    got = {who: w.client.get(url, headers=w.h(who)).status_code for who in READ_PAT}
    assert got == READ_PAT


def test_family_never_reads_conversations_even_by_url(sqlite_world):
    w = sqlite_world
    w.client.post("/api/v1/messages", json=msg(mid="s1", text="secret words"), headers=w.h("service"))
    for path in ("conversations", "conversations?include_family=true", "timeline?evidence=true", "estimates/1"):
        r = w.client.get(f"/api/v1/patients/{w.ids['pat']}/{path}", headers=w.h("fam"))
        assert r.status_code == 403 and "secret" not in r.text
    assert w.client.get("/api/v1/alerts", headers=w.h("fam")).status_code == 403


def test_ingestion_is_for_service_and_admin_only(sqlite_world):
    w = sqlite_world
    before = snapshot(w)
    for who in ("doc", "pat", "fam"):
        r = w.client.post("/api/v1/messages", json=msg(mid=f"r-{who}"), headers=w.h(who))
        assert r.status_code == 403, who
    assert snapshot(w) == before
    assert w.client.post("/api/v1/messages", json=msg(mid="ok1"), headers=w.h("service")).status_code == 200
    assert w.client.post("/api/v1/messages", json=msg(mid="ok2"), headers=w.h("admin")).status_code == 200


def test_service_key_can_do_nothing_but_ingest(sqlite_world):
    w = sqlite_world
    for method, url in (
        ("get", "/api/v1/patients"),
        ("get", "/api/v1/alerts"),
        ("get", f"/api/v1/patients/{w.ids['pat']}/timeline"),
        ("get", "/api/v1/people"),
        ("post", f"/api/v1/patients/{w.ids['pat']}/reestimate"),
    ):
        assert getattr(w.client, method)(url, headers=w.h("service")).status_code == 403, url
    # the key cannot log in as a person either
    assert w.client.post("/api/v1/auth/token", data={"username": "", "password": w.api_key}).status_code in (401, 422)


def test_patient_lists_only_themself_and_clinician_only_assigned(sqlite_world):
    w = sqlite_world
    assert [p["id"] for p in w.client.get("/api/v1/patients", headers=w.h("pat")).json()] == [w.ids["pat"]]
    assert [p["id"] for p in w.client.get("/api/v1/patients", headers=w.h("doc")).json()] == [w.ids["pat"]]
    assert {p["id"] for p in w.client.get("/api/v1/patients", headers=w.h("admin")).json()} == {
        w.ids["pat"],
        w.ids["pat2"],
    }
    assert w.client.get("/api/v1/patients", headers=w.h("fam")).status_code == 403


def test_alerts_follow_the_care_team(sqlite_world):
    w = sqlite_world
    w.client.post("/api/v1/messages", json=msg(user="u2", mid="z1", text="I want to die"), headers=w.h("service"))
    (a,) = w.client.get("/api/v1/alerts", headers=w.h("doc2")).json()
    before = snapshot(w)
    assert w.client.post(f"/api/v1/alerts/{a['id']}/acknowledge", headers=w.h("doc")).status_code == 403
    assert w.client.get(f"/api/v1/alerts/{a['id']}", headers=w.h("doc")).status_code == 403
    assert w.client.post(f"/api/v1/alerts/{a['id']}/resolve", headers=w.h("pat2")).status_code == 403
    assert w.client.post(f"/api/v1/alerts/{a['id']}/resolve", headers=w.h("other_admin")).status_code == 404
    assert snapshot(w) == before
    assert w.client.post(f"/api/v1/alerts/{a['id']}/acknowledge", headers=w.h("admin")).status_code == 200


def test_admin_only_administration(sqlite_world):
    w = sqlite_world
    body = {"role": "clinician", "username": "newdoc", "password": "long-enough-password"}
    before = snapshot(w)
    for who in ("doc", "pat", "fam", "service"):
        assert w.client.post("/api/v1/people", json=body, headers=w.h(who)).status_code == 403
    assert snapshot(w) == before
    r = w.client.post("/api/v1/people", json=body, headers=w.h("admin"))
    assert r.status_code == 201
    assert (
        w.client.post(
            "/api/v1/care-team",
            json={"clinician_id": r.json()["id"], "patient_id": w.ids["pat2"]},
            headers=w.h("admin"),
        ).status_code
        == 201
    )
    tok = w.login("newdoc", "long-enough-password")
    assert (
        w.client.get(
            f"/api/v1/patients/{w.ids['pat2']}/timeline", headers={"Authorization": f"Bearer {tok}"}
        ).status_code
        == 200
    )
    assert (
        w.client.get(
            f"/api/v1/patients/{w.ids['pat']}/timeline", headers={"Authorization": f"Bearer {tok}"}
        ).status_code
        == 403
    )
