"""Read a user's text as turns and sentence units, for models that read at sentence level.

Texts reach an estimator either as the user's own words (turns joined by newlines, the default) or, when
the app's turns are included (`include_assistant`), as lines that start with ``User: `` / ``Assistant: ``
(the format of `transcripts.assemble`). `parse_turns` recovers the turns from both; `user_text` keeps the
user's words only; `user_units` cuts every user turn into sentences (English and Chinese end punctuation),
and long sentences into windows of at most `max_words` words, so nothing is cut off and every unit is a
verbatim substring of the text (usable as a quote). A user turn that is only a short reply ("yes", "not
really") becomes a unit that carries the assistant's preceding question and how strongly the reply affirms
it; the question is never pasted into the user's words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ROLE = re.compile(r"^(User|Assistant):[ \t]?", re.IGNORECASE)
_SENT = re.compile(r"[^.!?。！？；\n\r]+(?:[.!?。！？；]+|$)", re.MULTILINE)
_WORD = re.compile(r"\S+")
_PUNCT = re.compile(r"[\s.!?,;:。！？，；：~…]+$")
#: A unit with no spaces longer than this many characters (e.g. unpunctuated Chinese) is windowed too.
MAX_CHARS = 160


@dataclass(frozen=True, slots=True)
class Turn:
    role: str  # "user" or "assistant"
    text: str


@dataclass(frozen=True, slots=True)
class Unit:
    """One piece of a user's text to read: a sentence (or a window of a long one), or a short reply."""

    text: str
    #: For a short reply: the assistant's question it answers, and how strongly it affirms it (0-1).
    question: str | None = None
    affirm: float = 0.0


def parse_turns(text: str) -> list[Turn]:
    """Turns of `text`: role-prefixed lines start turns; other lines continue the current one.

    Without any role prefix every non-empty line is a user turn.
    """
    lines = text.splitlines()
    if not any(_ROLE.match(ln) for ln in lines):
        return [Turn("user", ln.strip()) for ln in lines if ln.strip()]
    turns: list[list] = []
    for ln in lines:
        m = _ROLE.match(ln)
        if m:
            turns.append([m.group(1).lower(), ln[m.end() :]])
        elif turns:
            turns[-1][1] += "\n" + ln
        elif ln.strip():
            turns.append(["user", ln])
    return [Turn(r, t.strip()) for r, t in turns if t.strip()]


_ANY_ROLE = re.compile(r"^(?:User|Assistant):", re.IGNORECASE | re.MULTILINE)


def strip_assistant(text: str) -> str:
    """The user's words of a role-prefixed text (assistant turns dropped); any other text unchanged."""
    return user_text(text) if _ANY_ROLE.search(text) else text


def user_text(text: str) -> str:
    """The user's words only (assistant turns dropped), turns joined by newlines."""
    return "\n".join(t.text for t in parse_turns(text) if t.role == "user")


def _windows(sentence: str, max_words: int) -> list[str]:
    words = list(_WORD.finditer(sentence))
    if len(words) <= 1 and len(sentence) > MAX_CHARS:
        return [sentence[i : i + MAX_CHARS] for i in range(0, len(sentence), MAX_CHARS)]
    if len(words) <= max_words:
        return [sentence]
    out = []
    for i in range(0, len(words), max_words):
        chunk = words[i : i + max_words]
        out.append(sentence[chunk[0].start() : chunk[-1].end()])
    return out


def split_units(text: str, max_words: int = 48) -> list[str]:
    """Sentences of `text` (stripped, in order), long ones cut into windows of <= `max_words` words."""
    out: list[str] = []
    for m in _SENT.finditer(text):
        s = m.group(0).strip()
        if s:
            out.extend(_windows(s, max_words))
    return out


def _last_question(text: str) -> str:
    sents = split_units(text, 10_000)
    asked = [s for s in sents if s.endswith(("?", "？"))]
    return (asked or sents or [text])[-1]


def short_reply_value(reply: str, answers: dict[str, float], max_words: int) -> float | None:
    """How strongly a short reply affirms a question (0-1), or None when it is not a known short reply."""
    key = _PUNCT.sub("", reply.strip().lower().replace("\u2019", "'"))
    key = key.rstrip(",. ")
    if not key or len(key.split()) > max_words:
        return None
    if key in answers:
        return answers[key]
    first = re.split(r"[,，]\s*", key, maxsplit=1)[0]  # "yes, a lot"
    return answers.get(first)


def user_units(
    text: str, *, answers: dict[str, float] | None = None, max_words: int = 48, short_max_words: int = 4
) -> list[Unit]:
    """Every user sentence as a unit; known short replies after an assistant question carry that question."""
    units: list[Unit] = []
    question: str | None = None
    for turn in parse_turns(text):
        if turn.role == "assistant":
            question = _last_question(turn.text)
            continue
        value = short_reply_value(turn.text, answers, short_max_words) if answers and question else None
        if value is not None:
            units.append(Unit(turn.text, question, value))
        else:
            units.extend(Unit(s) for s in split_units(turn.text, max_words))
        question = None
    return units
