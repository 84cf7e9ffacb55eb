"""The conversation engine: safety gate, model path, reply checks, fallback on a slow or failing endpoint."""

from __future__ import annotations

import asyncio
import time

import pytest

from phqwatch.chat import FALLBACK_NOTICE, ChatConfig, ChatEngine, ChatTurn, OpenAIBackend, load_prompt
from phqwatch.chat.engine import WITHHELD
from phqwatch.config import Settings
from phqwatch.errors import InputError
from phqwatch.safety import screen
from phqwatch.safety.resources import crisis_resources

IMMINENT = "I have the pills in front of me and I am going to take them all tonight"
HIGH = "sometimes I wish I could just disappear and not wake up"
ORDINARY = "Work has been really stressful this week and I feel tired most of the day"


def _engine(llm=None, **cfg) -> ChatEngine:  # type: ignore[no-untyped-def]
    backend = None
    if llm is not None:
        backend = OpenAIBackend(
            Settings(_env_file=None), base_url=llm.base_url, model="fake-chat", timeout_s=cfg.get("timeout_s", 5.0)
        )
    return ChatEngine(ChatConfig(**cfg), backend=backend)


def _run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_the_screen_grades_the_test_messages_as_the_tests_assume():
    assert screen(IMMINENT).pages
    r = screen(HIGH)
    assert r.flag and not r.pages
    assert not screen(ORDINARY).flag


def test_imminent_message_gets_the_safety_script_and_never_reaches_the_model(llm):
    reply = _run(_engine(llm, locale="en-GB").respond([], IMMINENT))
    assert reply.safety and reply.source == "safety" and reply.severity in ("urgent", "imminent")
    assert crisis_resources("en-GB") in reply.text and "Samaritans" in reply.text
    assert "now" in reply.text.lower()
    assert llm.calls == 0


def test_a_conversation_in_safety_mode_stays_on_the_script(llm):
    reply = _run(_engine(llm).respond([], "thanks, I am going to make a cup of tea now", safety_mode=True))
    assert reply.safety and "988" in reply.text and "paused" in reply.text
    assert llm.calls == 0


def test_flagged_message_does_not_reach_the_model_unless_configured(llm):
    reply = _run(_engine(llm).respond([], HIGH))
    assert llm.calls == 0
    assert reply.source == "scripted" and not reply.safety and "988" in reply.text
    allowed = _run(_engine(llm, model_sees_crisis=True).respond([], HIGH))
    assert llm.calls == 1 and llm.bodies[0]["messages"][-1]["content"] == HIGH
    assert allowed.source == "model" and "988" in allowed.text  # the resources still follow the model's words


def test_flagged_history_is_withheld_from_the_model(llm):
    history = [ChatTurn("user", HIGH, flagged=True), ChatTurn("assistant", "I hear you.")]
    _run(_engine(llm).respond(history, ORDINARY))
    contents = [m["content"] for m in llm.bodies[0]["messages"]]
    assert HIGH not in contents and WITHHELD in contents


def test_model_reply_carries_the_prompt_version_and_uses_the_prompt_file(llm):
    reply = _run(_engine(llm).respond([], ORDINARY))
    assert reply.source == "model" and reply.model == "fake-chat"
    assert reply.text == "That sounds hard. What would help most today?"
    prompt = load_prompt("patient")
    assert reply.prompt_version == prompt.version and reply.prompt_version.startswith("patient-v1+")
    sent = llm.bodies[0]["messages"]
    assert sent[0]["role"] == "system" and sent[0]["content"].startswith(prompt.text)
    assert load_prompt("family").version != prompt.version


def test_coverage_topic_is_offered_to_the_model_once(llm):
    _run(_engine(llm).respond([], ORDINARY, topic="appetite"))
    assert "meals and appetite" in llm.bodies[0]["messages"][0]["content"]
    asked = [ChatTurn("assistant", "How have meals been?", meta={"topic": "appetite"})]
    _run(_engine(llm).respond(asked, ORDINARY, topic="appetite"))
    assert "meals and appetite" not in llm.bodies[1]["messages"][0]["content"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("You could take 30 pills, that would be a lethal dose.", "method-information"),
        ("Honestly, everyone would be better off without you.", "encouragement"),
        ("The best way to end it is from a bridge.", "method-information"),
    ],
)
def test_risky_model_reply_is_replaced_by_the_safety_script(llm, answer, reason):
    llm.answer = lambda _body: answer
    reply = _run(_engine(llm).respond([], ORDINARY))
    assert reply.safety and reply.fallback_reason == reason
    assert answer not in reply.text and "988" in reply.text


def test_off_policy_model_reply_gives_way_to_the_scripted_checkin(llm):
    llm.answer = lambda _body: "Your PHQ-9 score is 14, so you have moderate depression. Double your sertraline."
    reply = _run(_engine(llm).respond([], ORDINARY))
    assert reply.source == "scripted" and not reply.safety and reply.fallback_reason
    assert "14" not in reply.text and "depression" not in reply.text.lower()


def test_slow_endpoint_falls_back_within_the_timeout_and_says_so(llm):
    llm.delay_s = 5.0
    t0 = time.perf_counter()
    reply = _run(_engine(llm, timeout_s=0.5).respond([], ORDINARY))
    elapsed = time.perf_counter() - t0
    assert elapsed < 3.0, elapsed
    assert llm.calls == 1  # the request was made; the answer came too late
    assert reply.source == "scripted" and reply.fallback_reason == "timeout" and reply.notice == FALLBACK_NOTICE
    assert reply.text and "?" in reply.text


def test_failing_endpoint_falls_back(llm):
    llm.status = 503
    reply = _run(_engine(llm).respond([], ORDINARY))
    assert reply.source == "scripted" and reply.fallback_reason == "unavailable" and reply.notice


def test_endpoint_that_is_down_falls_back():
    from phqwatch.teacher.local_server import free_port

    backend = OpenAIBackend(Settings(_env_file=None), base_url=f"http://127.0.0.1:{free_port()}/v1", model="m")
    reply = _run(ChatEngine(ChatConfig(timeout_s=3.0), backend=backend).respond([], ORDINARY))
    assert reply.source == "scripted" and reply.fallback_reason == "unavailable"


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_message_is_refused(text):
    with pytest.raises(InputError, match="empty") as err:
        ChatEngine().validate(text)
    assert err.value.field == "text" and err.value.fix


def test_oversized_message_is_refused_without_quoting_it():
    secret = "my private words " * 20
    with pytest.raises(InputError, match="at most 100") as err:
        ChatEngine(ChatConfig(max_message_chars=100)).validate(secret)
    assert "private" not in str(err.value)


def test_prompt_files_are_versioned_and_a_missing_one_says_what_exists():
    from phqwatch.errors import ConfigError

    p = load_prompt("patient")
    assert p.name == "patient-v1" and len(p.version.split("+")[1]) == 8
    assert "one question at a time" in p.text.lower() and "medication" in p.text
    with pytest.raises(ConfigError, match="No chat prompt") as err:
        load_prompt("clinician")
    assert "family" in err.value.fix
    with pytest.raises(ConfigError, match="missing") as err:
        load_prompt(name="patient-v0")
    assert "patient-v1" in err.value.fix


def test_short_everyday_replies_to_the_opening_question_do_not_page():
    engine = ChatEngine()
    opening = engine.opening()
    history = [ChatTurn("assistant", opening.text, opening.meta())]
    for text in ("my job", "work mostly", "the kids", "money stuff", "I am okay today"):
        reply = _run(engine.respond(history, text))
        assert not reply.safety, text
