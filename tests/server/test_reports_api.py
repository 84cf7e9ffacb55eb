"""The report workflow through the JSON API, against a real app and SQLite database: draft -> edit -> release
by a clinician, what patients and family members read (released versions, projected), refusals by role and
of another organisation's patient (each one audited), and the page's JSON twin answering the same report."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from browser.pages_world import PASSWORD, T0, PagesWorld, build
from phqwatch.reports.review import EDITOR_ROLES
from phqwatch.server.schemas import ReportOut
from phqwatch.store.tables import AuditEntry

from .test_pages import login

EDIT = {
    "summary": "Reviewed by Dr. Doc: low mood and poor sleep.",
    "clinician_note": "Private: check meds.",
    "patient_notes": ["Keep a sleep diary."],
    "family_advice": ["Invite him for a walk.", "Call us if worried."],
    "note": "first review",
}
#: What family members may read of a released report (`reports.review.project`), and what patients never do.
FAMILY_KEYS = {"schema", "patient", "family_advice", "crisis_line", "generated_at", "estimate", "basis"}
NOT_FOR_PATIENTS = {"clinician_note", "llm_claims", "family_observations"}
EDITOR_ONLY = {"versions", "original_summary", "changed_since_draft"}


@pytest.fixture
def world(tmp_path) -> Iterator[PagesWorld]:
    """The pages' world (pages on, family conversations, estimates with evidence) plus another organisation
    with an admin, and a patient of theirs with an estimate and a drafted report."""
    from phqwatch.server.auth import hash_password
    from phqwatch.store import estimates, people

    w = build(f"sqlite:///{tmp_path / 'reports.db'}")
    ctx = w.app.state.ctx
    with ctx.db.write() as s:
        w.ids["admin"] = people.create_person(
            s, organisation_id=w.ids["org"], role="admin", username="admin", password_hash=hash_password(PASSWORD)
        ).id
        other = people.create_organisation(s, "other", "Other clinic").id
        w.ids["other_org"] = other
        w.ids["other_admin"] = people.create_person(
            s, organisation_id=other, role="admin", username="other_admin", password_hash=hash_password(PASSWORD)
        ).id
        w.ids["other_pat"] = people.create_person(s, organisation_id=other, role="patient", external_id="p1").id
        estimates.add_estimate(
            s, ctx.cipher, organisation_id=other, patient_id=w.ids["other_pat"], model_name="lexical",
            model_version="1.0", window_start=T0 - timedelta(days=14), window_end=T0, status="ok", value=12.0,
            band="moderate", n_user_words=500, n_messages=20,
        )  # fmt: skip
    w.ids["other_report"] = _api(w, "other_admin").post(f"/api/v1/patients/{w.ids['other_pat']}/reports").json()["id"]
    yield w
    ctx.db.dispose()


def _api(w: PagesWorld, username: str) -> TestClient:
    """A client of the JSON API holding `username`'s bearer token."""
    c = TestClient(w.app)
    r = c.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return c


def _audit(w: PagesWorld, **where) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    q = select(AuditEntry).order_by(AuditEntry.id)
    for k, v in where.items():
        q = q.where(getattr(AuditEntry, k) == v)
    with w.app.state.ctx.db.read() as s:
        return list(s.scalars(q))


def _denied(w: PagesWorld) -> list[AuditEntry]:
    return [r for r in _audit(w) if r.details.get("outcome") == "denied"]


def _as_model(body: dict, role: str) -> None:
    """The body is the document's `ReportOut`, with the editor-only fields exactly when the role is an editor."""
    ReportOut.model_validate(body)
    assert (EDITOR_ONLY <= set(body)) if role in EDITOR_ROLES else not (EDITOR_ONLY & set(body)), sorted(body)


