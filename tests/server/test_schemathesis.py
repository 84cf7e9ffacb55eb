"""The API matches its own OpenAPI document: schemathesis against the real server on loopback.

A real `uvicorn` process serves a seeded SQLite database; every operation of `/api/openapi.json` is called
with generated data under a real credential of every role (admin, clinician, patient, family, service API
key, and none), and every answer must be a non-5xx response that the document declares (status code,
content type, headers, body schema). A stateful run follows the links schemathesis infers between operations.
Hypothesis settings keep the cost bounded (a few dozen examples per operation).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import PASSWORD, msg  # noqa: E402

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ROLES = ("admin", "doc", "pat", "fam", "service", "anonymous")
EXAMPLES = int(os.environ.get("PHQWATCH_SCHEMATHESIS_EXAMPLES", "30"))


@dataclass
class Server:
    """The seeded server process and the credentials of its people."""

    base_url: str
    proc: subprocess.Popen
    log: Path
    api_key: str = ""
    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    known_path: dict[str, list] = field(default_factory=dict)
    known_body: dict[str, list] = field(default_factory=dict)

    def login(self, username: str) -> str:
        r = httpx.post(f"{self.base_url}/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def headers(self, who: str) -> dict[str, str]:
        if who == "anonymous":
            return {}
        if who == "service":
            return {"X-API-Key": self.api_key}
        if who not in self.tokens:
            self.tokens[who] = self.login(who)
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(url: str) -> tuple[dict[str, int], str]:
    """Two organisations, one person per role (plus throwaway accounts an admin may disable), care teams,
    estimates (ok and abstained, with evidence; one each for the other patients' reports), an administered
    PHQ-9, a dead job and a notification channel. Messages and alerts arrive later through the API itself."""
    from phqwatch.config import DEV_ENCRYPTION_KEY
    from phqwatch.server.auth import hash_password
    from phqwatch.store import Database, TextCipher, estimates, jobs, notifications, people, questionnaires, upgrade

    upgrade(url)
    db = Database.from_url(url)
    cipher = TextCipher(DEV_ENCRYPTION_KEY)
    pw = hash_password(PASSWORD)
    ids: dict[str, int] = {}
    try:
        with db.write() as s:
            org = people.create_organisation(s, "clinic", "Clinic")
            other = people.create_organisation(s, "other", "Other clinic")

            def mk(name: str, role: str, org_id: int = org.id, **kw: object) -> int:
                login = {} if role == "service" else {"username": name, "password_hash": pw}
                pid = people.create_person(s, organisation_id=org_id, role=role, display_name=name, **login, **kw).id
                ids[name] = pid
                return pid

            mk("admin", "admin")
            mk("doc", "clinician")
            mk("doc2", "clinician")
            mk("pat", "patient", external_id="u1")
            mk("pat2", "patient", external_id="u2")
            mk("fam", "family", external_id="u1-fam", linked_patient_id=ids["pat"])
            svc = mk("service", "service")
            _, api_key = people.create_api_key(s, svc, "schemathesis")
            for i in range(3):  # session-ending operations run as these
                mk(f"spare{i}", "patient", external_id=f"spare{i}")
            mk("other_admin", "admin", other.id)
            mk("other_pat", "patient", other.id, external_id="u1")
            people.assign_clinician(s, ids["doc"], ids["pat"])
            people.assign_clinician(s, ids["doc2"], ids["pat2"])
            end = datetime.now(UTC) - timedelta(days=1)
            for k, status in enumerate(("ok", "ok", "abstained")):
                e_end = end - timedelta(days=14 * (2 - k))
                estimates.add_estimate(
                    s,
                    cipher,
                    organisation_id=org.id,
                    patient_id=ids["pat"],
                    model_name="tfidf-ridge",
                    model_version="1",
                    window_start=e_end - timedelta(days=14),
                    window_end=e_end,
                    status=status,
                    value=None if status != "ok" else 9.5 + k,
                    interval_low=None if status != "ok" else 6.0,
                    interval_high=None if status != "ok" else 14.0,
                    band=None if status != "ok" else "mild",
                    items=None if status != "ok" else [1.0] * 9,
                    evidence={2: ["I feel low most days"]} if status == "ok" else None,
                    reason="too few words" if status != "ok" else None,
                    n_user_words=400,
                    n_messages=20,
                )
            for pid, org_id in ((ids["pat2"], org.id), (ids["other_pat"], other.id)):  # to draft their reports from
                estimates.add_estimate(
                    s, cipher, organisation_id=org_id, patient_id=pid, model_name="tfidf-ridge", model_version="1",
                    window_start=end - timedelta(days=14), window_end=end, status="ok", value=7.0, band="mild",
                    n_user_words=300, n_messages=12,
                )  # fmt: skip
            questionnaires.add_questionnaire(
                s,
                organisation_id=org.id,
                patient_id=ids["pat"],
                administered_at=end - timedelta(days=3),
                total=11,
                items=[1, 1, 2, 1, 1, 1, 2, 1, 1],
                source="clinician",
                entered_by_id=ids["doc"],
            )
            jobs.enqueue(s, "estimate", organisation_id=org.id, patient_id=ids["pat2"])
            notifications.create_channel(
                s,
                organisation_id=org.id,
                kind="email",
                target="oncall@example.org",
                secret_enc=None,
                name="on call",
                level=0,
                min_severity="urgent",
                clinician_id=None,
            )
    finally:
        db.dispose()
    return ids, api_key


def start_server(url: str, log: Path) -> Server:
    """`phqwatch serve` on a free loopback port (no worker), its log in `log`."""
    port = _free_port()
    env = {
        **os.environ,
        "PHQWATCH_DATABASE_URL": url,
        "PHQWATCH_PRODUCTION": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "phqwatch.cli", "serve", "--port", str(port), "--no-worker", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return Server(base, proc, log)
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start within 60 s")


def feed(server: Server) -> list[int]:
    """Messages (one of them flagged by the crisis screen) through the API, as the service account; the
    crisis alerts' ids."""
    ts = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "messages": [
            msg(user="u1", text="I have been sleeping badly and feel tired", mid="m1", ts=ts),
            msg(user="u1", text="thanks for asking", mid="m2", role="assistant", ts=ts),
            msg(user="u1", text="I want to kill myself tonight", mid="m3", ts=ts),
            msg(user="u2", text="work is fine, a bit stressful", mid="m4", ts=ts),
        ]
    }
    r = httpx.post(
        f"{server.base_url}/api/v1/messages/batch", json=body, headers=server.headers("service"), timeout=120
    )
    assert r.status_code == 200 and r.json()["crisis_alert_ids"], r.text
    return r.json()["crisis_alert_ids"]


