"""Conversations and messages: idempotent ingestion, encrypted text, reads for scoring and review."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from phqwatch.errors import ConflictError, InputError, NotFoundError
from phqwatch.store.crypto import TextCipher
from phqwatch.store.people import people_by_external_ids
from phqwatch.store.tables import Conversation, MessageRow, Person, utcnow
from phqwatch.transcripts.schema import ROLES, Message, count_words

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PgInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

#: People whose messages can be ingested (they chat with the app).
CHATTING_ROLES = ("patient", "family")


@dataclass(frozen=True, slots=True)
class Ingested:
    """What happened to one incoming message."""

    index: int
    status: str  # "accepted" | "duplicate"
    message_id: int | None  # stored row id (None for a duplicate)
    person_id: int
    patient_id: int
    role: str
    is_patient: bool  # written by the patient themself (not a family member)
    flagged: bool = False  # a duplicate of a message the crisis screen flagged


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A decrypted message as read back from the store."""

    id: int
    conversation_id: str
    person_id: int
    patient_id: int
    role: str
    text: str
    sent_at: datetime
    external_message_id: str | None
    by_patient: bool
    crisis_flag: bool = False


def _stored(row: MessageRow, conversation_ext: str, cipher: TextCipher) -> StoredMessage:
    """A stored row, decrypted. ``by_patient``: written by the patient themself (not a family member)."""
    return StoredMessage(
        id=row.id,
        conversation_id=conversation_ext,
        person_id=row.person_id,
        patient_id=row.patient_id,
        role=row.role,
        text=cipher.decrypt(row.text_enc),
        sent_at=row.sent_at,
        external_message_id=row.external_message_id,
        by_patient=row.person_id == row.patient_id,
        crisis_flag=bool(row.crisis_flag),
    )


def dedup_key(cipher: TextCipher, m: Message, *, received_at: datetime) -> str:
    """'id:<message id>' when the message has an id, else a keyed hash of its content."""
    if m.message_id:
        return "id:" + m.message_id[:200]
    ts = m.timestamp.isoformat() if m.timestamp else ""
    return "h:" + cipher.keyed_hash(m.user_id, m.conversation_id, m.role, ts, m.text)


