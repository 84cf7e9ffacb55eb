"""Fixtures for service tests: an app on a real database with an organisation and one person per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from phqwatch.config import Settings

from .tiny_model import fitted

PASSWORD = "correct-horse-battery"


@dataclass
class World:
    """A running app (TestClient) and who is in it."""

    client: Any
    app: Any
    settings: Settings
    ids: dict[str, int] = field(default_factory=dict)
    api_key: str = ""
    tokens: dict[str, str] = field(default_factory=dict)

    def login(self, username: str, password: str = PASSWORD) -> str:
        r = self.client.post("/api/v1/auth/token", data={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def h(self, who: str) -> dict[str, str]:
        """Auth headers for a named person ('service' uses the API key)."""
        if who == "service":
            return {"X-API-Key": self.api_key}
        if who not in self.tokens:
            self.tokens[who] = self.login(who)
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    @property
    def ctx(self) -> Any:
        return self.app.state.ctx


def build_world(url: str, *, worker: bool = False, **settings_kw: Any) -> World:
    from fastapi.testclient import TestClient

    from phqwatch.server import create_app
    from phqwatch.server.auth import hash_password
    from phqwatch.store import people, upgrade

    upgrade(url)
    settings = Settings(database_url=url, **settings_kw)
    app = create_app(settings, worker=worker, model=fitted(), migrate=False, pages=False)
    client = TestClient(app)
    client.__enter__()
    w = World(client, app, settings)
    pw = hash_password(PASSWORD)
    with app.state.ctx.db.write() as s:
        org = people.create_organisation(s, "clinic", "Clinic")
        other = people.create_organisation(s, "other", "Other clinic")
        mk = people.create_person
        w.ids["admin"] = mk(s, organisation_id=org.id, role="admin", username="admin", password_hash=pw).id
        w.ids["doc"] = mk(s, organisation_id=org.id, role="clinician", username="doc", password_hash=pw).id
        w.ids["doc2"] = mk(s, organisation_id=org.id, role="clinician", username="doc2", password_hash=pw).id
        w.ids["pat"] = mk(
            s, organisation_id=org.id, role="patient", username="pat", password_hash=pw, external_id="u1"
        ).id
        w.ids["pat2"] = mk(
            s, organisation_id=org.id, role="patient", username="pat2", password_hash=pw, external_id="u2"
        ).id
        w.ids["fam"] = mk(
            s, organisation_id=org.id, role="family", username="fam", password_hash=pw, external_id="u1-fam",
            linked_patient_id=w.ids["pat"],
        ).id  # fmt: skip
        svc = mk(s, organisation_id=org.id, role="service", display_name="chat app")
        w.ids["service"] = svc.id
        _, w.api_key = people.create_api_key(s, svc.id, "tests")
        w.ids["other_admin"] = mk(
            s, organisation_id=other.id, role="admin", username="other_admin", password_hash=pw
        ).id
        w.ids["other_pat"] = mk(s, organisation_id=other.id, role="patient", external_id="u1").id
        people.assign_clinician(s, w.ids["doc"], w.ids["pat"])
        people.assign_clinician(s, w.ids["doc2"], w.ids["pat2"])
    return w


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    """The app on SQLite and (marked postgres) PostgreSQL, without a background worker."""
    w = build_world(db_url)
    try:
        yield w
    finally:
        w.client.__exit__(None, None, None)


@pytest.fixture
def sqlite_world(sqlite_url: str) -> Iterator[World]:
    w = build_world(sqlite_url)
    try:
        yield w
    finally:
        w.client.__exit__(None, None, None)


def msg(
    user: str = "u1",
    text: str = "hello",
    mid: str | None = None,
    conv: str = "c1",
    role: str = "user",
    ts: str | None = "2026-01-10T10:00:00Z",
) -> dict:  # noqa: E501
    d: dict = {"user_id": user, "conversation_id": conv, "role": role, "text": text}
    if ts:
        d["timestamp"] = ts
    if mid:
        d["message_id"] = mid
    return d
