"""Service hardening (issue 12): revocation, login CSRF, out-of-range input, tenancy and strict types.

Each test failed before its fix; the route-table sweeps find the next route that forgets a bound."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from phqwatch.store import jobs, people
from phqwatch.store.tables import AdministeredQuestionnaire

from .conftest import PASSWORD, World, msg
from .helpers import api_routes

HUGE = 2**70
PATH_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def _me(w: World, headers: dict[str, str] | None = None) -> int:
    return w.client.get("/api/v1/auth/me", headers=headers or {}).status_code


def _session(w: World, username: str) -> str:
    r = w.client.post("/api/v1/auth/session", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["csrf_token"]


# ---- 1. logout, password change and disabling revoke every token and session of the person -------------
def test_logout_revokes_every_token_and_session_of_the_person(world):
    w = world
    bearer = {"Authorization": f"Bearer {w.login('doc')}"}
    _session(w, "doc")
    cookie = w.client.cookies.get("phqwatch_session")
    other = w.h("doc2")
    assert _me(w, bearer) == 200 and _me(w) == 200
    assert w.client.post("/api/v1/auth/logout").status_code == 200
    assert _me(w) == 401
    assert _me(w, {"Cookie": f"phqwatch_session={cookie}"}) == 401  # the stolen cookie is dead too
    assert _me(w, bearer) == 401  # and every bearer token of the same person
    assert _me(w, other) == 200  # other people are untouched
    fresh = {"Authorization": f"Bearer {w.login('doc')}"}  # logging in again works at once
    assert _me(w, fresh) == 200
    # a bearer caller's logout revokes too
    assert w.client.post("/api/v1/auth/logout", headers=fresh).status_code == 200
    assert _me(w, fresh) == 401


def test_password_change_revokes_tokens_and_needs_the_current_password(world):
    w = world
    old = {"Authorization": f"Bearer {w.login('pat')}"}
    new_pw = "a-brand-new-passphrase"
    body = {"current_password": "wrong-password", "new_password": new_pw}
    assert w.client.post("/api/v1/auth/password", json=body, headers=old).status_code == 401
    assert _me(w, old) == 200
    body["current_password"] = PASSWORD
    assert w.client.post("/api/v1/auth/password", json=body, headers=old).status_code == 200
    assert _me(w, old) == 401
    r = w.client.post("/api/v1/auth/token", data={"username": "pat", "password": PASSWORD})
    assert r.status_code == 401
    assert _me(w, {"Authorization": f"Bearer {w.login('pat', new_pw)}"}) == 200


def test_disabling_an_account_revokes_its_tokens_even_after_it_is_enabled_again(world):
    w = world
    tok = {"Authorization": f"Bearer {w.login('doc2')}"}
    pid = w.ids["doc2"]
    assert w.client.post(f"/api/v1/people/{pid}/disable", headers=w.h("doc")).status_code == 403
    assert w.client.post(f"/api/v1/people/{pid}/disable", headers=w.h("other_admin")).status_code == 404
    r = w.client.post(f"/api/v1/people/{pid}/disable", headers=w.h("admin"))
    assert r.status_code == 200 and r.json()["active"] is False
    assert _me(w, tok) == 401
    assert w.client.post("/api/v1/auth/token", data={"username": "doc2", "password": PASSWORD}).status_code == 401
    with w.ctx.db.write() as s:  # enabled again (e.g. by a later admin action): the old token stays dead
        people.set_active(s, pid, True)
    assert _me(w, tok) == 401
    assert _me(w, {"Authorization": f"Bearer {w.login('doc2')}"}) == 200


# ---- 2. login CSRF ----------------------------------------------------------------------------------
def test_session_login_refuses_a_foreign_origin(world):
    w = world
    form = {"username": "doc", "password": PASSWORD}
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/login.html"},
        {"Origin": "http://testserver.evil.example"},
    ):
        r = w.client.post("/api/v1/auth/session", data=form, headers=headers)
        assert r.status_code == 403, (headers, r.text)
        assert "phqwatch_session" not in r.headers.get("set-cookie", "")
    ok = w.client.post("/api/v1/auth/session", data=form, headers={"Origin": "http://testserver"})
    assert ok.status_code == 200
    ok = w.client.post("/api/v1/auth/session", data=form, headers={"Referer": "http://testserver/login"})
    assert ok.status_code == 200
    assert w.client.post("/api/v1/auth/session", data=form).status_code == 200  # non-browser clients send neither


# ---- 5. out-of-range values get 4xx, never 500 ---------------------------------------------------------
def _crisis_alert(w: World) -> int:
    r = w.client.post("/api/v1/messages", json=msg(mid="h1", text="I want to end my life"), headers=w.h("service"))
    assert r.status_code == 200, r.text
    return r.json()["crisis_alert_ids"][0]


def _sweep(client: TestClient, app, headers: dict[str, str]) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    """Every route with an integer path parameter, called with 2**70 in each; the 5xx answers."""
    bad = []
    routes = api_routes(app)  # app.routes nests included routers in recent FastAPI
    assert len(routes) > 20
    for route in routes:
        if not PATH_PARAM.search(route.path):
            continue
        path = PATH_PARAM.sub(str(HUGE), route.path)
        for method in route.methods:
            r = client.request(method, path, headers=headers)
            if r.status_code >= 500:
                bad.append((method, route.path, r.status_code))
            elif r.status_code == 422:
                assert "field" in r.text, r.text
    return bad


def test_huge_ids_in_paths_queries_and_bodies_get_4xx_never_500(world):
    w = world
    w.client.raise_server_exceptions = False
    alert_id = _crisis_alert(w)
    assert _sweep(w.client, w.app, w.h("admin")) == []
    for url in (
        f"/api/v1/alerts?patient_id={HUGE}",
        f"/api/v1/admin/audit?patient_id={HUGE}",
        f"/api/v1/patients/{w.ids['pat']}/estimates/{HUGE}",
        f"/api/v1/patients/{-HUGE}/timeline",
    ):
        r = w.client.get(url, headers=w.h("admin"))
        assert r.status_code in (404, 422), (url, r.status_code, r.text)
    posts = (
        ("/api/v1/care-team", {"clinician_id": HUGE, "patient_id": w.ids["pat"]}),
        ("/api/v1/api-keys", {"person_id": HUGE}),
        ("/api/v1/people", {"role": "family", "external_id": "f9", "linked_patient_id": HUGE}),
        (f"/api/v1/alerts/{alert_id}/assign", {"assignee_id": HUGE}),
        ("/api/v1/questionnaires", {"patient_id": HUGE, "date": "2026-01-01", "phq9_total": 5}),
    )
    for url, body in posts:
        r = w.client.post(url, json=body, headers=w.h("admin"))
        assert r.status_code == 422, (url, r.status_code, r.text)
        assert r.json()["detail"][0]["field"].startswith("body."), r.text


@pytest.fixture
def pages_client(world) -> Iterator[TestClient]:
    """The same database behind an app with the dashboard pages mounted."""
    from phqwatch.server import create_app

    from .tiny_model import fitted

    app = create_app(world.settings, model=fitted(), migrate=False, pages=True)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_page_routes_with_huge_ids_and_out_of_range_months_never_500(world, pages_client):
    w, c = world, pages_client
    r = c.post("/api/v1/auth/session", data={"username": "admin", "password": PASSWORD})
    assert r.status_code == 200
    pid = w.ids["pat"]
    for month in ("9999-12", "0001-01", "1899-12", "10000-01", "2026-13"):
        r = c.get(f"/patients/{pid}/monthly.json", params={"month": month})
        assert r.status_code == 422, (month, r.status_code, r.text)
        assert r.json()["field"] == "month"
    assert c.get(f"/patients/{pid}/monthly.json", params={"month": "2026-01"}).status_code == 200
    assert c.get("/caseload.json", params={"page": HUGE}).status_code < 500
    assert _sweep(c, c.app, {}) == []  # every page and API route, signed in by the session cookie


def test_a_non_ascii_api_key_is_refused_with_401(world):
    w = world
    w.client.raise_server_exceptions = False
    key = (w.api_key + "é").encode("utf-8")
    r = w.client.post("/api/v1/messages", json=msg(mid="n1"), headers={"X-API-Key": key})
    assert r.status_code == 401, r.text
    r = w.client.post("/api/v1/messages", json=msg(mid="n1"), headers={"Authorization": b"ApiKey phq_\xc3\xa9.x"})
    assert r.status_code == 401, r.text


def test_a_naive_snooze_time_is_read_as_utc(world):
    w = world
    w.client.raise_server_exceptions = False
    alert_id = _crisis_alert(w)
    until = (datetime.now(UTC) + timedelta(hours=2)).replace(tzinfo=None, microsecond=0)
    r = w.client.post(f"/api/v1/alerts/{alert_id}/snooze", json={"until": until.isoformat()}, headers=w.h("doc"))
    assert r.status_code == 200, r.text
    assert r.json()["snoozed_until"].startswith(until.isoformat())


@pytest.mark.parametrize("when", ["9999-12-31T00:00:00Z", "1899-12-31T23:00:00Z", "FUTURE"])
def test_message_and_questionnaire_dates_out_of_range_get_422_naming_the_field(world, when):
    w = world
    if when == "FUTURE":
        when = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    r = w.client.post("/api/v1/messages", json=msg(mid="d1", ts=when), headers=w.h("service"))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.timestamp", r.text
    r = w.client.post("/api/v1/messages/batch", json={"messages": [msg(mid="d2", ts=when)]}, headers=w.h("service"))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.messages[0].timestamp", r.text
    for date in (when, when[:10]):
        body = {"user_id": "u1", "date": date, "phq9_total": 5}
        r = w.client.post("/api/v1/questionnaires", json=body, headers=w.h("service"))
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.date", (date, r.text)
    soon = (datetime.now(UTC) + timedelta(hours=12)).isoformat()  # clock skew within a day is fine
    assert w.client.post("/api/v1/messages", json=msg(mid="d3", ts=soon), headers=w.h("service")).status_code == 200
    body = {"user_id": "u1", "date": "1900-01-01", "phq9_total": 5}
    assert w.client.post("/api/v1/questionnaires", json=body, headers=w.h("service")).status_code == 201


# ---- 6. tenancy -------------------------------------------------------------------------------------
def test_job_stats_show_only_the_callers_organisation(world):
    w = world
    w.client.post("/api/v1/messages", json=msg(mid="j1", text="a quiet day"), headers=w.h("service"))
    with w.ctx.db.read() as s:
        assert jobs.stats(s)  # organisation 1 has a queued job
    assert w.client.get("/api/v1/admin/jobs", headers=w.h("other_admin")).json() == {}
    assert w.client.get("/api/v1/admin/jobs", headers=w.h("admin")).json() == {"queued": 1}


# ---- 7. strict types --------------------------------------------------------------------------------
def test_numeric_request_fields_are_strict(world):
    w = world
    for bad in ({"phq9_total": True}, {"phq9_total": "5"}, {"phq9_total": 5.0}, {"items": [True] * 9}):
        body = {"user_id": "u1", "date": "2026-01-01", **bad}
        r = w.client.post("/api/v1/questionnaires", json=body, headers=w.h("service"))
        assert r.status_code == 422, (bad, r.text)
    body = {"patient_id": True, "date": "2026-01-01", "phq9_total": 5}
    assert w.client.post("/api/v1/questionnaires", json=body, headers=w.h("admin")).status_code == 422
    r = w.client.post("/api/v1/care-team", json={"clinician_id": True, "patient_id": 1}, headers=w.h("admin"))
    assert r.status_code == 422
    with w.ctx.db.read() as s:
        assert s.scalars(select(AdministeredQuestionnaire)).all() == []
    ok = {"user_id": "u1", "date": "2026-01-01", "phq9_total": 5}
    assert w.client.post("/api/v1/questionnaires", json=ok, headers=w.h("service")).json()["total"] == 5
