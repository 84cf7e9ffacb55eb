"""Chat conversations held with phqwatch's own chat: create, look up, read back turns (decrypted), record how
each reply was made (prompt version and meta, never text), and the status of a conversation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from phqwatch.store.crypto import TextCipher
from phqwatch.store.tables import Conversation, MessageRow, Person

CHAT = "chat"


@dataclass(frozen=True, slots=True)
class ChatRow:
    """One stored turn of a chat conversation, decrypted."""

    id: int
    role: str
    text: str
    sent_at: datetime
    crisis_flag: bool
    prompt_version: str | None
    meta: dict


def create_chat(s: Session, person: Person, *, external_id: str) -> Conversation:
    """A new chat conversation of ``person`` (a patient, or a family member about their linked patient)."""
    conv = Conversation(
        organisation_id=person.organisation_id,
        person_id=person.id,
        patient_id=person.id if person.role == "patient" else person.linked_patient_id,
        external_id=external_id,
        kind=CHAT,
        status="open",
    )
    s.add(conv)
    s.flush()
    return conv


def get_conversation(s: Session, conversation_id: int) -> Conversation | None:
    return s.get(Conversation, conversation_id)


def list_chats(s: Session, person_id: int, *, limit: int = 50) -> list[tuple[Conversation, int, datetime | None]]:
    """The person's chat conversations, newest first: (conversation, message count, last message time)."""
    q = (
        select(Conversation, func.count(MessageRow.id), func.max(MessageRow.sent_at))
        .outerjoin(MessageRow, MessageRow.conversation_id == Conversation.id)
        .where(Conversation.person_id == person_id, Conversation.kind == CHAT)
        .group_by(Conversation.id)
        .order_by(Conversation.created_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    return [(c, int(n), last) for c, n, last in s.execute(q)]


def chat_turns(s: Session, cipher: TextCipher, conversation_id: int, *, limit: int | None = None) -> list[ChatRow]:
    """The conversation's turns, oldest first (the last ``limit`` when given)."""
    q = (
        select(MessageRow)
        .where(MessageRow.conversation_id == conversation_id)
        .order_by(MessageRow.sent_at.desc(), MessageRow.id.desc())
    )
    if limit is not None:
        q = q.limit(limit)
    rows = list(s.scalars(q))
    rows.reverse()
    return [
        ChatRow(
            r.id,
            r.role,
            cipher.decrypt(r.text_enc),
            r.sent_at,
            bool(r.crisis_flag),
            r.prompt_version,
            dict(r.chat_meta or {}),
        )
        for r in rows
    ]


def set_reply_meta(s: Session, message_id: int, *, prompt_version: str, meta: dict) -> None:
    """Record how an assistant reply was made."""
    row = s.get(MessageRow, message_id)
    if row is not None:
        row.prompt_version = prompt_version[:80]
        row.chat_meta = meta


def set_status(s: Session, conversation_id: int, status: str) -> None:
    conv = s.get(Conversation, conversation_id)
    if conv is not None:
        conv.status = status


def user_texts_since(s: Session, cipher: TextCipher, person_id: int, since: datetime) -> list[str]:
    """What ``person_id`` wrote since ``since`` (every conversation, imported or chat), oldest first."""
    q = (
        select(MessageRow.text_enc)
        .where(MessageRow.person_id == person_id, MessageRow.role == "user", MessageRow.sent_at >= since)
        .order_by(MessageRow.sent_at)
    )
    return [cipher.decrypt(enc) for enc in s.scalars(q)]


def topics_since(s: Session, person_id: int, since: datetime) -> list[str]:
    """Coverage topics the chat asked ``person_id`` about since ``since``."""
    q = select(MessageRow.chat_meta).where(
        MessageRow.person_id == person_id,
        MessageRow.role == "assistant",
        MessageRow.sent_at >= since,
        MessageRow.chat_meta.is_not(None),
    )
    return [m["topic"] for m in s.scalars(q) if isinstance(m, dict) and m.get("topic")]