def test_draft_edit_release_by_api_and_patient_and_family_read_the_released_projection(world):
    doc, pat, fam = (_api(world, u) for u in ("doc", "pat", "fam"))
    pid = world.ids["pat"]
    base = f"/api/v1/patients/{pid}/reports"

    r = doc.post(base)
    assert r.status_code == 201, r.text
    draft = r.json()
    _as_model(draft, "clinician")
    rid = draft["id"]
    assert (draft["patient_id"], draft["status"], draft["released_at"]) == (pid, "draft", None)
    assert (draft["version"]["number"], draft["version"]["kind"]) == (1, "draft")
    assert draft["content"]["estimate"]["label"] == "estimated" and draft["content"]["family_observations"]
    # nothing released: patients and family members see no report, by list, detail or PDF
    for reader in (pat, fam):
        assert reader.get(base).json() == []
        assert reader.get(f"{base}/{rid}").status_code == 404
        assert reader.get(f"{base}/{rid}/pdf").status_code == 404

    r = doc.post(f"{base}/{rid}/edits", json=EDIT)
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["status"] == "edited" and [v["kind"] for v in edited["versions"]] == ["draft", "edit"]
    assert edited["versions"][1]["author"] == "Dr. Doc" and edited["versions"][1]["note"] == "first review"
    assert edited["original_summary"] == draft["content"]["summary"] != edited["content"]["summary"]
    assert set(edited["changed_since_draft"]) == {"summary", "clinician_note", "patient_notes", "family_advice"}
    # an edit that changes nothing, or touches what the draft fixed, is refused and stores nothing
    assert doc.post(f"{base}/{rid}/edits", json={"summary": EDIT["summary"]}).status_code == 422
    assert doc.post(f"{base}/{rid}/edits", json={}).status_code == 422
    assert doc.post(f"{base}/{rid}/edits", json={"items": []}).status_code == 422
    assert pat.get(base).json() == []  # an edit is not a release

    r = doc.post(f"{base}/{rid}/release", json={"note": "ok to share"})
    assert r.status_code == 200, r.text
    released = r.json()
    assert released["status"] == "released" and released["released_at"] and released["version"]["number"] == 3
    assert doc.post(f"{base}/{rid}/release").status_code == 422  # already released: edit first

    # a later edit stays the clinicians' until released: readers keep the released version
    assert doc.post(f"{base}/{rid}/edits", json={"summary": "Unreleased wording."}).status_code == 200
    (mine,) = pat.get(base).json()
    _as_model(mine, "patient")
    assert mine == pat.get(f"{base}/{rid}").json()
    assert (mine["version"]["kind"], mine["version"]["number"], mine["status"]) == ("release", 3, "edited")
    assert mine["content"]["summary"] == EDIT["summary"] and mine["content"]["items"]
    assert not NOT_FOR_PATIENTS & set(mine["content"])

    (theirs,) = fam.get(base).json()
    _as_model(theirs, "family")
    assert theirs == fam.get(f"{base}/{rid}").json() and theirs["version"]["number"] == 3
    assert set(theirs["content"]) <= FAMILY_KEYS and theirs["content"]["family_advice"] == EDIT["family_advice"]
    assert "I can barely sleep" not in str(theirs)

    for reader, who in ((fam, "family"), (doc, "clinician")):
        pdf = reader.get(f"{base}/{rid}/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), who
        assert pdf.headers["content-type"] == "application/pdf" and pdf.headers["cache-control"] == "no-store"
        assert f"phqwatch-report-{rid}-v" in pdf.headers["content-disposition"]

    changes = [(r.action, r.details["kind"]) for r in _audit(world, resource="report", patient_id=pid)
               if r.action != "read"]  # fmt: skip
    assert changes == [("create", "draft"), ("update", "edit"), ("update", "release"), ("update", "edit")]
    reads = [r for r in _audit(world, resource="report", action="read") if r.details["outcome"] == "allowed"]
    assert reads and {(r.patient_id, r.resource_id) for r in reads} == {(pid, str(rid))}
    assert not any(r.details.get("via") == "page" for r in reads)  # read through the API
    assert {r.actor_id for r in _audit(world, resource="reports")} == {world.ids["pat"], world.ids["fam"]}
    assert not _denied(world)


def test_role_refusals_are_403_and_audited_as_denied(world):
    pid = world.ids["pat"]
    base = f"/api/v1/patients/{pid}/reports"
    doc, doc2, pat, fam = (_api(world, u) for u in ("doc", "doc2", "pat", "fam"))
    rid = doc.post(base).json()["id"]
    refusals = [
        (pat, "post", base, "pat"),  # patients and family members never draft, edit or release
        (fam, "post", base, "fam"),
        (pat, "post", f"{base}/{rid}/edits", "pat"),
        (fam, "post", f"{base}/{rid}/release", "fam"),
        (doc2, "get", base, "doc2"),  # a clinician off the care team
        (doc2, "get", f"{base}/{rid}", "doc2"),
        (doc2, "post", f"{base}/{rid}/release", "doc2"),
        (fam, "get", f"/api/v1/patients/{world.ids['pat2']}/reports", "fam"),  # not their linked patient
    ]
    for client, method, path, who in refusals:
        before = len(_denied(world))
        kwargs = {"json": {"summary": "x"}} if path.endswith("/edits") else {}
        r = getattr(client, method)(path, **kwargs)
        assert r.status_code == 403, (who, method, path, r.text)
        new = _denied(world)[before:]
        assert [(d.actor_id, d.details["status"]) for d in new] == [(world.ids[who], 403)], (who, path)
        assert new[0].patient_id in (pid, world.ids["pat2"])
    # nothing changed: the report is still the machine draft
    assert [v["kind"] for v in doc.get(f"{base}/{rid}").json()["versions"]] == ["draft"]


def test_another_organisations_patient_is_404_and_audited_in_that_organisation(world):
    other, rid = world.ids["other_pat"], world.ids["other_report"]
    base = f"/api/v1/patients/{other}/reports"
    probes = [("get", base), ("post", base), ("get", f"{base}/{rid}"), ("get", f"{base}/{rid}/pdf"),
              ("post", f"{base}/{rid}/edits"), ("post", f"{base}/{rid}/release")]  # fmt: skip
    for who in ("admin", "doc"):
        client = _api(world, who)
        for method, path in probes:
            before = len(_denied(world))
            kwargs = {"json": {"summary": "probe"}} if path.endswith("/edits") else {}
            r = getattr(client, method)(path, **kwargs)
            assert r.status_code == 404 and str(other) in r.json()["detail"], (who, method, path, r.text)
            (row,) = _denied(world)[before:]
            assert (row.actor_id, row.patient_id, row.organisation_id) == (
                world.ids[who],
                other,
                world.ids["other_org"],
            )
            assert (row.details["reason"], row.details["status"]) == ("other_organisation", 404)
        # the other organisation's report id under one's own patient: no such report here, and no leak
        r = client.get(f"/api/v1/patients/{world.ids['pat']}/reports/{rid}")
        assert r.status_code == 404 and "probe" not in r.text
    mine = _api(world, "other_admin").get(f"{base}/{rid}").json()
    assert [v["kind"] for v in mine["versions"]] == ["draft"]  # untouched


def test_the_page_json_twin_and_the_api_answer_the_same_report(world):
    pid = world.ids["pat"]
    base = f"/api/v1/patients/{pid}/reports"
    api = {u: _api(world, u) for u in ("doc", "pat", "fam")}
    page = {u: login(world, u) for u in ("doc", "pat", "fam")}
    rid = api["doc"].post(base).json()["id"]

    def same(who: str) -> dict:
        by_api = api[who].get(f"{base}/{rid}").json()
        assert page[who].get(f"/patients/{pid}/reports/{rid}.json").json() == by_api, who
        return by_api

    assert same("doc")["status"] == "draft"
    assert page["doc"].get(f"/patients/{pid}.json").json()["report"] == api["doc"].get(base).json()[0]
    api["doc"].post(f"{base}/{rid}/edits", json=EDIT)
    api["doc"].post(f"{base}/{rid}/release")
    assert same("doc")["status"] == "released"
    assert same("pat")["version"]["kind"] == same("fam")["version"]["kind"] == "release"
    assert page["pat"].get("/me.json").json()["reports"] == api["pat"].get(base).json()
    assert page["fam"].get("/family.json").json()["report"] == api["fam"].get(base).json()[0]
    # the PDF export: the same file name either way
    by_page = page["fam"].get(f"/patients/{pid}/reports/{rid}.pdf")
    by_api = api["fam"].get(f"{base}/{rid}/pdf")
    assert by_page.headers["content-disposition"] == by_api.headers["content-disposition"]
