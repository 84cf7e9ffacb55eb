"""The audit trail: every read of health data names its patients, every denial leaves a "denied" row."""

from __future__ import annotations

from sqlalchemy import select

from browser.pages_world import build
from phqwatch.store.tables import AuditEntry

from .test_pages import client, login


def _rows(w, **where) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    q = select(AuditEntry).order_by(AuditEntry.id)
    for k, v in where.items():
        q = q.where(getattr(AuditEntry, k) == v)
    with w.ctx.db.read() as s:
        return list(s.scalars(q))


def test_listing_patients_is_audited_once_per_patient_listed(sqlite_world):
    w = sqlite_world
    listed = w.client.get("/api/v1/patients", headers=w.h("admin")).json()
    rows = _rows(w, resource="patient_list")
    assert (
        sorted(r.patient_id for r in rows) == sorted(p["id"] for p in listed) == sorted([w.ids["pat"], w.ids["pat2"]])
    )
    assert {(r.actor_id, r.action, r.details["outcome"]) for r in rows} == {(w.ids["admin"], "read", "allowed")}


def test_a_403_leaves_one_denied_row_naming_actor_patient_and_route(sqlite_world):
    w = sqlite_world
    assert w.client.get(f"/api/v1/patients/{w.ids['pat']}/timeline", headers=w.h("doc2")).status_code == 403
    (row,) = _rows(w, resource="timeline")
    assert (row.actor_id, row.actor_role, row.patient_id, row.action) == (
        w.ids["doc2"],
        "clinician",
        w.ids["pat"],
        "read",
    )
    assert row.details["outcome"] == "denied" and row.details["status"] == 403
    assert row.details["route"] == "/api/v1/patients/{patient_id}/timeline"
    # refused by role before any patient check: the patient comes from the path
    assert w.client.get(f"/api/v1/patients/{w.ids['pat']}/fhir", headers=w.h("fam")).status_code == 403
    (fhir,) = _rows(w, resource="fhir_bundle")
    assert (fhir.actor_id, fhir.patient_id, fhir.details["outcome"]) == (w.ids["fam"], w.ids["pat"], "denied")
    assert w.client.get("/api/v1/patients", headers=w.h("service")).status_code == 403
    (listing,) = _rows(w, resource="list_patients")
    assert (listing.actor_id, listing.patient_id, listing.details["outcome"]) == (w.ids["service"], None, "denied")


def test_a_404_hiding_another_organisations_patient_is_audited_there(sqlite_world):
    w = sqlite_world
    r = w.client.get(f"/api/v1/patients/{w.ids['other_pat']}/timeline", headers=w.h("admin"))
    assert r.status_code == 404
    (row,) = _rows(w, resource="timeline")
    with w.ctx.db.read() as s:
        from phqwatch.store.tables import Person

        other_org = s.get(Person, w.ids["other_pat"]).organisation_id
    assert (row.actor_id, row.patient_id, row.organisation_id) == (w.ids["admin"], w.ids["other_pat"], other_org)
    assert (row.details["outcome"], row.details["reason"], row.details["status"]) == (
        "denied",
        "other_organisation",
        404,
    )
    # a plain "no such patient" hides nobody: no row
    assert w.client.get("/api/v1/patients/987654/timeline", headers=w.h("admin")).status_code == 404
    assert len(_rows(w, resource="timeline")) == 1


def test_a_failed_login_is_audited_with_the_client_address_and_no_username(sqlite_world):
    w = sqlite_world
    w.client.post("/api/v1/auth/token", data={"username": "nobody-here", "password": "x"})
    (row,) = _rows(w, action="login")
    assert (row.actor_id, row.actor_role, row.ip, row.details["outcome"]) == (None, "anonymous", "testclient", "denied")
    assert "nobody" not in str(row.resource_id) + str(row.details)


def test_pages_audit_the_caseload_per_patient_shown_and_page_denials(tmp_path):
    w = build(f"sqlite:///{tmp_path / 'pages.db'}", n_extra_patients=3)
    try:
        c = login(w, "doc")
        shown = [p["id"] for p in c.get("/caseload.json").json()["patients"]]
        with w.app.state.ctx.db.read() as s:
            rows = list(s.scalars(select(AuditEntry).where(AuditEntry.resource == "caseload")))
        assert shown and sorted(r.patient_id for r in rows) == sorted(shown)  # never a NULL-patient row
        fam = login(w, "fam")
        assert fam.get(f"/patients/{w.ids['pat']}").status_code == 403  # the HTML error page
        assert fam.get(f"/patients/{w.ids['pat']}.json").status_code == 403  # the JSON twin
        with w.app.state.ctx.db.read() as s:
            denied = [r for r in s.scalars(select(AuditEntry)) if r.details.get("outcome") == "denied"]
        assert [(r.actor_id, r.patient_id, r.resource) for r in denied] == [
            (w.ids["fam"], w.ids["pat"], "patient"),
            (w.ids["fam"], w.ids["pat"], "patient_json"),
        ]
        assert client(w).get("/caseload").status_code == 303  # anonymous: sent to log in, nothing audited
    finally:
        w.app.state.ctx.db.dispose()


def test_no_read_of_health_data_is_ever_audited_without_a_patient(sqlite_world):
    w = sqlite_world
    pat = w.ids["pat"]
    for who in ("admin", "doc", "pat"):
        for path in ("/api/v1/patients", f"/api/v1/patients/{pat}/timeline", f"/api/v1/patients/{pat}/conversations"):
            assert w.client.get(path, headers=w.h(who)).status_code == 200
    assert w.client.get("/api/v1/alerts", headers=w.h("doc")).status_code == 200
    reads = _rows(w, action="read")
    assert reads and all(r.patient_id is not None for r in reads)
    assert all(r.details.get("outcome") in ("allowed", "denied") for r in _rows(w))


def test_an_admin_reaching_for_another_organisations_person_is_audited_as_denied(sqlite_world):
    w = sqlite_world
    r = w.client.post(f"/api/v1/people/{w.ids['other_admin']}/disable", headers=w.h("admin"))
    assert r.status_code == 404
    r = w.client.post(
        "/api/v1/care-team", json={"clinician_id": w.ids["doc"], "patient_id": w.ids["other_pat"]}, headers=w.h("admin")
    )
    assert r.status_code == 404
    denied = [row for row in _rows(w, actor_id=w.ids["admin"]) if row.details.get("outcome") == "denied"]
    assert len(denied) == 2
    assert {row.patient_id for row in denied} == {None, w.ids["other_pat"]}
    assert all(row.details["reason"] == "other_organisation" for row in denied)
    # the other organisation's admin is still active
    with w.ctx.db.read() as s:
        from phqwatch.store.tables import Person

        assert s.get(Person, w.ids["other_admin"]).active
