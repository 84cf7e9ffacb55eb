"""The conversation engine: every user message passes the crisis screen before any model sees it; imminent
and urgent hits get the fixed safety script; the model (when configured) answers under the CBT-informed
prompt within a timeout, and its reply is checked before anyone reads it; otherwise the scripted check-in.

    engine = ChatEngine(ChatConfig(), backend=backend_from_settings(settings))
    reply = await engine.respond(history, "I have not slept properly all week", topic="energy")
    reply.text, reply.source, reply.prompt_version

No I/O besides the model call, no database, no web; no message text in logs.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence

from phqwatch.chat.backend import ModelBackend
from phqwatch.chat.coverage import domain
from phqwatch.chat.gate import SAFETY_VERSION, check_reply, high_risk_note, safety_followup, safety_script
from phqwatch.chat.prompt import load_prompt
from phqwatch.chat.script import SCRIPT_VERSION, opening, scripted_reply
from phqwatch.chat.types import ChatConfig, ChatTurn, Kind, Reply
from phqwatch.errors import InputError, TeacherError
from phqwatch.safety import CrisisScreen, ScreenResult, Turn, default_screen
from phqwatch.safety.resources import crisis_resources
from phqwatch.safety.stream import MAX_CONTEXT_TURNS

__all__ = ["ChatEngine", "FALLBACK_NOTICE", "WITHHELD"]

log = logging.getLogger("phqwatch.chat")

FALLBACK_NOTICE = (
    "The assistant's language model is not answering right now, so this reply comes from the simple built-in "
    "check-in. Your message was saved and your care team can read it."
)
#: What the model reads in place of a flagged message when it may not see crisis messages.
WITHHELD = "(This message was shared with the person's care team and is not shown here.)"


class ChatEngine:
    """One engine per process (it holds the screen and the model backend, no per-conversation state)."""

    def __init__(
        self,
        config: ChatConfig | None = None,
        *,
        backend: ModelBackend | None = None,
        screen: CrisisScreen | None = None,
    ) -> None:
        self.config = config or ChatConfig()
        self.backend = backend
        self._screen = screen

    @property
    def screen(self) -> CrisisScreen:
        if self._screen is None:
            self._screen = default_screen()
        return self._screen

    # ------------------------------------------------------------------------------------------ input
    def validate(self, text: str | None, *, field: str = "text") -> str:
        """The message stripped; InputError for an empty or oversized one (the error never quotes it)."""
        stripped = (text or "").strip()
        if not stripped:
            raise InputError("The message is empty.", field=field, fix="Type a message before sending.")
        limit = self.config.max_message_chars
        if len(stripped) > limit:
            raise InputError(
                f"The message has {len(stripped)} characters; at most {limit} are accepted.",
                field=field,
                fix="Shorten it, or send it as several messages.",
            )
        return stripped

    def opening(self, kind: Kind = "patient", name: str | None = None) -> Reply:
        """The first assistant turn of a new conversation (the agenda question); never a model call."""
        return Reply(opening(kind, name), "scripted", SCRIPT_VERSION, "open")

    # ------------------------------------------------------------------------------------------ replies
    def screen_message(self, history: Sequence[ChatTurn], text: str) -> ScreenResult:
        context = [Turn(t.role, t.text) for t in history[-MAX_CONTEXT_TURNS:]]
        return self.screen.screen(text, context)

    def safety_reply(self, severity: str, *, followup: bool = False, reason: str | None = None) -> Reply:
        c = self.config
        text = safety_followup(c.locale, c.crisis_text) if followup else safety_script(c.locale, c.crisis_text)
        return Reply(text, "safety", SAFETY_VERSION, "safety", severity=severity, safety=True, fallback_reason=reason)

    async def respond(
        self,
        history: Sequence[ChatTurn],
        text: str,
        *,
        kind: Kind = "patient",
        topic: str | None = None,
        screened: ScreenResult | None = None,
        safety_mode: bool = False,
    ) -> Reply:
        """The reply to ``text`` after ``history`` (oldest first). ``screened``: the crisis screen's decision
        already made on this message (ingestion screens it); otherwise the engine screens it first.
        ``safety_mode``: the conversation already switched to the safety script. ``topic``: a coverage domain
        key to ask about gently if it fits."""
        text = self.validate(text)
        result = screened if screened is not None else self.screen_message(history, text)
        if safety_mode:
            return self.safety_reply(result.severity, followup=True)
        if result.pages:
            return self.safety_reply(result.severity)
        c = self.config
        offered = topic if topic and not any(t.meta.get("topic") for t in history if t.role == "assistant") else None
        if result.flag and _clear(result) and (self.backend is None or not c.model_sees_crisis):
            return self._support(result.severity)
        if self.backend is None or (result.flag and not c.model_sees_crisis):
            return self._scripted(history, text, kind, offered, result)
        prompt = load_prompt(kind)
        messages = self._messages(prompt.text, history, text, offered)
        try:
            content = await asyncio.wait_for(
                self.backend.complete(messages, max_tokens=c.max_reply_tokens), timeout=c.timeout_s
            )
        except TimeoutError:
            log.warning("chat model did not answer within %.1fs; scripted check-in used", c.timeout_s)
            return self._scripted(history, text, kind, offered, result, notice=FALLBACK_NOTICE, reason="timeout")
        except TeacherError as exc:
            log.warning("chat model call failed (%s); scripted check-in used", getattr(exc, "kind", type(exc).__name__))
            return self._scripted(history, text, kind, offered, result, notice=FALLBACK_NOTICE, reason="unavailable")
        reply = _clean(content, c.max_reply_chars)
        if not reply:
            return self._scripted(history, text, kind, offered, result, notice=FALLBACK_NOTICE, reason="empty")
        verdict = check_reply(reply, screen=self.screen)
        if verdict is not None:
            what, why = verdict
            log.warning("chat model reply withheld (%s)", why)
            if what == "risk":
                return self.safety_reply(result.severity, reason=why)
            return self._scripted(history, text, kind, offered, result, reason=why)
        if result.flag:
            reply = f"{reply}\n\n{high_risk_note(c.locale, c.crisis_text)}"
        return Reply(
            reply, "model", prompt.version, "model", topic=offered, model=self.backend.name, severity=result.severity
        )

    # ------------------------------------------------------------------------------------------ helpers
    def _support(self, severity: str) -> Reply:
        c = self.config
        text = (
            "Thank you for trusting me with that; it sounds really hard. "
            f"{high_risk_note(c.locale, c.crisis_text)} "
            "If you would like to, tell me a little more about what has been happening."
        )
        return Reply(text, "scripted", SCRIPT_VERSION, "support", severity=severity)

    def _scripted(
        self,
        history: Sequence[ChatTurn],
        text: str,
        kind: Kind,
        topic: str | None,
        result: ScreenResult,
        *,
        notice: str | None = None,
        reason: str | None = None,
    ) -> Reply:
        turn = scripted_reply(history, text, kind=kind, topic=topic, closing_after=self.config.closing_after)
        body = turn.text
        if result.flag:  # the learned model alone flagged it (a clear flag gets `_support`): resources, plainly
            body = f"{body}\n\n{crisis_resources(self.config.locale, self.config.crisis_text)}"
        return Reply(
            body,
            "scripted",
            SCRIPT_VERSION,
            turn.stage,
            topic=turn.topic,
            notice=notice,
            fallback_reason=reason,
            severity=result.severity,
            theme=turn.theme,
        )

    def _messages(self, system: str, history: Sequence[ChatTurn], text: str, topic: str | None) -> list[dict[str, str]]:
        if topic:
            system += (
                f"\n\nIn this conversation, once the person's own agenda has had room and only if it fits naturally, "
                f"gently ask one everyday question about {domain(topic).hint}. Do not use questionnaire wording and "
                "never give a score."
            )
        out = [{"role": "system", "content": system}]
        for t in history[-self.config.history_turns :]:
            if t.role not in ("user", "assistant"):
                continue
            body = WITHHELD if t.flagged and t.role == "user" and not self.config.model_sees_crisis else t.text
            out.append({"role": t.role, "content": body})
        out.append({"role": "user", "content": text})
        return out


def _clear(result: ScreenResult) -> bool:
    """A flag that rests on the rules or the conversation context, not on the learned model's score alone
    (whose low threshold favours recall): the reply acknowledges it before anything else."""
    return bool({"rules", "context"} & set(result.detectors))


def _clean(content: str, limit: int) -> str:
    """The model's reply without role prefixes or think blocks, clipped at a sentence end within ``limit``."""
    text = re.sub(r"<think>.*?</think>", "", content, flags=re.DOTALL)
    text = re.sub(r"^\s*(?:assistant|AI|bot)\s*:\s*", "", text, flags=re.IGNORECASE).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    return cut[: end + 1] if end > limit // 2 else cut.rstrip() + "..."
