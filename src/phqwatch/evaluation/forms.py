"""Dialogue form of post data: the same user words as a chat with an assistant, to test form robustness.

The shared sets are single posts; users reach phqwatch as chat transcripts. `to_dialogue` turns a post into
a check-in dialogue: the post is cut into user turns of 1-3 consecutive sentences (each turn a verbatim
slice of the post, so the user's words are unchanged and in order), and an assistant prompt precedes every
turn: an opening, then a mix of open follow-ups and PHQ-9 style check-in questions ("How have you been
sleeping?"). Prompts are drawn with a seeded RNG independently of the post's content and label, so they
carry no label information; a model that reads the assistant's words as the user's (a question about sleep
is not a sleep complaint) loses rank, a model that reads the user's words only should not move.

The dialogue is rendered as the scoring text `transcripts.assemble` builds with `include_assistant=True`
(``Assistant: ...`` / ``User: ...`` lines), or as transcript messages.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from phqwatch.transcripts.schema import Message

OPENINGS = (
    "Hi, it's good to hear from you. How have things been since we last talked?",
    "Hello! How are you doing today?",
    "Welcome back. What's been on your mind this week?",
    "Hi there. How has your week been?",
)
FOLLOW_UPS = (
    "Can you tell me more about that?",
    "How did that make you feel?",
    "Thank you for sharing that. What happened next?",
    "That sounds like a lot. How are you coping with it?",
    "I hear you. Is there anything else you'd like to talk about?",
    "What do you think is behind that?",
    "Mm-hm. Go on.",
)
CHECK_INS = (
    "Have you been able to enjoy the things you usually like doing?",
    "How has your mood been over the last two weeks?",
    "How have you been sleeping lately?",
    "How is your energy these days?",
    "How has your appetite been?",
    "How do you feel about yourself at the moment?",
    "Have you had any trouble concentrating on things?",
    "Have you noticed yourself moving or speaking more slowly, or feeling restless?",
    "Have you had any thoughts of hurting yourself or that you'd be better off dead?",
)
#: A turn boundary: whitespace after end punctuation, or a line break (never inside a word like "How...do").
_BREAK = re.compile(r"(?<=[.!?])\s+|\s*[\n\r]+\s*")


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in [*_BREAK.finditer(text), None]:
        end = len(text) if m is None else m.start()
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + len(piece.rstrip())))
        if m is not None:
            start = m.end()
    return spans


def dialogue_turns(text: str, *, seed: int = 0, max_sentences: int = 3, check_in_share: float = 0.5):
    """[(role, text), ...]: assistant prompts interleaved with verbatim user turns of 1-`max_sentences` sentences."""
    rng = random.Random(seed)
    spans = _sentence_spans(text)
    turns: list[tuple[str, str]] = []
    i = 0
    while i < len(spans):
        n = rng.randint(1, max_sentences)
        chunk = spans[i : i + n]
        if not turns:
            prompt = rng.choice(OPENINGS)
        else:
            prompt = rng.choice(CHECK_INS if rng.random() < check_in_share else FOLLOW_UPS)
        turns.append(("assistant", prompt))
        turns.append(("user", text[chunk[0][0] : chunk[-1][1]]))
        i += n
    return turns


def render(turns: Sequence[tuple[str, str]]) -> str:
    """The scoring text of a dialogue with the app's turns included (`Assistant: ` / `User: ` lines)."""
    return "\n".join(f"{role.capitalize()}: {t}" for role, t in turns)


def to_dialogue(text: str, *, seed: int = 0) -> str:
    """The dialogue form of one post, as scoring text."""
    return render(dialogue_turns(text, seed=seed))


def dialogue_form(texts: Sequence[str], *, seed: int = 0) -> list[str]:
    """The dialogue form of each post (post i uses seed `seed * 1_000_003 + i`)."""
    return [to_dialogue(t, seed=seed * 1_000_003 + i) for i, t in enumerate(texts)]


def dialogue_messages(user_id: str, text: str, *, seed: int = 0, conversation_id: str | None = None) -> list[Message]:
    """The dialogue form of one post as transcript messages (one conversation, no timestamps)."""
    cid = conversation_id or f"{user_id}-dialogue"
    return [Message(user_id=user_id, conversation_id=cid, role=r, text=t) for r, t in dialogue_turns(text, seed=seed)]


def user_words(text: str) -> list[str]:
    """The words of the user turns of a rendered dialogue (for checking that they are unchanged)."""
    from phqwatch.models.turns import user_text

    return user_text(text).split()
