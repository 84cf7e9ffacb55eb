"""Fixtures for the chat engine: a real loopback HTTP server playing an OpenAI-compatible model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fake_llm import FakeLLM


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as srv:
        yield srv
