"""The chat's vocabulary: a turn of history, the engine's configuration, and what a reply carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["patient", "family"]
#: Where a reply's text came from: the configured model, the scripted check-in, or the fixed safety script.
Source = Literal["model", "scripted", "safety"]
KINDS: tuple[str, ...] = ("patient", "family")


@dataclass(frozen=True)
class ChatTurn:
    """One earlier turn of the conversation (oldest first). ``meta``: what the engine recorded with its own
    replies (stage, topic, source); ``flagged``: the crisis screen flagged this user turn."""

    role: str  # "user" or "assistant"
    text: str
    meta: dict = field(default_factory=dict)
    flagged: bool = False


@dataclass(frozen=True)
class ChatConfig:
    """How the engine answers. ``model_sees_crisis``: a user message the screen flagged (high and above)
    may reach the model (the current turn at "high", and later as history); imminent and urgent messages
    always get the fixed safety script, whatever this says."""

    locale: str = "en-US"
    crisis_text: str | None = None
    model_sees_crisis: bool = False
    timeout_s: float = 20.0
    max_message_chars: int = 2000
    max_reply_tokens: int = 300
    max_reply_chars: int = 1200
    history_turns: int = 12
    #: The scripted check-in closes with a summary after this many user turns.
    closing_after: int = 6


@dataclass(frozen=True)
class Reply:
    """The assistant's answer to one user message."""

    text: str
    source: Source
    prompt_version: str
    stage: str  # open, reflect, topic, homework, summary, after, safety, support
    topic: str | None = None  # the PHQ-9 domain this reply gently asks about, if any
    theme: str | None = None  # the theme of the person's words the scripted follow-up took up
    model: str | None = None
    notice: str | None = None  # told plainly to the person (e.g. the model did not answer)
    fallback_reason: str | None = None  # why the model's text was not used (no text, only a kind)
    severity: str = "none"  # the crisis screen's decision on the user message
    safety: bool = False  # the reply is the fixed safety script

    def meta(self) -> dict:
        """What is stored with the reply (no message text)."""
        out = {"source": self.source, "stage": self.stage, "severity": self.severity}
        if self.topic:
            out["topic"] = self.topic
        if self.theme:
            out["theme"] = self.theme
        if self.model:
            out["model"] = self.model
        if self.fallback_reason:
            out["fallback"] = self.fallback_reason
        return out
