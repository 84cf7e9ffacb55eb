"""The chat API: start a conversation, send a message and get the assistant's reply (JSON, or server-sent
events with `.../messages/stream` or `Accept: text/event-stream`), list and read one's own conversations.

Only patients and family members chat, each in their own conversations; a conversation id that is not the
caller's answers 404. Every message is screened for crisis risk and stored before any model sees it.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from phqwatch.errors import PhqwatchError
from phqwatch.server.auth import Principal, require_roles
from phqwatch.server.chat_service import CHAT_ROLES, Accepted, ChatService, Sent, chat_service

router = APIRouter(prefix="/api/v1/conversations", tags=["chat"])


class SendIn(BaseModel):
    text: str = Field(..., description="The message (not empty; at most chat_max_message_chars characters).")
    message_id: str | None = Field(
        None, max_length=80, description="Your id for this message: resending it returns the same reply."
    )


class ReplyOut(BaseModel):
    id: int | None
    text: str
    source: str  # model, scripted or safety
    stage: str
    prompt_version: str
    notice: str | None = None
    safety: bool = False


class SentOut(BaseModel):
    conversation_id: int
    message_id: int | None
    duplicate: bool
    reply: ReplyOut
    status: str  # open, or safety once the conversation switched to the safety script
    crisis: bool
    crisis_text: str | None = None


class StartedOut(BaseModel):
    id: int
    status: str
    reply: ReplyOut


class TurnOut(BaseModel):
    id: int
    role: str  # user or assistant
    text: str
    sent_at: str
    source: str | None = None  # assistant turns: model, scripted or safety
    notice: str | None = None
    safety: bool = False


class ConversationOut(BaseModel):
    id: int
    kind: str  # patient or family
    status: str | None
    started: str
    messages: list[TurnOut]


class ConversationSummaryOut(BaseModel):
    id: int
    status: str | None
    started: str
    messages: int
    last: str | None


class ConversationListOut(BaseModel):
    conversations: list[ConversationSummaryOut]


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"


#: OpenAPI 3.1: the schema of a text/event-stream describes one event.
_EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["accepted", "notice", "delta", "done", "error"]},
        "data": {"type": "string", "description": "A JSON object."},
    },
    "required": ["event", "data"],
}
_EVENTS = {"schema": _EVENT_SCHEMA, "example": 'event: delta\ndata: {"text": "It sounds like "}\n\n'}
_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events: accepted, notice (if any), delta (pieces of the reply), done (the "
        "same body as the JSON answer), or error.",
        "content": {"text/event-stream": _EVENTS},
    }
}


def _reply_out(reply_id: int | None, r: Any) -> ReplyOut:
    return ReplyOut(
        id=reply_id,
        text=r.text,
        source=r.source,
        stage=r.stage,
        prompt_version=r.prompt_version,
        notice=r.notice,
        safety=r.safety,
    )


def sent_out(svc: ChatService, sent: Sent) -> SentOut:
    return SentOut(
        conversation_id=sent.conversation_id,
        message_id=sent.message_id,
        duplicate=sent.duplicate,
        reply=_reply_out(sent.reply_id, sent.reply),
        status=sent.status,
        crisis=sent.crisis,
        crisis_text=svc.crisis_text() if sent.crisis else None,
    )


@router.post("", response_model=StartedOut, status_code=201, summary="Start a check-in conversation")
def start(
    principal: Principal = Depends(require_roles(*CHAT_ROLES)), svc: ChatService = Depends(chat_service)
) -> StartedOut:
    cid, mid, reply = svc.start(principal)
    return StartedOut(id=cid, status="open", reply=_reply_out(mid, reply))


@router.get("", response_model=ConversationListOut, summary="Your own check-in conversations, newest first")
def list_conversations(
    principal: Principal = Depends(require_roles(*CHAT_ROLES)), svc: ChatService = Depends(chat_service)
) -> dict[str, Any]:
    return {"conversations": svc.conversations(principal)}


@router.get("/{conversation_id}", response_model=ConversationOut, summary="One of your conversations, every turn")
def read(
    conversation_id: int,
    principal: Principal = Depends(require_roles(*CHAT_ROLES)),
    svc: ChatService = Depends(chat_service),
) -> dict[str, Any]:
    return svc.view(principal, conversation_id)


@router.post(
    "/{conversation_id}/messages",
    response_model=SentOut,
    responses={200: {"content": {"text/event-stream": _EVENTS}}},
    summary="Send a message; get the reply (JSON, or server-sent events with Accept: text/event-stream)",
)
async def send(
    conversation_id: int,
    body: SendIn,
    request: Request,
    principal: Principal = Depends(require_roles(*CHAT_ROLES)),
    svc: ChatService = Depends(chat_service),
) -> Response:
    if "text/event-stream" in request.headers.get("accept", ""):
        return await _stream(svc, principal, conversation_id, body)
    sent = await svc.send(principal, conversation_id, body.text, body.message_id)
    return JSONResponse(sent_out(svc, sent).model_dump(), headers={"Cache-Control": "no-store"})


@router.post(
    "/{conversation_id}/messages/stream",
    response_class=EventStreamResponse,
    responses=_STREAM_DOC,
    summary="Send a message; the reply as server-sent events",
)
async def send_stream(
    conversation_id: int,
    body: SendIn,
    principal: Principal = Depends(require_roles(*CHAT_ROLES)),
    svc: ChatService = Depends(chat_service),
) -> Response:
    return await _stream(svc, principal, conversation_id, body)


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def chunks(text: str) -> list[str]:
    """The reply in small pieces (a few words each, whitespace kept) for the stream."""
    words = re.findall(r"\S+\s*", text)
    return ["".join(words[i : i + 3]) for i in range(0, len(words), 3)]


async def _stream(svc: ChatService, principal: Principal, conversation_id: int, body: SendIn) -> Response:
    """Errors before the message is stored (empty, too long, rate limit, not yours) are plain HTTP errors; the
    reply is checked whole before its first piece is sent, so nothing unchecked ever reaches the person."""
    from starlette.concurrency import run_in_threadpool

    acc: Accepted = await run_in_threadpool(svc.accept, principal, conversation_id, body.text, body.message_id)

    async def events() -> AsyncIterator[str]:
        crisis = acc.screened is not None and acc.screened.flag
        pages = acc.screened is not None and acc.screened.pages
        yield _event(
            "accepted", {"message_id": acc.message_id, "duplicate": acc.duplicate, "crisis": crisis, "pages": pages}
        )
        try:
            sent = await svc.answer(principal, acc)
        except PhqwatchError as exc:
            yield _event("error", {"detail": exc.message, "fix": exc.fix})
            return
        out = sent_out(svc, sent)
        if out.reply.notice:
            yield _event("notice", {"text": out.reply.notice})
        for piece in chunks(out.reply.text):
            yield _event("delta", {"text": piece})
        yield _event("done", out.model_dump())

    return EventStreamResponse(events(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
