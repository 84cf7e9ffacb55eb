"""LLM draft through the teacher client; the HTTP boundary is faked with httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json

import httpx

from phqwatch.config import Settings
from phqwatch.reports.llm_draft import draft_llm, draft_with_fallback
from phqwatch.teacher.client import TeacherClient

from .conftest import NOW


def _settings(tmp_path) -> Settings:
    return Settings(
        teacher_base_url="http://127.0.0.1:9/v1",
        teacher_model="test-model",
        teacher_max_retries=0,
        teacher_cache_path=tmp_path / "c.sqlite",
    )


def _server(answer: dict, seen: list):
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        body = {"choices": [{"message": {"content": json.dumps(answer)}, "finish_reason": "stop"}], "usage": {}}
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handler)


def test_claims_are_kept_only_with_verified_quotes(tmp_path, estimate, conversations):
    answer = {
        "reasoning": "step by step",
        "claims": [
            {"item": 3, "claim": "Reports trouble sleeping most nights.", "quote": "I lie awake until 3 most nights"},
            {"item": 2, "claim": "Says they feel hopeless.", "quote": "I have no hope left at all"},  # not in text
            {"item": 12, "claim": "bad item", "quote": "We had pasta."},
        ],
    }
    seen: list = []
    s = _settings(tmp_path)

    async def run():
        client = TeacherClient(s, transport=_server(answer, seen))
        try:
            return await draft_llm(estimate, settings=s, conversations=conversations, client=client, now=NOW)
        finally:
            await client.aclose()

    r = asyncio.run(run())
    assert r["generator"]["kind"] == "llm" and r["generator"]["claims_dropped"] == 2
    assert [c["quote"] for c in r["llm_claims"]] == ["I lie awake until 3 most nights"]
    assert r["llm_claims"][0]["conversation_id"] == "c-1"
    assert r["llm_claims"][0]["criteria"][0]["id"] == "C4"
    assert any("2 LLM claim(s) were dropped" in x for x in r["limitations"])
    # retrieval and structured output went into the request; the transcript is delimited
    body = seen[0]
    assert body["response_format"]["type"] == "json_schema"
    user = body["messages"][1]["content"]
    assert "Sleeping too little or too much" in user and "<patient_messages>" in user


def test_failure_falls_back_to_template_and_says_so(tmp_path, estimate, conversations):
    s = _settings(tmp_path)  # nothing listens on port 9: connection refused
    r = draft_with_fallback(estimate, settings=s, conversations=conversations, now=NOW)
    assert r["generator"]["kind"] == "template"
    assert "LLM draft failed" in r["generator"]["fallback_reason"]
    assert r["items"][2]["quotes"]