def known_ids(url: str, server: Server, alert_ids: list[int]) -> tuple[dict[str, list], dict[str, list]]:
    """Ids that exist, for path and query parameters and for body fields: generated requests use them half
    of the time, so that most operations also answer 2xx (random ids mostly get 404). Also adds what only
    the worker would make: dead jobs and dead notification deliveries (to retry); and drafts two reports of
    each patient through the API, releasing one (for its readers)."""
    from sqlalchemy import select

    from phqwatch.store import Database, notifications, people
    from phqwatch.store.tables import Alert, Estimate, Job, NotificationChannel, Person

    chats = [
        httpx.post(f"{server.base_url}/api/v1/conversations", headers=server.headers(who), timeout=60)
        for who in ("pat", "fam")
    ]
    assert all(r.status_code == 201 for r in chats), [r.text for r in chats]
    ids = server.ids
    reports = []  # two per patient of `path["patient_id"]`, in its order (a pick aligns them); the first released
    for _ in range(2):
        for who, pid in (("admin", ids["pat"]), ("admin", ids["pat2"]), ("other_admin", ids["other_pat"])):
            r = httpx.post(f"{server.base_url}/api/v1/patients/{pid}/reports", headers=server.headers(who), timeout=60)
            assert r.status_code == 201, r.text
            reports.append((who, pid, r.json()["id"]))
    for who, pid, rid in reports[:3]:
        r = httpx.post(f"{server.base_url}/api/v1/patients/{pid}/reports/{rid}/release", headers=server.headers(who))
        assert r.status_code == 200, r.text
    db = Database.from_url(url)
    try:
        with db.write() as s:
            org = s.get(Alert, alert_ids[0]).organisation_id  # type: ignore[union-attr]
            other = s.get(Person, ids["other_admin"]).organisation_id  # type: ignore[union-attr]
            spare = people.create_person(s, organisation_id=other, role="patient", external_id="spare").id
            channel = s.scalars(select(NotificationChannel)).one()
            alert = s.get(Alert, alert_ids[0])
            deliveries = []
            for event in ("opened", "escalated", "reminder"):
                d = notifications.add_delivery(s, alert, channel, event=event, level=0)  # type: ignore[arg-type]
                d.status = "dead"  # type: ignore[union-attr]
                deliveries.append(d.id)  # type: ignore[union-attr]
            jobs_ = list(s.scalars(select(Job).where(Job.organisation_id == org)))
            for j in jobs_:
                j.status = "dead"
            estimate_ids = list(s.scalars(select(Estimate.id)))
    finally:
        db.dispose()
    path = {
        "patient_id": [ids["pat"], ids["pat2"], ids["other_pat"]],
        "estimate_id": estimate_ids,
        "alert_id": alert_ids,
        "conversation_id": [r.json()["id"] for r in chats],
        "job_id": [j.id for j in jobs_],
        "delivery_pk": deliveries,
        "channel_id": [channel.id],
        "person_id": [ids["other_pat"], spare],  # disabled by the other organisation's admin
        "report_id": [rid for _, _, rid in reports],
    }
    body = {
        "patient_id": [ids["pat"], ids["pat2"]],
        "clinician_id": [ids["doc"], ids["doc2"]],
        "assignee_id": [ids["doc"], ids["doc2"]],
        "person_id": [ids["service"]],
        "user_id": ["u1", "u2", "u1-fam"],
        "current_password": [PASSWORD],
        "username": ["spare2"],
        "password": [PASSWORD],
        "until": [(datetime.now(UTC) + timedelta(hours=1)).isoformat()],
        "date": [(datetime.now(UTC) - timedelta(days=1)).date().isoformat()],
        "kind": ["webhook"],
        "target": ["https://hooks.example.org/phqwatch"],
    }
    return path, body


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{folder / 'phqwatch.db'}"
    ids, api_key = seed(url)
    srv = start_server(url, folder / "server.log")
    srv.ids, srv.api_key = ids, api_key
    try:
        alert_ids = feed(srv)
        srv.known_path, srv.known_body = known_ids(url, srv, alert_ids)
        yield srv
    finally:
        srv.proc.kill()
        srv.proc.wait(10)