def ingest_messages(
    s: Session,
    cipher: TextCipher,
    organisation_id: int,
    messages: Sequence[Message],
    *,
    received_at: datetime | None = None,
) -> list[Ingested]:
    """Store messages once each (by (organisation, message id) or content hash); all or nothing.

    Raises NotFoundError (before writing anything) when a `user_id` is not a patient or family member of
    the organisation, InputError when it is a family member no longer linked to a patient. Messages without
    a timestamp are stamped with `received_at`.
    """
    now = received_at or utcnow()
    people = people_by_external_ids(s, organisation_id, (m.user_id for m in messages))
    patient_of: dict[str, int] = {}  # user_id -> the patient whose record the message joins
    for i, m in enumerate(messages):
        p = people.get(m.user_id)
        if p is None or p.role not in CHATTING_ROLES or not p.active:
            raise NotFoundError(
                f"messages[{i}].user_id '{m.user_id}' is not a known patient or family member of this organisation.",
                fix="Register the person first (POST /api/v1/people with external_id) or check the user_id.",
            )
        if m.role not in ROLES:
            raise InputError(f"role '{m.role}' is not one of {ROLES}", field=f"messages[{i}].role")
        patient_id = p.id if p.role == "patient" else p.linked_patient_id
        if patient_id is None:  # the patient's record was deleted (the link is set to NULL)
            raise InputError(
                f"messages[{i}].user_id '{m.user_id}' is a family member linked to no patient.",
                field=f"messages[{i}].user_id",
                fix="Link the family member to a patient of this organisation, or leave out their messages.",
            )
        patient_of[m.user_id] = patient_id
    keys = [dedup_key(cipher, m, received_at=now) for m in messages]

    existing: dict[str, bool] = {}  # dedup key -> crisis flag of the stored message
    owner: dict[str, int] = {}  # dedup key -> the person who wrote the stored message
    uniq = sorted(set(keys))
    for j in range(0, len(uniq), 500):
        for k, flag, person_id in s.execute(
            select(MessageRow.dedup_key, MessageRow.crisis_flag, MessageRow.person_id).where(
                MessageRow.organisation_id == organisation_id, MessageRow.dedup_key.in_(uniq[j : j + 500])
            )
        ):
            existing[k] = bool(flag)
            owner[k] = person_id
    for i, (m, k) in enumerate(zip(messages, keys, strict=True)):
        # A message id is a retry only when the same person sent it; another person's reuse is a conflict,
        # never a silent duplicate (the message would go unscreened and unstored).
        pid = people[m.user_id].id
        if owner.setdefault(k, pid) != pid:
            raise ConflictError(
                f"messages[{i}].message_id '{m.message_id}' is already used by another person's message.",
                fix="Message ids must be unique within the organisation: send a new message_id for this message.",
            )

    # conversations: (person, external id) -> row id, created when missing
    conv_ids = _conversation_ids(s, organisation_id, [(people[m.user_id], m.conversation_id) for m in messages])

    rows: list[dict] = []
    first_index: dict[str, int] = {}
    for i, (m, k) in enumerate(zip(messages, keys, strict=True)):
        if k in existing or k in first_index:
            continue
        first_index[k] = i
        p = people[m.user_id]
        patient_id = patient_of[m.user_id]
        rows.append(
            {
                "organisation_id": organisation_id,
                "conversation_id": conv_ids[(p.id, m.conversation_id)],
                "person_id": p.id,
                "patient_id": patient_id,
                "role": m.role,
                "text_enc": cipher.encrypt(m.text),
                "n_words": count_words(m.text) if m.role == "user" else 0,
                "sent_at": m.timestamp or now,
                "received_at": now,
                "external_message_id": m.message_id,
                "dedup_key": k,
                "crisis_flag": False,
            }
        )
    inserted: dict[str, int] = {}
    if rows:
        stmt = _insert_ignore(s, MessageRow, ["organisation_id", "dedup_key"])
        result = s.execute(stmt.returning(MessageRow.id, MessageRow.dedup_key), rows)
        inserted = {k: i for i, k in result.all()}
    out: list[Ingested] = []
    for i, (m, k) in enumerate(zip(messages, keys, strict=True)):
        p = people[m.user_id]
        patient_id = patient_of[m.user_id]
        new = k in inserted and first_index.get(k) == i
        out.append(
            Ingested(
                index=i,
                status="accepted" if new else "duplicate",
                message_id=inserted[k] if new else None,
                person_id=p.id,
                patient_id=patient_id,
                role=m.role,
                is_patient=p.role == "patient",
                flagged=not new and existing.get(k, False),
            )
        )
    return out


def _insert_ignore(s: Session, table: type, conflict_cols: list[str]) -> PgInsert | SqliteInsert:
    """INSERT ... ON CONFLICT DO NOTHING for the session's dialect (a concurrent duplicate is skipped)."""
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=conflict_cols)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing(index_elements=conflict_cols)


def _conversation_ids(s: Session, organisation_id: int, pairs: list[tuple[Person, str]]) -> dict[tuple[int, str], int]:
    wanted = {(p.id, ext): p for p, ext in pairs}
    out: dict[tuple[int, str], int] = {}
    person_ids = sorted({pid for pid, _ in wanted})
    for row in s.execute(
        select(Conversation.id, Conversation.person_id, Conversation.external_id).where(
            Conversation.person_id.in_(person_ids),
            Conversation.external_id.in_(sorted({ext for _, ext in wanted})),
        )
    ):
        out[(row.person_id, row.external_id)] = row.id
    for (pid, ext), p in wanted.items():
        if (pid, ext) in out:
            continue
        conv = Conversation(
            organisation_id=organisation_id,
            person_id=pid,
            patient_id=p.id if p.role == "patient" else p.linked_patient_id,
            external_id=ext,
        )
        s.add(conv)
        s.flush()
        out[(pid, ext)] = conv.id
    return out


