"""Per-user text assembly: group streamed messages by user, drop duplicates, keep memory bounded.

Messages are buffered in memory until `spill_chars` characters are held; past that everything moves to
a temporary SQLite file, so scoring a 1 GB transcript never holds it whole in memory.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from phqwatch.transcripts.schema import Message, UserText, count_words

_ROLE_PREFIX = {"user": "User: ", "assistant": "Assistant: "}


def _key(m: Message) -> bytes:
    ts = m.timestamp.isoformat() if m.timestamp else ""
    raw = "\x1f".join((m.user_id, m.conversation_id, m.role, ts, m.message_id or "", m.text))
    return hashlib.blake2b(raw.encode("utf-8"), digest_size=16).digest()


@dataclass(slots=True)
class AssembleStats:
    messages: int = 0
    duplicates: int = 0
    users: int = 0
    spilled: bool = False


def _sort_key(row: tuple) -> tuple:
    seq, ts = row[0], row[3]
    return (ts is None, ts or "", seq)


def _build(user_id: str, rows: list[tuple], include_assistant: bool) -> UserText:
    rows = sorted(rows, key=_sort_key)
    parts: list[str] = []
    n_words = n_msgs = 0
    convs: list[str] = []
    seen_convs: set[str] = set()
    times = [r[3] for r in rows if r[3]]
    for _seq, conv, role, _ts, text, *_ in rows:
        if role == "user":
            n_words += count_words(text)
            n_msgs += 1
        if role == "user" or include_assistant:
            parts.append(_ROLE_PREFIX[role] + text if include_assistant else text)
            convs.append(conv)
        if conv not in seen_convs:
            seen_convs.add(conv)
    return UserText(
        user_id=user_id,
        text="\n".join(parts),
        n_user_words=n_words,
        n_messages=n_msgs,
        n_conversations=len(seen_convs),
        first=datetime.fromisoformat(min(times)) if times else None,
        last=datetime.fromisoformat(max(times)) if times else None,
        conversation_ids=convs,
    )


def assemble_users(
    messages: Iterable[Message],
    *,
    include_assistant: bool = False,
    spill_chars: int = 200_000_000,
    stats: AssembleStats | None = None,
) -> Iterator[UserText]:
    """Yield one `UserText` per user (sorted by user id); duplicate messages are counted once.

    User text is the user's turns in time order, joined by newlines; with `include_assistant`, every
    turn is prefixed 'User: ' or 'Assistant: '. `n_user_words` always counts the user's words only.
    """
    stats = stats if stats is not None else AssembleStats()
    buf: dict[str, list[tuple]] = defaultdict(list)
    seen: set[bytes] = set()
    held = 0
    db: sqlite3.Connection | None = None
    tmpdir: tempfile.TemporaryDirectory | None = None
    seq = 0
    try:
        for m in messages:
            seq += 1
            k = _key(m)
            ts = m.timestamp.isoformat() if m.timestamp else None
            row = (seq, m.conversation_id, m.role, ts, m.text, k)
            if db is None:
                if k in seen:
                    stats.duplicates += 1
                    continue
                seen.add(k)
                buf[m.user_id].append(row)
                held += len(m.text)
                stats.messages += 1
                if held > spill_chars:
                    tmpdir = tempfile.TemporaryDirectory(prefix="phqwatch-")
                    db = _spill(Path(tmpdir.name) / "messages.sqlite", buf)
                    buf.clear()
                    seen.clear()
                    stats.spilled = True
            else:
                cur = db.execute(
                    "INSERT OR IGNORE INTO m(key, user_id, seq, conv, role, ts, text) VALUES (?,?,?,?,?,?,?)",
                    (k, m.user_id, *row[:5]),
                )
                if cur.rowcount == 0:
                    stats.duplicates += 1
                else:
                    stats.messages += 1
        if db is None:
            for user_id in sorted(buf):
                stats.users += 1
                yield _build(user_id, buf[user_id], include_assistant)
            return
        db.commit()
        current, rows = None, []
        for user_id, *row in db.execute("SELECT user_id, seq, conv, role, ts, text FROM m ORDER BY user_id, seq"):
            if user_id != current and current is not None:
                stats.users += 1
                yield _build(current, rows, include_assistant)
                rows = []
            current = user_id
            rows.append(tuple(row))
        if current is not None:
            stats.users += 1
            yield _build(current, rows, include_assistant)
    finally:
        if db is not None:
            db.close()
        if tmpdir is not None:
            tmpdir.cleanup()


def _spill(path: Path, buf: dict[str, list[tuple]]) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute(
        "CREATE TABLE m(key BLOB PRIMARY KEY, user_id TEXT, seq INTEGER, conv TEXT, role TEXT, ts TEXT, text TEXT)"
    )
    db.execute("CREATE INDEX m_user ON m(user_id, seq)")
    for user_id, rows in buf.items():
        db.executemany(
            "INSERT INTO m(key, user_id, seq, conv, role, ts, text) VALUES (?,?,?,?,?,?,?)",
            ((r[5], user_id, *r[:5]) for r in rows),
        )
    return db