def use_known_ids(case, server: Server, pick: int) -> None:  # type: ignore[no-untyped-def]
    """Put existing ids into the case's path, query and top-level body fields (and each message's)."""
    for params in (case.path_parameters, case.query):
        for name in list(params or ()):
            if name in server.known_path:
                params[name] = server.known_path[name][pick % len(server.known_path[name])]
    body = case.body
    if isinstance(body, dict):
        listed = body.get("messages")
        targets = [body] + [m for m in listed if isinstance(m, dict)] if isinstance(listed, list) else [body]
        for target in targets:
            for name in list(target):
                if name in server.known_body:
                    target[name] = server.known_body[name][pick % len(server.known_body[name])]


def test_document_declares_every_error_with_the_error_body(tmp_path: Path) -> None:
    """Without a server: every operation declares 503/507, authenticated ones 401/403/429, every 4xx body is
    `ErrorOut` (FastAPI's default 422 body is gone), and every id in a path has its bounds."""
    from phqwatch.config import Settings
    from phqwatch.server import create_app

    doc = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'doc.db'}")).openapi()
    assert "HTTPValidationError" not in str(doc) and "ErrorOut" in doc["components"]["schemas"]
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            codes = set(op["responses"])
            assert {"503", "507"} <= codes, (method, path)
            if op.get("security") and path != "/api/v1/auth/logout":
                assert {"401", "403", "429"} <= codes, (method, path)
            for code, response in op["responses"].items():
                if code.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorOut"), (method, path, code)
            for p in op.get("parameters", []):
                if p["in"] == "path" and p["schema"].get("type") == "integer" and "conversation" not in path:
                    assert p["schema"].get("minimum") == 1 and p["schema"].get("maximum") == 2**63 - 1, (path, p)


