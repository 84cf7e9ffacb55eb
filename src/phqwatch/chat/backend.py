"""Model backends: any OpenAI-compatible chat-completions endpoint through the teacher client."""

from __future__ import annotations

from typing import Protocol

import httpx

from phqwatch.chat.types import ChatConfig
from phqwatch.config import Settings

__all__ = ["ModelBackend", "OpenAIBackend", "backend_from_settings", "config_from_settings"]


class ModelBackend(Protocol):
    """What the engine needs from a model: a name, and one completion for a list of chat messages."""

    name: str

    async def complete(self, messages: list[dict[str, str]], *, max_tokens: int) -> str: ...


class OpenAIBackend:
    """One OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama, a hosted API) via `teacher.TeacherClient`:
    no retries (the engine's own timeout decides when to fall back), the teacher's API key and transport."""

    def __init__(
        self,
        settings: Settings,
        *,
        base_url: str,
        model: str,
        timeout_s: float = 20.0,
        temperature: float = 0.7,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = model
        self.base_url = base_url
        self.temperature = temperature
        self._transport = transport
        self._settings = settings.model_copy(
            update={
                "teacher_base_url": base_url,
                "teacher_model": model,
                "teacher_max_retries": 0,
                "teacher_timeout_s": timeout_s,
            }
        )

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIBackend(base_url={self.base_url!r}, model={self.name!r})"

    async def complete(self, messages: list[dict[str, str]], *, max_tokens: int) -> str:
        from phqwatch.teacher.client import TeacherClient

        async with TeacherClient(self._settings, structured="never", transport=self._transport) as client:
            result = await client.chat(messages, max_tokens=max_tokens, temperature=self.temperature)
        return result.content


def backend_from_settings(
    settings: Settings, *, temperature: float = 0.7, transport: httpx.AsyncBaseTransport | None = None
) -> OpenAIBackend | None:
    """The configured chat model (`chat_base_url` + `chat_model`), or None: the scripted check-in."""
    if not settings.chat_base_url or not settings.chat_model:
        return None
    return OpenAIBackend(
        settings,
        base_url=settings.chat_base_url,
        model=settings.chat_model,
        timeout_s=settings.chat_timeout_s,
        temperature=temperature,
        transport=transport,
    )


def config_from_settings(settings: Settings) -> ChatConfig:
    """The engine's configuration from Settings (locale, crisis text, timeout, limits, crisis visibility)."""
    return ChatConfig(
        locale=settings.crisis_locale,
        crisis_text=settings.crisis_text,
        model_sees_crisis=settings.chat_model_sees_crisis,
        timeout_s=settings.chat_timeout_s,
        max_message_chars=settings.chat_max_message_chars,
    )