def recent_turns(
    s: Session,
    cipher: TextCipher,
    organisation_id: int,
    conversations: Sequence[tuple[str, str]],
    *,
    limit: int = 6,
) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """The last ``limit`` stored turns (role, text), oldest first, of each (user external id, conversation
    external id): the context the crisis screen reads with a new message. One query for the whole batch."""
    wanted = list(dict.fromkeys(conversations))
    out: dict[tuple[str, str], list[tuple[str, str]]] = {k: [] for k in wanted}
    for j in range(0, len(wanted), 200):
        chunk = wanted[j : j + 200]
        ranked = (
            select(
                MessageRow.role.label("role"),
                MessageRow.text_enc.label("text_enc"),
                MessageRow.sent_at.label("sent_at"),
                MessageRow.id.label("id"),
                Person.external_id.label("user_ext"),
                Conversation.external_id.label("conv_ext"),
                func.row_number()
                .over(
                    partition_by=MessageRow.conversation_id,
                    order_by=(MessageRow.sent_at.desc(), MessageRow.id.desc()),
                )
                .label("rn"),
            )
            .join(Conversation, Conversation.id == MessageRow.conversation_id)
            .join(Person, Person.id == Conversation.person_id)
            .where(
                MessageRow.organisation_id == organisation_id,
                tuple_(Person.external_id, Conversation.external_id).in_(chunk),
            )
            .subquery()
        )
        rows = s.execute(
            select(ranked.c.role, ranked.c.text_enc, ranked.c.user_ext, ranked.c.conv_ext)
            .where(ranked.c.rn <= limit)
            .order_by(ranked.c.user_ext, ranked.c.conv_ext, ranked.c.sent_at, ranked.c.id)
        )
        for role, enc, user_ext, conv_ext in rows:
            out[(user_ext, conv_ext)].append((role, cipher.decrypt(enc)))
    return out


def message_with_context(
    s: Session, cipher: TextCipher, message_id: int, *, limit: int = 6
) -> tuple[StoredMessage, list[tuple[str, str]]] | None:
    """One stored message, decrypted, with the last ``limit`` turns (role, text) of its conversation before it,
    oldest first (the context the crisis screen read it with). None when there is no such message."""
    found = s.execute(
        select(MessageRow, Conversation.external_id)
        .join(Conversation, Conversation.id == MessageRow.conversation_id)
        .where(MessageRow.id == message_id)
    ).first()
    if found is None:
        return None
    row, ext = found
    message = _stored(row, ext, cipher)
    before = s.execute(
        select(MessageRow.role, MessageRow.text_enc)
        .where(
            MessageRow.conversation_id == row.conversation_id,
            or_(
                MessageRow.sent_at < row.sent_at,
                and_(MessageRow.sent_at == row.sent_at, MessageRow.id < row.id),
            ),
        )
        .order_by(MessageRow.sent_at.desc(), MessageRow.id.desc())
        .limit(limit)
    ).all()
    return message, [(role, cipher.decrypt(enc)) for role, enc in reversed(before)]


def set_crisis_flag(s: Session, message_ids: Sequence[int]) -> None:
    for mid in message_ids:
        row = s.get(MessageRow, mid)
        if row is not None:
            row.crisis_flag = True


def patient_messages(
    s: Session,
    cipher: TextCipher,
    patient_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    roles: Sequence[str] = ("user", "assistant"),
    patient_only: bool = True,
    limit: int | None = None,
) -> list[StoredMessage]:
    """A patient's messages in time order, decrypted. `patient_only=False` adds the family's conversations
    about the patient (marked by_patient=False); callers must check the reader may see them."""
    q = (
        select(MessageRow, Conversation.external_id)
        .join(Conversation, Conversation.id == MessageRow.conversation_id)
        .where(MessageRow.patient_id == patient_id, MessageRow.role.in_(list(roles)))
    )
    if patient_only:
        q = q.where(MessageRow.person_id == patient_id)
    if since is not None:
        q = q.where(MessageRow.sent_at >= since)
    if until is not None:
        q = q.where(MessageRow.sent_at <= until)
    q = q.order_by(MessageRow.sent_at, MessageRow.id)
    if limit is not None:
        q = q.limit(limit)
    return [_stored(r, ext, cipher) for r, ext in s.execute(q)]


def last_message_at(s: Session, patient_id: int, *, role: str = "user") -> datetime | None:
    """Time of the patient's own latest message of `role` (None when there is none)."""
    return s.scalar(
        select(MessageRow.sent_at)
        .where(MessageRow.person_id == patient_id, MessageRow.role == role)
        .order_by(MessageRow.sent_at.desc())
        .limit(1)
    )


def first_message_at(s: Session, patient_id: int, *, role: str = "user") -> datetime | None:
    return s.scalar(
        select(MessageRow.sent_at)
        .where(MessageRow.person_id == patient_id, MessageRow.role == role)
        .order_by(MessageRow.sent_at)
        .limit(1)
    )


def count_messages(s: Session, organisation_id: int | None = None) -> int:
    q = select(func.count(MessageRow.id))
    if organisation_id is not None:
        q = q.where(MessageRow.organisation_id == organisation_id)
    return int(s.scalar(q) or 0)