#: Who runs the operations that would end a shared session: a spare patient, or the other organisation's
#: admin (disabling people there can never lock out the accounts the rest of the run uses).
STAND_IN = {
    ("POST", "/api/v1/auth/logout"): "spare0",
    ("POST", "/api/v1/auth/password"): "spare1",
    ("POST", "/api/v1/people/{person_id}/disable"): "other_admin",
}
CALLERS = ("admin", "doc", "pat", "fam", "service", "other_admin", "spare0", "spare1")


@pytest.fixture(scope="module")
def api_schema(server: Server):  # type: ignore[no-untyped-def]
    for who in CALLERS:  # every login before generated logins can reach the rate limit
        server.headers(who)
    return schemathesis.openapi.from_url(f"{server.base_url}/api/openapi.json", timeout=30)


QUICK = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def caller(case, who: str) -> str:  # type: ignore[no-untyped-def]
    stand_in = STAND_IN.get((case.method.upper(), case.path))
    return stand_in if stand_in and who != "anonymous" else who


def test_every_operation_answers_as_documented(api_schema, server: Server) -> None:  # type: ignore[no-untyped-def]
    """Generated requests to every operation under every role, valid and invalid (positive and negative
    generation): no 5xx, and status, content type, headers and body as declared. Every operation runs (one
    failing does not hide the next); all failures are listed.

    (Each operation is driven by `APIOperation.as_strategy()` inside this one test: schemathesis's lazy
    `from_fixture` parametrization does not run under pytest 9, and the schema exists only once the
    server does.)"""
    failures: dict[str, str] = {}
    seen: dict[str, Counter[int]] = defaultdict(Counter)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30, [op.label for op in operations]
    for operation in operations:
        valid = operation.as_strategy()
        cases = st.one_of(valid, valid, operation.as_strategy(GenerationMode.NEGATIVE))  # 2:1 valid:invalid

        @given(case=cases, who=st.sampled_from(ROLES), known=st.booleans(), pick=st.integers(0, 9))
        @QUICK
        def run(case, who: str, known: bool, pick: int) -> None:  # type: ignore[no-untyped-def]
            if known:
                use_known_ids(case, server, pick)
            response = case.call_and_validate(headers=server.headers(caller(case, who)), checks=CHECKS, timeout=60)
            seen[case.operation.label][response.status_code] += 1

        try:
            run()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - FailureGroup: collect each operation's, then fail once
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    print("\n".join(f"{label}: {dict(sorted(seen[label].items()))}" for label in sorted(seen)))
    succeeded = {label for label, codes in seen.items() if any(200 <= code < 300 for code in codes)}
    # the run reached the handlers, not only the validation and auth layers
    assert len(succeeded) >= 0.75 * len(operations), sorted({op.label for op in operations} - succeeded)
    report = "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
    assert not failures, f"{report}\n\nserver log:\n{server.log.read_text()[-4000:]}"


def test_stateful_links_answer_as_documented(api_schema, server: Server) -> None:  # type: ignore[no-untyped-def]
    """Sequences that feed one answer's ids into the next request (links inferred by schemathesis), as an
    admin and as a clinician: every step answers as documented."""
    base = api_schema.as_state_machine()
    linked = api_schema.operations_with_incoming_links()
    assert any("/alerts/{alert_id}" in label for label in linked), linked  # ids flow from list to action

    steps: dict[str, Counter[int]] = defaultdict(Counter)
    for who in ("admin", "doc"):

        class Workflow(base):  # type: ignore[misc, valid-type]
            role = who

            def get_call_kwargs(self, case):  # type: ignore[no-untyped-def]
                return {"headers": server.headers(caller(case, self.role)), "timeout": 60}

            def after_call(self, response, case) -> None:  # type: ignore[no-untyped-def]
                steps[case.operation.label][response.status_code] += 1

            def validate_response(self, response, case, additional_checks=None, **kwargs):  # type: ignore[no-untyped-def]
                case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)

        Workflow.run(
            settings=settings(
                max_examples=max(5, EXAMPLES // 3),
                stateful_step_count=6,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
        )
    print("\n".join(f"{label}: {dict(sorted(codes.items()))}" for label, codes in sorted(steps.items())))
    linked_calls = sum(sum(codes.values()) for label, codes in steps.items() if label in linked)
    ok_calls = sum(n for codes in steps.values() for code, n in codes.items() if 200 <= code < 300)
    assert linked_calls >= 5 and ok_calls >= 5, steps  # links were followed and reached the handlers
