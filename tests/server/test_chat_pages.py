"""Chat pages: the form post works without JavaScript; errors keep the draft; isolation by URL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from browser.pages_world import PASSWORD, PagesWorld, build
from phqwatch.store.tables import Alert, MessageRow

ORDINARY = "Work has been really stressful this week and I have been staying late most evenings"
CRISIS = "I have the pills in front of me and I am going to take them all tonight"


@pytest.fixture
def world(sqlite_url: str) -> Iterator[PagesWorld]:
    w = build(sqlite_url)
    yield w
    w.app.state.ctx.db.dispose()


def _client(w: PagesWorld, username: str) -> TestClient:
    c = TestClient(w.app)
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    return c


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _start(c: TestClient) -> int:
    page = c.get("/chat")
    assert page.status_code == 200 and 'id="start-chat"' in page.text
    r = c.post("/chat/new", data={"csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    return int(r.headers["location"].rsplit("/", 1)[1])


def _post(c: TestClient, cid: int, text: str, nonce: str | None = None):  # type: ignore[no-untyped-def]
    page = c.get(f"/chat/{cid}")
    n = nonce or re.search(r'name="nonce" value="([^"]+)"', page.text).group(1)
    return c.post(f"/chat/{cid}/send", data={"text": text, "nonce": n, "csrf_token": _csrf(page.text)},
                  follow_redirects=False)  # fmt: skip


def test_patient_chats_without_javascript(world):
    c = _client(world, "pat")
    assert 'href="/chat"' in c.get("/me").text
    cid = _start(c)
    page = c.get(f"/chat/{cid}")
    assert "What would you like to focus on today?" in page.text and 'src="/static/chat.js"' in page.text
    r = _post(c, cid, ORDINARY)
    assert r.status_code == 303 and r.headers["location"] == f"/chat/{cid}#latest"
    page = c.get(f"/chat/{cid}")
    assert ORDINARY in page.text and page.text.count('class="msg msg-assistant') == 2
    js = c.get("/static/chat.js")
    assert js.status_code == 200 and "text/event-stream" in js.text
    data = c.get(f"/chat/{cid}.json").json()
    assert [m["role"] for m in data["messages"]] == ["assistant", "user", "assistant"]


def test_resubmitted_form_does_not_send_twice(world):
    c = _client(world, "pat")
    cid = _start(c)
    assert _post(c, cid, ORDINARY, nonce="same-nonce").status_code == 303
    assert _post(c, cid, ORDINARY, nonce="same-nonce").status_code == 303
    with world.app.state.ctx.db.read() as s:
        assert len(s.scalars(select(MessageRow).where(MessageRow.conversation_id == cid)).all()) == 3


def test_empty_message_shows_the_error_on_the_page(world):
    c = _client(world, "pat")
    cid = _start(c)
    r = _post(c, cid, "   ")
    assert r.status_code == 422 and "The message is empty." in r.text and 'id="chat-form"' in r.text


def test_csrf_is_required(world):
    c = _client(world, "pat")
    cid = _start(c)
    r = c.post(f"/chat/{cid}/send", data={"text": ORDINARY, "nonce": "x", "csrf_token": "wrong"})
    assert r.status_code == 403


def test_crisis_turn_shows_the_safety_banner_and_the_alert_reaches_the_clinician(world):
    c = _client(world, "pat")
    cid = _start(c)
    _post(c, cid, CRISIS)
    page = c.get(f"/chat/{cid}")
    assert re.search(r'id="safety-banner" class="crisis">', page.text) and "988" in page.text
    with world.app.state.ctx.db.read() as s:
        assert s.scalar(select(Alert).where(Alert.patient_id == world.ids["pat"], Alert.kind == "crisis"))
        user_rows = s.scalars(select(MessageRow).where(MessageRow.conversation_id == cid, MessageRow.role == "user"))
        assert [r.crisis_flag for r in user_rows] == [True]
    doc = _client(world, "doc")
    page = doc.get(f"/patients/{world.ids['pat']}").text
    assert 'id="alerts-title"' in page and "Possible crisis risk in a message from the patient" in page


def test_family_cannot_open_the_patients_chat_and_vice_versa(world):
    pat = _client(world, "pat")
    pat_cid = _start(pat)
    fam = _client(world, "fam")
    fam_cid = _start(fam)
    assert fam.get(f"/chat/{pat_cid}").status_code == 404
    assert fam.get(f"/chat/{pat_cid}.json").status_code == 404
    assert _post(fam, fam_cid, "He has been much quieter than usual at home this week").status_code == 303
    assert pat.get(f"/chat/{fam_cid}").status_code == 404
    r = pat.post(f"/chat/{fam_cid}/send", data={"text": ORDINARY, "nonce": "n",
                 "csrf_token": _csrf(pat.get("/chat").text)})  # fmt: skip
    assert r.status_code == 404
    # the clinician's view of the family conversation is unchanged: only clinicians see it
    assert fam.get(f"/patients/{world.ids['pat']}/conversations/{pat_cid}").status_code == 403
    doc = _client(world, "doc")
    assert doc.get("/chat").status_code == 403
