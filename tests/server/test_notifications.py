"""Alert notifications against a real local SMTP server and a real local webhook receiver.

Signed webhooks (HMAC-SHA256 of timestamp and body, one delivery id across retries), e-mail with no
message text, retries with backoff, dead-letter and an admin's retry, and the escalation chain: an urgent
alert nobody acknowledges goes to the next level after the configured time, at once when its snooze lapses.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from phqwatch.server.notify import verify
from phqwatch.server.notify.signing import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from phqwatch.server.worker import Worker
from phqwatch.store import alerts
from phqwatch.store.tables import Alert, AlertEvent

from .conftest import World, build_world, msg
from .notify_receivers import Hook, Mailbox, smtp_server, webhook_receiver
from .tiny_model import fitted

CRISIS = "I want to kill myself tonight, I have the pills ready"
BASE = "https://phq.example.org"


@pytest.fixture
def receivers() -> Iterator[tuple[Hook, Mailbox]]:
    with webhook_receiver() as hook, smtp_server() as box:
        yield hook, box


def _world(url: str, box: Mailbox, **kw) -> World:  # type: ignore[no-untyped-def]
    settings = {
        "smtp_host": "127.0.0.1",
        "smtp_port": box.port,
        "smtp_starttls": False,
        "public_base_url": BASE,
        "notify_backoff_s": 0.05,
        "notify_max_attempts": 3,
        "escalate_after_minutes": 10,
        **kw,
    }
    return build_world(url, **settings)


@pytest.fixture
def nw(db_url, receivers) -> Iterator[tuple[World, Hook, Mailbox, Worker]]:
    hook, box = receivers
    w = _world(db_url, box)
    worker = Worker(w.settings, w.ctx.db, w.ctx.cipher, model=fitted(), poll_s=0.05)
    try:
        yield w, hook, box, worker
    finally:
        w.client.__exit__(None, None, None)


def _channel(w: World, **body) -> dict:  # type: ignore[no-untyped-def]
    r = w.client.post("/api/v1/admin/notification-channels", json=body, headers=w.h("admin"))
    assert r.status_code == 201, r.text
    return r.json()


def _crisis(w: World, user: str = "u1", mid: str = "c1") -> int:
    r = w.client.post("/api/v1/messages", json=msg(user=user, mid=mid, text=CRISIS), headers=w.h("service"))
    assert r.status_code == 200, r.text
    return r.json()["crisis_alert_ids"][0]


def _drain(worker: Worker, done: Callable[[], bool], timeout: float = 15.0) -> None:
    """Run the worker's notification scan and queue, as its loop does, until `done()` or the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.notify_tick(force=True)
        worker.run_once()
        if done():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the worker")


def _events(w: World, alert_id: int) -> list[AlertEvent]:
    with w.ctx.db.read() as s:
        return alerts.history(s, alert_id)


def _backdate(w: World, alert_id: int, minutes: float) -> None:
    """Move an alert and its history back in time (as if that much time had passed)."""
    delta = timedelta(minutes=minutes)
    with w.ctx.db.write() as s:
        a = s.get(Alert, alert_id)
        a.created_at -= delta  # type: ignore[union-attr]
        if a.snoozed_until is not None:  # type: ignore[union-attr]
            a.snoozed_until -= delta  # type: ignore[union-attr]
        for e in s.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id)):
            e.at -= delta


def _text_of(mail) -> str:  # type: ignore[no-untyped-def]
    return mail["Subject"] + "\n" + mail.get_content()


