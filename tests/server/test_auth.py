"""Passwords, tokens, rate limiting, production secrets and cookie sessions with CSRF."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from phqwatch.config import Settings
from phqwatch.errors import ConfigError
from phqwatch.server.auth import SESSION_COOKIE, issue_token
from phqwatch.store.tables import Person

from .conftest import PASSWORD, build_world


def test_passwords_are_argon2_and_wrong_ones_fail(sqlite_world):
    w = sqlite_world
    with w.ctx.db.read() as s:
        h = s.scalar(select(Person.password_hash).where(Person.username == "doc"))
    assert h.startswith("$argon2id$") and PASSWORD not in h
    r = w.client.post("/api/v1/auth/token", data={"username": "doc", "password": "wrong"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert w.client.post("/api/v1/auth/token", data={"username": "ghost", "password": "x"}).status_code == 401
    me = w.client.get("/api/v1/auth/me", headers=w.h("doc")).json()
    assert (me["username"], me["role"]) == ("doc", "clinician")


def test_login_is_rate_limited_per_username_and_ip(sqlite_url):
    w = build_world(sqlite_url, login_failures_per_account=3)
    try:
        codes = [
            w.client.post("/api/v1/auth/token", data={"username": "doc", "password": "bad"}).status_code
            for _ in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        r = w.client.post("/api/v1/auth/token", data={"username": "doc", "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0  # even the right password waits
        assert w.client.post("/api/v1/auth/token", data={"username": "pat", "password": PASSWORD}).status_code == 200
    finally:
        w.client.__exit__(None, None, None)


def test_tokens_expire_and_are_bound_to_the_secret(sqlite_world):
    w = sqlite_world
    with w.ctx.db.read() as s:
        doc = s.scalar(select(Person).where(Person.username == "doc"))
        forged = issue_token("another-secret", doc)
    assert w.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    good = w.login("doc")
    w.ctx.settings.token_ttl_minutes = 1
    import time

    from itsdangerous import URLSafeTimedSerializer

    old = URLSafeTimedSerializer(w.settings.secret_key.get_secret_value(), salt="phqwatch-access-token")
    real_now = time.time
    try:
        time.time = lambda: real_now() - 3600  # type: ignore[assignment]
        stale = old.dumps({"sub": doc.id, "role": "clinician", "org": doc.organisation_id})
    finally:
        time.time = real_now  # type: ignore[assignment]
    r = w.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {stale}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    assert w.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_production_refuses_dev_secrets(tmp_path):
    from phqwatch.server import create_app

    url = f"sqlite:///{tmp_path / 'p.db'}"
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(Settings(database_url=url, production=True))
    from cryptography.fernet import Fernet

    with pytest.raises(ConfigError, match="ENCRYPTION_KEY"):
        create_app(Settings(database_url=url, production=True, secret_key=SecretStr("s" * 40)))
    app = create_app(
        Settings(
            database_url=url, production=True, secret_key=SecretStr("s" * 40),
            encryption_key=SecretStr(Fernet.generate_key().decode()),
        ),
        pages=False,
    )  # fmt: skip
    assert app.state.ctx.settings.production


def test_cookie_session_needs_csrf_for_changes(sqlite_world):
    w = sqlite_world
    r = w.client.post("/api/v1/auth/session", data={"username": "admin", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert SESSION_COOKIE in cookie and "httponly" in cookie and "samesite=lax" in cookie
    csrf = r.json()["csrf_token"]
    assert w.client.get("/api/v1/auth/me").status_code == 200  # the cookie authenticates reads
    body = {"role": "patient", "external_id": "u9"}
    assert w.client.post("/api/v1/people", json=body).status_code == 403  # no CSRF token
    assert w.client.post("/api/v1/people", json=body, headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    assert w.client.post("/api/v1/people", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    w.client.post("/api/v1/auth/logout")
    assert w.client.get("/api/v1/auth/me").status_code == 401
