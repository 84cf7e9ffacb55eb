"""The transcript contract: messages, per-user text, administered questionnaires and scoring windows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

ROLES = ("user", "assistant")
_WORD = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)


def count_words(text: str) -> int:
    """Words as runs of letters/digits (apostrophes kept inside words)."""
    return sum(1 for _ in _WORD.finditer(text))


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a conversation. `role` is 'user' (the person) or 'assistant' (the app)."""

    user_id: str
    conversation_id: str
    role: str
    text: str
    timestamp: datetime | None = None
    message_id: str | None = None


@dataclass(slots=True)
class UserText:
    """Everything one user said (optionally with the app's turns), assembled for scoring."""

    user_id: str
    text: str
    n_user_words: int
    n_messages: int = 0
    n_conversations: int = 0
    first: datetime | None = None
    last: datetime | None = None
    #: (conversation_id, message index within the assembled text) for evidence links.
    conversation_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Questionnaire:
    """An administered PHQ-9: a total and, when known, the nine item scores."""

    user_id: str
    date: date
    total: int
    items: tuple[int, ...] | None = None


@dataclass(slots=True)
class Window:
    """A user's conversation text in the `days` before an administered PHQ-9 (its recall period)."""

    user_id: str
    date: date
    start: datetime
    end: datetime
    text: str
    n_user_words: int
    n_messages: int
    label: int
    items: tuple[int, ...] | None = None