# ---- channels --------------------------------------------------------------------------------------------
def test_channels_are_admin_only_per_organisation_and_a_webhook_secret_is_shown_once(nw):
    w, hook, _, _ = nw
    created = _channel(w, kind="webhook", target=hook.url, name="team pager")
    assert len(created["secret"]) >= 32
    mine = _channel(w, kind="email", target="doc@clinic.example", clinician_id=w.ids["doc"])
    assert mine["clinician_id"] == w.ids["doc"] and mine["secret"] is None and mine["min_severity"] == "urgent"
    listed = w.client.get("/api/v1/admin/notification-channels", headers=w.h("admin")).json()
    assert [c["id"] for c in listed] == [created["id"], mine["id"]]
    assert all(c["secret"] is None for c in listed)  # never shown again
    assert w.client.get("/api/v1/admin/notification-channels", headers=w.h("other_admin")).json() == []
    assert w.client.get("/api/v1/admin/notification-channels", headers=w.h("doc")).status_code == 403
    url = "/api/v1/admin/notification-channels"
    bad = [
        {"kind": "email", "target": "doc@clinic.example\r\nBcc: x@evil.example"},  # header injection
        {"kind": "webhook", "target": "file:///etc/passwd"},
        {"kind": "webhook", "target": hook.url, "min_severity": "panic"},
    ]
    for body in bad:
        r = w.client.post(url, json=body, headers=w.h("admin"))
        assert r.status_code == 422, (body, r.text)
    other_clinician = {"kind": "email", "target": "x@clinic.example", "clinician_id": w.ids["other_admin"]}
    assert w.client.post(url, json=other_clinician, headers=w.h("admin")).status_code == 404
    assert w.client.delete(f"{url}/{mine['id']}", headers=w.h("other_admin")).status_code == 404
    assert w.client.delete(f"{url}/{mine['id']}", headers=w.h("admin")).status_code == 200
    assert [c["id"] for c in w.client.get(url, headers=w.h("admin")).json()] == [created["id"]]
    trail = w.client.get("/api/v1/admin/audit", headers=w.h("admin")).json()
    assert [(e["action"], e["resource"]) for e in trail if e["resource"] == "notification_channel"] == [
        ("delete", "notification_channel"),
        ("create", "notification_channel"),
        ("create", "notification_channel"),
    ]


def test_production_refuses_a_plain_http_webhook_off_loopback(sqlite_url, receivers):
    _, box = receivers
    w = _world(sqlite_url, box)
    try:
        w.ctx.settings.production = True  # only the channel check reads it here
        url = "/api/v1/admin/notification-channels"
        r = w.client.post(url, json={"kind": "webhook", "target": "http://pager.example.org/h"}, headers=w.h("admin"))
        assert r.status_code == 422 and "https" in r.json()["detail"]
        r = w.client.post(url, json={"kind": "webhook", "target": "http://127.0.0.1:9/h"}, headers=w.h("admin"))
        assert r.status_code == 201
    finally:
        w.client.__exit__(None, None, None)


# ---- first notice ----------------------------------------------------------------------------------------
def test_a_crisis_alert_reaches_the_care_team_by_signed_webhook_and_by_email_without_message_text(nw):
    w, hook, box, worker = nw
    secret = _channel(w, kind="webhook", target=hook.url)["secret"]
    _channel(w, kind="email", target="doc@clinic.example", clinician_id=w.ids["doc"])
    _channel(w, kind="email", target="doc2@clinic.example", clinician_id=w.ids["doc2"])  # not on u1's team
    _channel(w, kind="email", target="all@clinic.example", min_severity="info")
    w.client.post("/api/v1/messages", json=msg(mid="n1", text="a quiet day"), headers=w.h("service"))
    alert_id = _crisis(w)
    _drain(worker, lambda: len(hook.requests) >= 1 and len(box.mails) >= 2)

    ((headers, body),) = hook.requests
    assert verify(secret, headers[TIMESTAMP_HEADER.lower()], body, headers[SIGNATURE_HEADER.lower()])
    assert not verify(secret, headers[TIMESTAMP_HEADER.lower()], body + b" ", headers[SIGNATURE_HEADER.lower()])
    assert not verify("wrong-secret", headers[TIMESTAMP_HEADER.lower()], body, headers[SIGNATURE_HEADER.lower()])
    old = str(int(headers[TIMESTAMP_HEADER.lower()]) - 3600)  # a replayed old request fails the time window
    assert not verify(secret, old, body, headers[SIGNATURE_HEADER.lower()])
    payload = json.loads(body)
    assert payload["delivery_id"] == headers[DELIVERY_HEADER.lower()]
    assert payload["event"] == "opened" and payload["level"] == 0
    assert payload["alert"]["id"] == alert_id and payload["alert"]["severity"] == "urgent"
    assert payload["alert"]["kind"] == "crisis" and payload["alert"]["url"].startswith(f"{BASE}/caseload")
    assert "kill" not in body.decode() and "pills" not in body.decode()

    assert box.to("doc2@clinic.example") == []  # not on the patient's care team
    for address in ("doc@clinic.example", "all@clinic.example"):
        (mail,) = box.to(address)
        text = _text_of(mail)
        assert "urgent" in text and "crisis" in text and str(alert_id) in text and f"{BASE}/caseload" in text
        for word in ("kill", "pills", "tonight", "u1"):  # no message text, no patient identifier
            assert word not in text.lower()
    assert [m for _, m in box.mails if "quiet" in _text_of(m)] == []

    # the scan runs again and again: nothing is sent twice
    for _ in range(3):
        worker.notify_tick(force=True)
        worker.run_once()
    assert len(hook.requests) == 1 and len(box.mails) == 2
    listed = w.client.get(f"/api/v1/admin/notification-deliveries?alert_id={alert_id}", headers=w.h("admin")).json()
    assert sorted(d["status"] for d in listed) == ["delivered"] * 3
    assert w.client.get("/api/v1/admin/notification-deliveries", headers=w.h("other_admin")).json() == []


