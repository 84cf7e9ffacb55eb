"""Fakes at the HTTP boundary only: an httpx.MockTransport that plays a scripted OpenAI-compatible server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from phqwatch.config import Settings

SECRET = "sk-test-SECRET-do-not-log-1234567890"


def completion(content: str, *, finish_reason: str = "stop", prompt_tokens: int = 100, completion_tokens: int = 50):
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def rating_json(scores: list[int | None], quotes: dict[int, list[str]] | None = None, total=None, confidence=0.8):
    quotes = quotes or {}
    items = {
        f"item_{n}": {"score": s, "evidence": quotes.get(n, []), "rationale": "r"} for n, s in enumerate(scores, 1)
    }
    if total is None and all(s is not None for s in scores):
        total = sum(scores)
    return json.dumps({"items": items, "total": total, "confidence": confidence})


class FakeServer:
    """Records every request; answers from a handler(request_json, call_index) -> httpx.Response."""

    def __init__(self, handler: Callable[[dict[str, Any], int], httpx.Response]):
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(request)
        self.bodies.append(body)
        return self.handler(body, len(self.bodies) - 1)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        _env_file=None,
        teacher_base_url="http://127.0.0.1:9/v1",
        teacher_model="fake-teacher",
        teacher_api_key=SECRET,
        teacher_max_concurrency=2,
        teacher_max_retries=3,
        teacher_timeout_s=5.0,
        teacher_cache_path=tmp_path / "cache.sqlite",
    )


async def no_sleep(_seconds: float) -> None:
    return None
