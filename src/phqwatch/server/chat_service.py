"""The chat workflow shared by the API and the pages: start a conversation, send a message, read one back.

Every user message lands through the same ingestion service as imported ones (crisis screen with its stored
context, alerts, dedup, a re-estimation job for the patient's own turns) and is committed before any model is
asked anything; the engine (`phqwatch.chat`) then answers, and the reply is stored with its prompt version.
A conversation belongs to the one person who holds it: nobody else (not the patient for a family member's
chat, not the family member for the patient's) can open it, and a stranger's id reads as "not found".
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from phqwatch.chat import ChatEngine, ChatTurn, Reply, SlidingWindow, backend_from_settings, config_from_settings
from phqwatch.chat.coverage import choose_topic, coverage_gaps
from phqwatch.chat.types import Kind
from phqwatch.errors import NotFoundError, PermissionDeniedError
from phqwatch.safety import ScreenResult
from phqwatch.safety.resources import crisis_resources
from phqwatch.server.auth import Principal, RateLimitedError, deny
from phqwatch.server.context import ServerContext
from phqwatch.server.crisis_alerts import raise_alert
from phqwatch.server.services.ingestion import ingest
from phqwatch.store import conversations as convs
from phqwatch.store.tables import Conversation, Person, utcnow
from phqwatch.transcripts.schema import Message

CHAT_ROLES = ("patient", "family")
#: Coverage looks back this far for evidence, and for domains already asked about.
COVERAGE_DAYS = 7


@dataclass
class Accepted:
    """A user message stored and screened; what the engine needs to answer it."""

    conversation_id: int
    kind: Kind
    message_id: int | None
    duplicate: bool
    text: str
    screened: ScreenResult | None
    history: list[ChatTurn]
    topic: str | None
    safety_mode: bool
    crisis_alert_ids: list[int] = field(default_factory=list)
    user_ref: tuple[str, str] = ("", "")  # (person external id, conversation external id)
    ingested: Any = None


@dataclass
class Sent:
    """The outcome of one message: the stored reply and whether the crisis path opened."""

    conversation_id: int
    message_id: int | None
    reply_id: int | None
    reply: Reply
    duplicate: bool
    crisis: bool
    crisis_alert_ids: list[int]
    status: str


class ChatService:
    """One per app: the engine (screen + model backend) and the per-person rate limit."""

    def __init__(self, ctx: ServerContext, engine: ChatEngine | None = None) -> None:
        self.ctx = ctx
        s = ctx.settings
        self.engine = engine or ChatEngine(
            config_from_settings(s), backend=backend_from_settings(s), screen=ctx.crisis_screen
        )
        self.limiter = SlidingWindow(s.chat_messages_per_minute)

    # ------------------------------------------------------------------------------------------ access
    @staticmethod
    def _chatter(s: Any, principal: Principal) -> tuple[Person, str]:
        """(the caller, their external id): a patient or linked family member who may chat."""
        if principal.role not in CHAT_ROLES:
            raise PermissionDeniedError(
                f"The '{principal.role}' role cannot hold a check-in chat.",
                fix="Patients and family members chat; clinicians read conversations on the patient's page.",
            )
        person = s.get(Person, principal.person_id)
        if person is None or not person.active:
            raise NotFoundError("Your account is not active.", fix="Sign in again or ask the care team.")
        if person.role == "family" and person.linked_patient_id is None:
            raise PermissionDeniedError(
                "This family account is not linked to a patient.", fix="Ask the care team to link your account."
            )
        if not person.external_id:  # a person registered without the chat-app id of the transcript contract
            person.external_id = f"phqwatch-{person.id}"
            s.flush()
        return person, person.external_id

    @staticmethod
    def conversation_for(s: Any, principal: Principal, conversation_id: int) -> Conversation:
        """The caller's own chat conversation, else NotFoundError (whoever else holds it)."""
        conv = convs.get_conversation(s, conversation_id)
        if conv is None or conv.kind != convs.CHAT or conv.person_id != principal.person_id:
            missing = NotFoundError(
                f"No conversation {conversation_id} of yours.",
                fix="Open one of your own conversations (GET /api/v1/conversations) or start a new one.",
            )
            if conv is not None and conv.person_id != principal.person_id:  # someone else's: audited
                deny(missing, patient_id=conv.patient_id, organisation_id=conv.organisation_id, reason="not_own")
            raise missing
        return conv

    # ------------------------------------------------------------------------------------------ start
    def start(self, principal: Principal) -> tuple[int, int | None, Reply]:
        """A new conversation with the opening (agenda) question stored -> (id, opening message id, reply)."""
        ctx = self.ctx
        with ctx.db.write() as s:
            person, user_ext = self._chatter(s, principal)
            kind: Kind = "patient" if person.role == "patient" else "family"
            conv = convs.create_chat(s, person, external_id=f"chat-{uuid.uuid4().hex}")
            reply = self.engine.opening(kind)
            mid = self._store_reply(s, principal, user_ext, conv.external_id, reply)
            return conv.id, mid, reply

    def conversations(self, principal: Principal) -> list[dict[str, Any]]:
        with self.ctx.db.write() as s:
            self._chatter(s, principal)
            return [
                {"id": c.id, "status": c.status, "started": c.created_at.isoformat(), "messages": n,
                 "last": last.isoformat() if last else None}
                for c, n, last in convs.list_chats(s, principal.person_id)
            ]  # fmt: skip

    def view(self, principal: Principal, conversation_id: int) -> dict[str, Any]:
        """The conversation's turns for its holder (no scores, no screen details)."""
        from phqwatch.server.deps import audit_read

        ctx = self.ctx
        with ctx.db.read() as s:
            conv = self.conversation_for(s, principal, conversation_id)
            rows = convs.chat_turns(s, ctx.cipher, conv.id)
            out = {
                "id": conv.id,
                "kind": "patient" if conv.person_id == conv.patient_id else "family",
                "status": conv.status,
                "started": conv.created_at.isoformat(),
                "messages": [_turn_out(r) for r in rows],
            }
            patient_id = conv.patient_id
        audit_read(ctx, principal, "chat", [patient_id], resource_id=conversation_id)
        return out

    # ------------------------------------------------------------------------------------------ send
    def check_rate(self, principal: Principal) -> None:
        wait = self.limiter.hit(principal.person_id)
        if wait is not None:
            raise RateLimitedError(
                f"Too many messages ({self.limiter.per_minute} per minute).",
                retry_after=wait,
                fix=f"Wait {wait} seconds and send it again.",
            )

    def accept(self, principal: Principal, conversation_id: int, text: str, client_id: str | None = None) -> Accepted:
        """Validate, rate-limit, then store and screen the user message (alerts raised, jobs queued) in one
        committed transaction - before any model is asked anything."""
        text = self.engine.validate(text)
        self.check_rate(principal)
        ctx = self.ctx
        now = utcnow()
        with ctx.db.write() as s:
            person, user_ext = self._chatter(s, principal)
            conv = self.conversation_for(s, principal, conversation_id)
            safety_mode = conv.status == "safety"
            rows = convs.chat_turns(s, ctx.cipher, conv.id, limit=self.engine.config.history_turns)
            history = [ChatTurn(r.role, r.text, r.meta, r.crisis_flag) for r in rows]
            mid = f"chat:{person.id}:{(client_id or uuid.uuid4().hex)[:80]}"
            outcome = ingest(
                s,
                ctx.cipher,
                organisation_id=principal.organisation_id,
                items=[Message(user_ext, conv.external_id, "user", text, now, mid)],
                actor_id=principal.person_id,
                actor_role=principal.role,
                ip=principal.ip,
                screen=ctx.crisis_screen,
            )
            r = outcome.results[0]
            screened = outcome.screened.get(0)
            if r.status == "accepted" and screened is not None and screened.pages:
                convs.set_status(s, conv.id, "safety")
            since = now - timedelta(days=COVERAGE_DAYS)
            gaps = coverage_gaps(convs.user_texts_since(s, ctx.cipher, person.id, since))
            topic = choose_topic(gaps, convs.topics_since(s, person.id, since))
            acc = Accepted(
                conversation_id=conv.id,
                kind="patient" if person.role == "patient" else "family",
                message_id=r.message_id,
                duplicate=r.status != "accepted",
                text=text,
                screened=screened,
                history=history,
                topic=topic,
                safety_mode=safety_mode,
                crisis_alert_ids=list(outcome.crisis_alert_ids),
                user_ref=(user_ext, conv.external_id),
                ingested=r,
            )
        if outcome.jobs_queued:
            ctx.job_signal.set()
        return acc

    async def answer(self, principal: Principal, acc: Accepted) -> Sent:
        """The engine's reply to an accepted message, stored with its prompt version."""
        if acc.duplicate:  # a resent form or retried request: the reply already given, no second one
            return await run_in_threadpool(self._replay, principal, acc)
        reply = await self.engine.respond(
            acc.history,
            acc.text,
            kind=acc.kind,
            topic=acc.topic,
            screened=acc.screened,
            safety_mode=acc.safety_mode,
        )
        return await run_in_threadpool(self._finish, principal, acc, reply)

    async def send(self, principal: Principal, conversation_id: int, text: str, client_id: str | None = None) -> Sent:
        acc = await run_in_threadpool(self.accept, principal, conversation_id, text, client_id)
        return await self.answer(principal, acc)

    # ------------------------------------------------------------------------------------------ helpers
    def _store_reply(self, s: Any, principal: Principal, user_ext: str, conv_ext: str, reply: Reply) -> int | None:
        outcome = ingest(
            s,
            self.ctx.cipher,
            organisation_id=principal.organisation_id,
            items=[Message(user_ext, conv_ext, "assistant", reply.text, utcnow(), f"chat-reply:{uuid.uuid4().hex}")],
            actor_id=principal.person_id,
            actor_role=principal.role,
            ip=principal.ip,
            screen=self.ctx.crisis_screen,
        )
        mid = outcome.results[0].message_id
        if mid is not None:
            meta = reply.meta()
            if reply.notice:
                meta["notice"] = reply.notice
            convs.set_reply_meta(s, mid, prompt_version=reply.prompt_version, meta=meta)
        return mid

    def _finish(self, principal: Principal, acc: Accepted, reply: Reply) -> Sent:
        ctx = self.ctx
        alert_ids = list(acc.crisis_alert_ids)
        with ctx.db.write() as s:
            conv = self.conversation_for(s, principal, acc.conversation_id)
            mid = self._store_reply(s, principal, acc.user_ref[0], acc.user_ref[1], reply)
            paged = acc.screened is not None and acc.screened.pages
            if reply.safety and not paged and not acc.safety_mode and acc.ingested is not None:
                # The model's reply was withheld for risk: the safety script says the team was alerted, so it is.
                hit = ScreenResult("urgent", ("suicide",), rules=("chat-reply-check",), detectors=("chat",))
                aid = raise_alert(s, ctx.cipher, principal.organisation_id, acc.ingested, hit, principal.person_id)
                if aid is not None and aid not in alert_ids:
                    alert_ids.append(aid)
            if reply.safety:
                convs.set_status(s, conv.id, "safety")
            status = conv.status or "open"
        crisis = bool(alert_ids) or reply.safety or (acc.screened is not None and acc.screened.flag)
        return Sent(acc.conversation_id, acc.message_id, mid, reply, False, crisis, alert_ids, status)

    def _replay(self, principal: Principal, acc: Accepted) -> Sent:
        with self.ctx.db.read() as s:
            conv = self.conversation_for(s, principal, acc.conversation_id)
            rows = convs.chat_turns(s, self.ctx.cipher, conv.id, limit=4)
            status = conv.status or "open"
        last = next((r for r in reversed(rows) if r.role == "assistant"), None)
        meta = last.meta if last else {}
        reply = Reply(
            last.text if last else "",
            meta.get("source", "scripted"),
            last.prompt_version or "" if last else "",
            meta.get("stage", "replay"),
            safety=meta.get("source") == "safety",
        )
        return Sent(acc.conversation_id, None, last.id if last else None, reply, True, reply.safety, [], status)

    def crisis_text(self) -> str:
        return crisis_resources(self.ctx.settings.crisis_locale, self.ctx.settings.crisis_text)


def _turn_out(r: convs.ChatRow) -> dict[str, Any]:
    d: dict[str, Any] = {"id": r.id, "role": r.role, "text": r.text, "sent_at": r.sent_at.isoformat()}
    if r.role == "assistant":
        d["source"] = r.meta.get("source")
        d["notice"] = r.meta.get("notice")
        d["safety"] = r.meta.get("source") == "safety"
    return d


_lock = threading.Lock()


def chat_service(request: Request) -> ChatService:
    """The app's ChatService, built on first use (FastAPI dependency)."""
    app = request.app
    svc = getattr(app.state, "chat", None)
    if svc is None:
        with _lock:
            svc = getattr(app.state, "chat", None)
            if svc is None:
                svc = ChatService(app.state.ctx)
                app.state.chat = svc
    return svc