def test_a_webhook_answering_500_is_retried_with_the_same_delivery_id(nw):
    w, hook, _, worker = nw
    secret = _channel(w, kind="webhook", target=hook.url)["secret"]
    hook.script = [500, 503]
    alert_id = _crisis(w)
    _drain(worker, lambda: len(hook.requests) >= 3)
    ids = {h[DELIVERY_HEADER.lower()] for h, _ in hook.requests}
    assert len(ids) == 1  # one delivery, tried three times: a receiver can drop repeats
    assert all(verify(secret, h[TIMESTAMP_HEADER.lower()], b, h[SIGNATURE_HEADER.lower()]) for h, b in hook.requests)
    (d,) = w.client.get(f"/api/v1/admin/notification-deliveries?alert_id={alert_id}", headers=w.h("admin")).json()
    assert (d["status"], d["attempts"], d["last_error"]) == ("delivered", 3, None)


def test_a_delivery_that_keeps_failing_is_dead_lettered_then_retried_by_an_admin(nw):
    w, hook, _, worker = nw
    _channel(w, kind="webhook", target=hook.url)
    hook.default = 500
    alert_id = _crisis(w)

    def dead() -> list[dict]:
        url = "/api/v1/admin/notification-deliveries?status=dead"
        return w.client.get(url, headers=w.h("admin")).json()

    _drain(worker, lambda: bool(dead()))
    (d,) = dead()
    assert d["attempts"] == 3 and d["last_error"] == "webhook answered HTTP 500" and len(hook.requests) == 3
    assert "notification_failed" in [e.action for e in _events(w, alert_id)]
    for _ in range(3):  # dead means dead: no further attempts
        worker.notify_tick(force=True)
        worker.run_once()
    assert len(hook.requests) == 3

    hook.default = 200
    assert (
        w.client.post(f"/api/v1/admin/notification-deliveries/{d['id']}/retry", headers=w.h("doc")).status_code == 403
    )
    r = w.client.post(f"/api/v1/admin/notification-deliveries/{d['id']}/retry", headers=w.h("admin"))
    assert r.status_code == 200 and r.json()["status"] == "pending"
    assert (
        w.client.post(f"/api/v1/admin/notification-deliveries/{d['id']}/retry", headers=w.h("admin")).status_code == 409
    )
    _drain(worker, lambda: len(hook.requests) == 4)
    assert hook.requests[-1][0][DELIVERY_HEADER.lower()] == d["delivery_id"]
    trail = w.client.get("/api/v1/admin/audit", headers=w.h("admin")).json()
    assert any(e["resource"] == "notification_delivery" and e["details"].get("retry") for e in trail)


