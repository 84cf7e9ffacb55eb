"""Screen a stream of transcript messages: every user message with its conversation context, in batches.

Pure (messages in, rows out); the CLI does the file I/O. Context is kept per (user, conversation) in
stream order: the last ``MAX_CONTEXT_TURNS`` turns before each message.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from phqwatch.safety.context import Turn
from phqwatch.safety.screen import CrisisScreen
from phqwatch.transcripts.schema import Message

__all__ = ["SCREEN_COLUMNS", "MAX_CONTEXT_TURNS", "screen_messages"]

SCREEN_COLUMNS = ("message_id", "user_id", "conversation_id", "flag", "severity", "categories", "score", "rules")
#: Turns of the same conversation read with each user message.
MAX_CONTEXT_TURNS = 6
_BATCH = 256


def screen_messages(messages: Iterable[Message], screen: CrisisScreen) -> Iterator[dict[str, Any]]:
    """One row per user message (``SCREEN_COLUMNS``), in input order."""
    history: dict[tuple[str, str], deque[Turn]] = {}
    batch: list[tuple[Message, tuple[Turn, ...], int]] = []
    n = 0
    for m in messages:
        key = (m.user_id, m.conversation_id)
        turns = history.setdefault(key, deque(maxlen=MAX_CONTEXT_TURNS))
        if m.role == "user":
            n += 1
            batch.append((m, tuple(turns), n))
            if len(batch) >= _BATCH:
                yield from _flush(batch, screen)
                batch = []
        turns.append(Turn(m.role, m.text))
    if batch:
        yield from _flush(batch, screen)


def _flush(batch: list[tuple[Message, tuple[Turn, ...], int]], screen: CrisisScreen) -> Iterator[dict[str, Any]]:
    results = screen.screen_many([m.text for m, _, _ in batch], [c for _, c, _ in batch])
    for (m, _, n), r in zip(batch, results, strict=True):
        yield {
            "message_id": m.message_id or f"{m.user_id}:{m.conversation_id}:{n}",
            "user_id": m.user_id,
            "conversation_id": m.conversation_id,
            "flag": r.flag,
            "severity": r.severity,
            "categories": ";".join(r.categories),
            "score": None if r.score is None else round(r.score, 4),
            "rules": ";".join(r.rules),
        }
