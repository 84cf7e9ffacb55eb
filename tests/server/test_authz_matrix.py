"""The authorization matrix, generated from the app's route table: every API route x every role x target.

Roles: admin, clinician, patient, family, service (API key) and anonymous. Targets: the caller's own
patient (`own`: the clinician's assigned patient, the patient themself, the family member's linked
patient, any patient of the admin's or service's organisation), another patient of the same organisation
(`same_org`) and a patient of another organisation (`other_org`); `none` for routes about no patient.

Every route must have a rule in RULES: a new route without one fails here. A rule says which roles pass
the role gate and how the target is then checked; `expected` turns that into the status to see. Every
403, and every 404 that hides another organisation's patient, must leave exactly one audit row with
outcome "denied"; an allowed request leaves none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from sqlalchemy import func, select

from phqwatch.store.tables import AuditEntry

from .conftest import PASSWORD, World, build_world, msg
from .helpers import api_routes

ROLES = ("admin", "clinician", "patient", "family", "service", "anonymous")
#: The login behind each role (service uses the API key; anonymous sends nothing).
ACTOR = {"admin": "admin", "clinician": "doc", "patient": "pat", "family": "fam", "service": "service"}
PUBLIC = "public"

#: After the role gate, which targets each role may reach, per kind of check.
MAY = {
    # a patient's clinical data (server.auth.check_patient_access, scope "clinical")
    "clinical": {"admin": {"own", "same_org"}, "clinician": {"own"}, "patient": {"own"}},
    # what a patient's released reports let their reader see (scope "released": family members too)
    "released": {"admin": {"own", "same_org"}, "clinician": {"own"}, "patient": {"own"}, "family": {"own"}},
    # adding data for a patient (scope "ingest")
    "ingest": {"admin": {"own", "same_org"}, "clinician": {"own"}, "service": {"own", "same_org"}},
    # an admin's work on people and resources of their own organisation
    "org": {"admin": {"own", "same_org"}},
    # a person of the admin's organisation (people, care teams, API keys)
    "org_person": {"admin": {"own", "same_org"}},
    # the caller's own chat conversation
    "self": {"patient": {"own"}, "family": {"own"}},
}
#: How a target the role may not reach is refused: 403, or 404 where even its existence is hidden.
REFUSED_AS = {"clinical": 403, "released": 403, "ingest": 403, "org": 404, "org_person": 404, "self": 404}
#: Kinds of check whose 404 for another's record hides a person or their conversation (audited as a denial).
HIDES_PATIENT = {"clinical", "released", "ingest", "org_person", "self"}


@dataclass(frozen=True)
class Rule:
    """roles: who passes the role gate (None: any authenticated caller; PUBLIC: no authentication).
    ok: the statuses that mean "allowed". access: how the target is checked (a key of MAY).
    targets: the targets to try. call(seed, role, target) -> (url, keyword arguments for the request)."""

    roles: tuple[str, ...] | None | str
    ok: frozenset[int]
    call: Callable[[dict, str, str], tuple[str, dict]]
    access: str | None = None
    targets: tuple[str, ...] = ("none",)


def expected(rule: Rule, role: str, target: str) -> frozenset[int]:
    if rule.roles == PUBLIC:
        return rule.ok
    if role == "anonymous":
        return frozenset({401})
    if rule.roles is not None and role not in rule.roles:
        return frozenset({403})
    if rule.access is None or target == "none":
        return rule.ok
    if target == "other_org":
        return frozenset({404})
    if target in MAY[rule.access].get(role, set()):
        return rule.ok
    return frozenset({REFUSED_AS[rule.access]})


def ok(*codes: int) -> frozenset[int]:
    return frozenset(codes)


PATIENT_TARGETS = ("own", "same_org", "other_org")
CLIN = ("admin", "clinician")


def url(path: str) -> Callable[[dict, str, str], tuple[str, dict]]:
    """A call whose URL is `path` formatted with the seed, the role's own ids and the target's ids."""
    return lambda seed, role, target: (path.format(**seed["by"][role, target]), {})


def body(path: str, make: Callable[[dict, str, str], dict], kind: str = "json") -> Callable:
    return lambda seed, role, target: (path.format(**seed["by"][role, target]), {kind: make(seed, role, target)})


def _unique(prefix: str) -> str:
    _unique.n = getattr(_unique, "n", 0) + 1  # type: ignore[attr-defined]
    return f"{prefix}{_unique.n}"  # type: ignore[attr-defined]


RP = "/api/v1/patients/{patient_id}"  # route paths (the keys)
P = "/api/v1/patients/{patient}"  # request URLs


def _snooze(*_: Any) -> dict:
    return {"until": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}


def _webhook(*_: Any) -> dict:
    return {"kind": "webhook", "target": "http://127.0.0.1:9/h"}


A = "/api/v1/alerts/{alert}"
R = P + "/reports/{report}"
READERS = ("admin", "clinician", "patient", "family")
C = "/api/v1/conversations/{conversation}"
RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/api/v1/health"): Rule(PUBLIC, ok(200), url("/api/v1/health")),
    # an empty form: no credentials are checked, so any caller gets 422
    ("POST", "/api/v1/auth/token"): Rule(PUBLIC, ok(422), body("/api/v1/auth/token", lambda *_: {}, "data")),
    ("POST", "/api/v1/auth/session"): Rule(PUBLIC, ok(422), body("/api/v1/auth/session", lambda *_: {}, "data")),
    ("POST", "/api/v1/auth/logout"): Rule(PUBLIC, ok(200), url("/api/v1/auth/logout")),
    # a too-short new password: past the authentication gate, refused as input (never checked)
    ("POST", "/api/v1/auth/password"): Rule(
        None, ok(422), body("/api/v1/auth/password", lambda *_: {"current_password": "x", "new_password": "short"})
    ),
    ("GET", "/api/v1/auth/me"): Rule(None, ok(200), url("/api/v1/auth/me")),
    ("POST", "/api/v1/messages"): Rule(
        ("service", "admin"), ok(200), body("/api/v1/messages", lambda *_: msg(mid=_unique("m"), text="a quiet day"))
    ),
    ("POST", "/api/v1/messages/batch"): Rule(
        ("service", "admin"),
        ok(200),
        body("/api/v1/messages/batch", lambda *_: {"messages": [msg(mid=_unique("b"), text="fine")]}),
    ),
    ("POST", "/api/v1/questionnaires"): Rule(
        ("service", "admin", "clinician"),
        ok(201),
        body(
            "/api/v1/questionnaires",
            lambda seed, r, t: {"patient_id": seed["by"][r, t]["patient"], "date": "2026-01-05", "phq9_total": 9},
        ),
        "ingest",
        PATIENT_TARGETS,
    ),
    ("GET", "/api/v1/patients"): Rule(("admin", "clinician", "patient"), ok(200), url("/api/v1/patients")),
    ("GET", RP + "/timeline"): Rule(None, ok(200), url(P + "/timeline"), "clinical", PATIENT_TARGETS),
    ("GET", RP + "/estimates/{estimate_id}"): Rule(
        None, ok(200), url(P + "/estimates/{estimate}"), "clinical", PATIENT_TARGETS
    ),
    ("GET", RP + "/questionnaires"): Rule(None, ok(200), url(P + "/questionnaires"), "clinical", PATIENT_TARGETS),
    ("GET", RP + "/conversations"): Rule(None, ok(200), url(P + "/conversations"), "clinical", PATIENT_TARGETS),
    ("POST", RP + "/reestimate"): Rule(CLIN, ok(202), url(P + "/reestimate"), "clinical", PATIENT_TARGETS),
    ("GET", RP + "/fhir"): Rule(
        ("admin", "clinician", "patient"), ok(200), url(P + "/fhir"), "clinical", PATIENT_TARGETS
    ),
    # reports: the seeded ones are released, so their readers get 200; releasing one again is a workflow 422
    ("GET", RP + "/reports"): Rule(READERS, ok(200), url(P + "/reports"), "released", PATIENT_TARGETS),
    ("GET", RP + "/reports/{report_id}"): Rule(READERS, ok(200), url(R), "released", PATIENT_TARGETS),
    ("GET", RP + "/reports/{report_id}/pdf"): Rule(READERS, ok(200), url(R + "/pdf"), "released", PATIENT_TARGETS),
    ("POST", RP + "/reports"): Rule(CLIN, ok(201), url(P + "/reports"), "clinical", PATIENT_TARGETS),
    ("POST", RP + "/reports/{report_id}/edits"): Rule(
        CLIN, ok(200), body(R + "/edits", lambda *_: {"summary": _unique("Reviewed ")}), "clinical", PATIENT_TARGETS
    ),
    ("POST", RP + "/reports/{report_id}/release"): Rule(
        CLIN, ok(200, 422), url(R + "/release"), "clinical", PATIENT_TARGETS
    ),
    ("GET", "/api/v1/alerts"): Rule(
        CLIN,
        ok(200),
        lambda seed, r, t: url("/api/v1/alerts" + ("" if t == "none" else "?patient_id={patient}"))(seed, r, t),
        "clinical",
        ("none", *PATIENT_TARGETS),
    ),
    ("GET", "/api/v1/alerts/{alert_id}"): Rule(CLIN, ok(200), url(A), "clinical", PATIENT_TARGETS),
    # alert actions: 409 or 422 is a workflow refusal (e.g. resolving a resolved alert), past every access check
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): Rule(
        CLIN, ok(200, 409, 422), url(A + "/acknowledge"), "clinical", PATIENT_TARGETS
    ),
    ("POST", "/api/v1/alerts/{alert_id}/assign"): Rule(
        CLIN,
        ok(200, 409, 422),
        body(A + "/assign", lambda seed, r, t: {"assignee_id": seed["by"][r, t]["carer"]}),
        "clinical",
        PATIENT_TARGETS,
    ),
    ("POST", "/api/v1/alerts/{alert_id}/snooze"): Rule(
        CLIN,
        ok(200, 409, 422),
        body(A + "/snooze", _snooze),
        "clinical",
        PATIENT_TARGETS,
    ),
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): Rule(
        CLIN, ok(200, 409, 422), url(A + "/resolve"), "clinical", PATIENT_TARGETS
    ),
    ("POST", "/api/v1/alerts/{alert_id}/reopen"): Rule(
        CLIN, ok(200, 409, 422), url(A + "/reopen"), "clinical", PATIENT_TARGETS
    ),
    ("POST", "/api/v1/people"): Rule(
        ("admin",), ok(201), body("/api/v1/people", lambda *_: {"role": "patient", "external_id": _unique("x")})
    ),
    ("GET", "/api/v1/people"): Rule(("admin",), ok(200), url("/api/v1/people")),
    ("POST", "/api/v1/people/{person_id}/disable"): Rule(
        ("admin",), ok(200), url("/api/v1/people/{spare}/disable"), "org_person", PATIENT_TARGETS
    ),
    ("POST", "/api/v1/care-team"): Rule(
        ("admin",),
        ok(201),
        body(
            "/api/v1/care-team",
            lambda seed, r, t: {"clinician_id": seed["doc3"], "patient_id": seed["by"][r, t]["patient"]},
        ),
        "org_person",
        PATIENT_TARGETS,
    ),
    ("DELETE", "/api/v1/care-team"): Rule(
        ("admin",),
        ok(200),
        body(
            "/api/v1/care-team",
            lambda seed, r, t: {"clinician_id": seed["doc3"], "patient_id": seed["by"][r, t]["patient"]},
        ),
        "org_person",
        PATIENT_TARGETS,
    ),
    ("POST", "/api/v1/api-keys"): Rule(
        ("admin",),
        ok(201),
        body("/api/v1/api-keys", lambda seed, r, t: {"person_id": seed["by"][r, t]["svc"]}),
        "org_person",
        ("own", "other_org"),
    ),
    ("GET", "/api/v1/admin/jobs"): Rule(("admin",), ok(200), url("/api/v1/admin/jobs")),
    # the seeded jobs are queued, not dead: 409 means the admin got past every access check
    ("POST", "/api/v1/admin/jobs/{job_id}/retry"): Rule(
        ("admin",), ok(409), url("/api/v1/admin/jobs/{job}/retry"), "org", PATIENT_TARGETS
    ),
    ("GET", "/api/v1/admin/audit"): Rule(("admin",), ok(200), url("/api/v1/admin/audit")),
    ("POST", "/api/v1/admin/notification-channels"): Rule(
        ("admin",),
        ok(201),
        body("/api/v1/admin/notification-channels", _webhook),
    ),
    ("GET", "/api/v1/admin/notification-channels"): Rule(
        ("admin",), ok(200), url("/api/v1/admin/notification-channels")
    ),
    ("DELETE", "/api/v1/admin/notification-channels/{channel_id}"): Rule(
        ("admin",), ok(200), url("/api/v1/admin/notification-channels/{channel}"), "org", PATIENT_TARGETS
    ),
    ("GET", "/api/v1/admin/notification-deliveries"): Rule(
        ("admin",), ok(200), url("/api/v1/admin/notification-deliveries")
    ),
    # no delivery is seeded: this checks the role gate (an admin reaches "no such delivery")
    ("POST", "/api/v1/admin/notification-deliveries/{delivery_pk}/retry"): Rule(
        ("admin",), ok(404), url("/api/v1/admin/notification-deliveries/999999/retry")
    ),
    ("POST", "/api/v1/conversations"): Rule(("patient", "family"), ok(201), url("/api/v1/conversations")),
    ("GET", "/api/v1/conversations"): Rule(("patient", "family"), ok(200), url("/api/v1/conversations")),
    ("GET", "/api/v1/conversations/{conversation_id}"): Rule(
        ("patient", "family"), ok(200), url(C), "self", PATIENT_TARGETS
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): Rule(
        ("patient", "family"),
        ok(200),
        body(C + "/messages", lambda *_: {"text": "I slept a bit better"}),
        "self",
        PATIENT_TARGETS,
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/messages/stream"): Rule(
        ("patient", "family"),
        ok(200),
        body(C + "/messages/stream", lambda *_: {"text": "Work was calm"}),
        "self",
        PATIENT_TARGETS,
    ),
}


@cache
def route_table() -> tuple[tuple[str, str], ...]:
    """(method, path) of every API route of a freshly built app (the JSON API; pages are tested apart)."""
    import tempfile

    from phqwatch.config import Settings
    from phqwatch.server import create_app

    with tempfile.TemporaryDirectory() as d:
        app = create_app(Settings(database_url=f"sqlite:///{d}/routes.db"), pages=False)
        found = {(m, r.path) for r in api_routes(app) if r.path.startswith("/api/v1") for m in r.methods if m != "HEAD"}
        app.state.ctx.db.dispose()
    return tuple(sorted(found))


def cases() -> Iterator[Any]:
    for method, path in route_table():
        rule = RULES.get((method, path))
        for target in rule.targets if rule else ("none",):
            for role in ROLES:
                yield pytest.param(method, path, role, target, id=f"{method} {path} {role} {target}")


def test_every_rule_names_a_route():
    assert sorted(set(RULES) - set(route_table())) == []


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Iterator[tuple[World, dict]]:
    from phqwatch.server.auth import hash_password
    from phqwatch.store import alerts, estimates, jobs, people
    from phqwatch.store.tables import Job

    w = build_world(f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'm.db'}")
    ids = w.ids
    pw = hash_password(PASSWORD)
    now = datetime.now(UTC)
    with w.ctx.db.write() as s:
        org1, org2 = (people.get_person(s, ids[k]).organisation_id for k in ("admin", "other_admin"))
        mk = people.create_person
        doc3 = mk(s, organisation_id=org1, role="clinician", username="doc3", password_hash=pw).id
        opat = mk(s, organisation_id=org2, role="patient", username="opat", password_hash=pw, external_id="o1").id
        osvc = mk(s, organisation_id=org2, role="service").id
        spare = {t: mk(s, organisation_id=o, role="patient", external_id=f"spare-{t}").id
                 for t, o in (("own", org1), ("same_org", org1), ("other_org", org2))}  # fmt: skip
        pats = {"own": ids["pat"], "same_org": ids["pat2"], "other_org": opat}
        orgs = {"own": org1, "same_org": org1, "other_org": org2}
        est, alert, job = {}, {}, {}
        for t, pid in pats.items():
            est[t] = estimates.add_estimate(
                s, w.ctx.cipher, organisation_id=orgs[t], patient_id=pid, model_name="m", model_version="1",
                window_start=now - timedelta(days=14), window_end=now, status="ok", value=9.0, band="mild",
            ).id  # fmt: skip
            alert[t] = alerts.open_alert(
                s, w.ctx.cipher, organisation_id=orgs[t], patient_id=pid, kind="sustained_worsening",
                severity="warning", key=f"matrix-{t}", message="worsening",
            ).id  # fmt: skip
            jobs.enqueue(s, "estimate", organisation_id=orgs[t], patient_id=pid)
            job[t] = s.scalar(select(Job.id).where(Job.patient_id == pid))
    conv, chan = {}, {}
    for who, key in (("pat", "pat"), ("fam", "fam"), ("pat2", "same_org"), ("opat", "other_org")):
        r = w.client.post("/api/v1/conversations", headers=w.h(who))
        assert r.status_code == 201, r.text
        conv[key] = r.json()["id"]
    for who, keys in (("admin", ("own", "same_org")), ("other_admin", ("other_org",))):
        for k in keys:
            r = w.client.post("/api/v1/admin/notification-channels", headers=w.h(who),
                              json={"kind": "webhook", "target": "http://127.0.0.1:9/h"})  # fmt: skip
            assert r.status_code == 201, r.text
            chan[k] = r.json()["id"]
    report = {}
    for who, key in (("admin", "own"), ("admin", "same_org"), ("other_admin", "other_org")):
        r = w.client.post(f"/api/v1/patients/{pats[key]}/reports", headers=w.h(who))
        assert r.status_code == 201, r.text
        report[key] = r.json()["id"]
        r = w.client.post(f"/api/v1/patients/{pats[key]}/reports/{report[key]}/release", headers=w.h(who))
        assert r.status_code == 200, r.text
    carer = {"own": ids["doc"], "same_org": ids["doc2"], "other_org": ids["doc"]}
    svc = {"own": ids["service"], "same_org": ids["service"], "other_org": osvc}
    by = {}
    for role in ROLES:
        for t in ("none", *PATIENT_TARGETS):
            tt = "own" if t == "none" else t
            own_conv = conv["fam"] if role == "family" else conv["pat"]
            by[role, t] = {
                "patient": pats[tt], "estimate": est[tt], "alert": alert[tt], "job": job[tt], "spare": spare[tt],
                "channel": chan[tt], "carer": carer[tt], "svc": svc[tt],
                "conversation": own_conv if tt == "own" else conv[tt], "report": report[tt],
            }  # fmt: skip
    try:
        yield w, {"by": by, "doc3": doc3}
    finally:
        w.client.__exit__(None, None, None)


def _denials(w: World) -> int:
    with w.ctx.db.read() as s:
        return int(s.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.details["outcome"].as_string() == "denied")) or 0)  # fmt: skip


@pytest.mark.parametrize(("method", "path", "role", "target"), list(cases()))
def test_route_role_target(seeded, method, path, role, target):
    w, seed = seeded
    rule = RULES.get((method, path))
    if rule is None:
        pytest.fail(f"No authorization rule for {method} {path}: add one to RULES in {__name__}.")
    want = expected(rule, role, target)
    where, kwargs = rule.call(seed, role, target)
    headers = {} if role == "anonymous" else w.h(ACTOR[role])
    before = _denials(w)
    r = w.client.request(method, where, headers=headers, **kwargs)
    if path == "/api/v1/auth/logout" and role != "anonymous":
        w.tokens.pop(ACTOR[role], None)  # logging out revoked the role's token: log in again next time
    assert r.status_code in want, f"{role} on {target}: {method} {where} -> {r.status_code} {r.text[:300]}"
    hidden = r.status_code == 404 and target != "own" and rule.access in HIDES_PATIENT
    assert _denials(w) - before == (1 if r.status_code == 403 or hidden else 0), "one audit row per denial"