def test_an_smtp_server_that_refuses_for_now_is_retried(nw):
    w, _, box, worker = nw
    _channel(w, kind="email", target="doc@clinic.example", clinician_id=w.ids["doc"])
    box.refuse = 1
    alert_id = _crisis(w)
    _drain(worker, lambda: len(box.mails) == 1)
    (d,) = w.client.get(f"/api/v1/admin/notification-deliveries?alert_id={alert_id}", headers=w.h("admin")).json()
    assert (d["status"], d["attempts"]) == ("delivered", 2)


# ---- escalation ------------------------------------------------------------------------------------------
def test_an_unacknowledged_crisis_alert_escalates_after_the_configured_time(nw):
    w, _, box, worker = nw
    _channel(w, kind="email", target="doc@clinic.example", clinician_id=w.ids["doc"])
    _channel(w, kind="email", target="oncall@clinic.example", level=1)
    _channel(w, kind="email", target="director@clinic.example", level=2)
    alert_id = _crisis(w)
    _drain(worker, lambda: len(box.mails) == 1)
    assert box.to("oncall@clinic.example") == []

    from phqwatch.server.notify import escalate_due

    with w.ctx.db.write() as s:  # the clock, driven by `now`: not yet at 9 minutes
        assert (
            escalate_due(s, after=timedelta(minutes=10), max_level=2, now=datetime.now(UTC) + timedelta(minutes=9))
            == []
        )
    _backdate(w, alert_id, 11)  # 11 minutes pass and nobody acknowledges
    _drain(worker, lambda: len(box.to("oncall@clinic.example")) == 1)
    (mail,) = box.to("oncall@clinic.example")
    assert "Escalated" in mail["Subject"] and str(alert_id) in mail["Subject"] and "kill" not in _text_of(mail)
    (esc,) = [e for e in _events(w, alert_id) if e.action == "escalated"]
    assert esc.details == {"level": 1, "reason": "unacknowledged", "deliveries": 1}
    assert box.to("director@clinic.example") == []  # the clock restarts at each level

    _backdate(w, alert_id, 11)
    _drain(worker, lambda: len(box.to("director@clinic.example")) == 1)
    _backdate(w, alert_id, 60)  # the top level is reached: no further escalation
    for _ in range(2):
        worker.notify_tick(force=True)
        worker.run_once()
    assert [e.details["level"] for e in _events(w, alert_id) if e.action == "escalated"] == [1, 2]
    shown = w.client.get(f"/api/v1/alerts/{alert_id}", headers=w.h("doc")).json()
    assert "escalated" in json.dumps(shown)


def test_an_acknowledged_alert_does_not_escalate(nw):
    w, _, box, worker = nw
    _channel(w, kind="email", target="oncall@clinic.example", level=1)
    alert_id = _crisis(w)
    assert w.client.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={}, headers=w.h("doc")).status_code == 200
    _backdate(w, alert_id, 30)
    for _ in range(2):
        worker.notify_tick(force=True)
        worker.run_once()
    assert box.mails == [] and "escalated" not in [e.action for e in _events(w, alert_id)]


def test_a_crisis_alert_whose_snooze_lapses_unacknowledged_escalates_at_once(sqlite_url, receivers):
    _, box = receivers
    w = _world(sqlite_url, box, escalate_after_minutes=600)  # only the lapse can trigger it here
    worker = Worker(w.settings, w.ctx.db, w.ctx.cipher, model=fitted())
    try:
        _channel(w, kind="email", target="oncall@clinic.example", level=1)
        alert_id = _crisis(w)
        until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        r = w.client.post(f"/api/v1/alerts/{alert_id}/snooze", json={"until": until}, headers=w.h("doc"))
        assert r.status_code == 200
        worker.notify_tick(force=True)
        worker.run_once()
        assert box.mails == []  # snoozed: nobody is chased yet
        _backdate(w, alert_id, 61)  # the snooze has lapsed and nobody acknowledged the alert
        _drain(worker, lambda: len(box.to("oncall@clinic.example")) == 1)
        actions = [(e.action, (e.details or {}).get("reason")) for e in _events(w, alert_id)]
        assert ("woke", None) in actions and actions[-1] == ("escalated", "snooze_lapsed")
    finally:
        w.client.__exit__(None, None, None)
