"""Sign-in rate limits and forwarded headers: per account and per client address, counted in the database,
with the real client address (a forwarded header is believed only from a configured trusted proxy)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from phqwatch.config import Settings
from phqwatch.server.client_address import forwarded_chain, resolve
from phqwatch.store.tables import AuditEntry

from .conftest import PASSWORD, World, build_world

BAD = {"username": "doc", "password": "wrong-password"}


def _logins(w: World) -> list[AuditEntry]:
    with w.ctx.db.read() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "login").order_by(AuditEntry.id)))


@pytest.fixture
def proxied(sqlite_url: str) -> Iterator[tuple[World, TestClient]]:
    """A world whose settings trust 10.0.0.0/8, and a client whose direct peer is the proxy 10.0.0.2."""
    w = build_world(sqlite_url, trusted_proxies=["10.0.0.0/8"], login_failures_per_account=3,
                    login_failures_per_address=4)  # fmt: skip
    c = TestClient(w.app, client=("10.0.0.2", 40000))
    try:
        yield w, c
    finally:
        w.client.__exit__(None, None, None)


def test_resolve_takes_the_right_most_untrusted_address():
    trusted = ("10.0.0.0/8", "2001:db8::/32")
    assert resolve("10.0.0.2", ["203.0.113.9", "198.51.100.7"], trusted) == "198.51.100.7"
    assert resolve("10.0.0.2", ["203.0.113.9", "10.1.1.1"], trusted) == "203.0.113.9"  # skips trusted hops
    assert resolve("10.0.0.2", ["10.0.0.9"], trusted) == "10.0.0.9"  # all trusted: the left-most
    assert resolve("10.0.0.2", ["203.0.113.9", "unknown"], trusted) == "10.0.0.2"  # stops at a non-address
    assert resolve("192.0.2.1", ["203.0.113.9"], trusted) == "192.0.2.1"  # untrusted peer: header ignored
    assert resolve("192.0.2.1", ["203.0.113.9"], ()) == "192.0.2.1"
    assert resolve("::ffff:10.0.0.2", ["[2001:db9::1]:4711"], trusted) == "2001:db9::1"
    chain = forwarded_chain(['for=192.0.2.60;proto=http, For="[2001:db8:cafe::17]:4711"', "by=x;for=unknown"],
                            "forwarded")  # fmt: skip
    assert chain == ["192.0.2.60", '"[2001:db8:cafe::17]:4711"', "unknown"]
    assert resolve("10.0.0.2", chain[:2], ("10.0.0.0/8",)) == "2001:db8:cafe::17"


def test_trusted_proxies_setting_reads_a_comma_separated_list_and_refuses_garbage(monkeypatch):
    monkeypatch.setenv("PHQWATCH_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
    assert Settings().trusted_proxies == ["10.0.0.0/8", "192.0.2.1"]
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(trusted_proxies=["proxy.example.org"])
    assert Settings(_env_file=None).forwarded_header == "x-forwarded-for"


def test_forwarded_for_from_an_untrusted_peer_is_ignored(sqlite_url):
    w = build_world(sqlite_url, login_failures_per_account=2)
    try:
        for i in range(3):
            r = w.client.post("/api/v1/auth/token", data=BAD, headers={"X-Forwarded-For": f"198.51.100.{i}"})
        assert r.status_code == 429  # a new forged address each time changed nothing
        assert {e.ip for e in _logins(w)} == {"testclient"}  # the peer, never the forged header
    finally:
        w.client.__exit__(None, None, None)


def test_forwarded_for_from_a_trusted_proxy_names_the_client(proxied):
    w, c = proxied
    xff = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}  # the client forged 6.6.6.6; the proxy appended the peer
    assert c.post("/api/v1/auth/token", data=BAD, headers=xff).status_code == 401
    (e,) = _logins(w)
    assert (e.ip, e.details["outcome"], e.actor_id) == ("203.0.113.9", "denied", w.ids["doc"])
    assert e.resource_id and "doc" not in e.resource_id  # the account as a keyed hash, never the typed name
    ok = c.post("/api/v1/auth/token", data={"username": "pat", "password": PASSWORD}, headers=xff)
    assert ok.status_code == 200
    # the caller's address on every later audit row is the forwarded one too
    tok = ok.json()["access_token"]
    c.get(f"/api/v1/patients/{w.ids['pat']}/timeline", headers={"Authorization": f"Bearer {tok}", **xff})
    with w.ctx.db.read() as s:
        row = s.scalars(select(AuditEntry).where(AuditEntry.resource == "timeline")).one()
    assert row.ip == "203.0.113.9"


def test_per_address_limit_follows_the_forwarded_client(proxied):
    w, c = proxied
    for i in range(4):  # four accounts, one client address behind the proxy
        r = c.post("/api/v1/auth/token", data={"username": f"user{i}", "password": "x"},
                   headers={"X-Forwarded-For": "203.0.113.9"})  # fmt: skip
        assert r.status_code == 401
    r = c.post("/api/v1/auth/token", data={"username": "pat", "password": PASSWORD},
               headers={"X-Forwarded-For": "203.0.113.9"})  # fmt: skip
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    other = c.post("/api/v1/auth/token", data={"username": "pat", "password": PASSWORD},
                   headers={"X-Forwarded-For": "203.0.113.10"})  # fmt: skip
    assert other.status_code == 200  # another client behind the same proxy is not locked out


def test_per_account_limit_holds_across_many_addresses(proxied):
    w, c = proxied
    for i in range(3):
        assert c.post("/api/v1/auth/token", data=BAD, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code == 401
    r = c.post("/api/v1/auth/token", data={"username": "DOC ", "password": PASSWORD},
               headers={"X-Forwarded-For": "198.51.100.200"})  # fmt: skip
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= w.settings.login_window_s
    assert "account" in r.json()["detail"]
    assert c.post("/api/v1/auth/session", data=BAD, headers={"X-Forwarded-For": "198.51.100.201"}).status_code == 429
    lock = _logins(w)[-1]
    assert (lock.resource, lock.ip, lock.details["outcome"], lock.details["limit"]) == (
        "rate_limit", "198.51.100.201", "denied", "account",
    )  # fmt: skip
    assert c.post("/api/v1/auth/token", data={"username": "pat", "password": PASSWORD}).status_code == 200
    with w.ctx.db.write() as s:  # the window passes: the failures age out and the account opens again
        for e in s.scalars(select(AuditEntry)):
            e.at = e.at - timedelta(seconds=w.settings.login_window_s)
    assert c.post("/api/v1/auth/token", data={"username": "doc", "password": PASSWORD}).status_code == 200


def test_limits_are_shared_by_every_server_process_on_the_database(db_url):
    """Two apps on one database (SQLite file, and PostgreSQL): failures on one count on the other."""
    from phqwatch.server import create_app

    w = build_world(db_url, login_failures_per_account=2)
    second = create_app(w.settings, migrate=False, pages=False)
    try:
        with TestClient(second) as c2:
            assert w.client.post("/api/v1/auth/token", data=BAD).status_code == 401
            assert c2.post("/api/v1/auth/token", data=BAD).status_code == 401
            assert (
                w.client.post("/api/v1/auth/token", data={"username": "doc", "password": PASSWORD}).status_code == 429
            )
            assert c2.post("/api/v1/auth/token", data={"username": "doc", "password": PASSWORD}).status_code == 429
    finally:
        w.client.__exit__(None, None, None)


def test_password_change_is_limited_per_account(sqlite_url):
    w = build_world(sqlite_url, login_failures_per_account=2)
    try:
        body = {"current_password": "not-it", "new_password": "a-new-long-password"}
        codes = [w.client.post("/api/v1/auth/password", json=body, headers=w.h("doc")).status_code for _ in range(3)]
        assert codes == [401, 401, 429]
        right = {"current_password": PASSWORD, "new_password": "a-new-long-password"}
        assert w.client.post("/api/v1/auth/password", json=right, headers=w.h("doc")).status_code == 429
    finally:
        w.client.__exit__(None, None, None)


def test_rejected_api_keys_are_throttled_but_a_valid_key_still_works(sqlite_url):
    w = build_world(sqlite_url, login_failures_per_address=3)
    try:
        forged = [w.client.get("/api/v1/auth/me", headers={"X-API-Key": f"phq_x{i}.y"}) for i in range(4)]
        assert [r.status_code for r in forged] == [401, 401, 401, 429]
        assert int(forged[-1].headers["Retry-After"]) > 0
        assert w.client.get("/api/v1/auth/me", headers=w.h("service")).status_code == 200
        rows = [e for e in _logins(w) if e.details["outcome"] == "denied"]
        assert [e.resource for e in rows] == ["api_key"] * 3 + ["rate_limit"]
    finally:
        w.client.__exit__(None, None, None)


# ---- the real server, started the way `phqwatch serve` starts it -----------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "PHQWATCH_DATABASE_URL": url, "PHQWATCH_LOGIN_FAILURES_PER_ACCOUNT": "3"}
    env.pop("PHQWATCH_TRUSTED_PROXIES", None)
    cmd = [sys.executable, "-m", "phqwatch.cli", "serve", "--port", str(port), "--no-worker", "--log-level", "warning"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_served_app_ignores_forwarded_for_from_loopback(sqlite_url):
    """uvicorn believes X-Forwarded-For from loopback by default; `phqwatch serve` must not."""
    w = build_world(sqlite_url)  # creates and seeds the database; the served process uses the same file
    w.client.__exit__(None, None, None)
    port = _free_port()
    proc = _serve(sqlite_url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (proc.stderr.read() or b"").decode()[-2000:]
            time.sleep(0.2)
        codes = [
            httpx.post(f"{base}/api/v1/auth/token", data=BAD, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
            for i in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        with w.ctx.db.read() as s:
            ips = set(s.scalars(select(AuditEntry.ip).where(AuditEntry.action == "login")))
        assert ips == {"127.0.0.1"}  # the real peer; no forged address reached the audit log
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        w.ctx.db.dispose()
