"""The scripted check-in (offline default) and coverage of the PHQ-9 domains."""

from __future__ import annotations

import asyncio
import re

from phqwatch import phq9
from phqwatch.chat import ChatEngine, ChatTurn, SlidingWindow, choose_topic, coverage_gaps
from phqwatch.chat.coverage import DOMAINS
from phqwatch.safety import ScreenResult, Turn, screen

NOT_FLAGGED = ScreenResult("none")  # the script's own logic, apart from the screen's grading of each line

USER = [
    "Work has been hard, my boss keeps adding deadlines and I stay late every evening",
    "I end up lying awake at night going over everything I did not finish",
    "Mostly that I am letting the whole team down and should be coping better",
    "I mostly skip lunch and snack at my desk, then eat late in front of the laptop",
    "Maybe I could leave the office at six twice this week and go for a walk",
    "No, I think that covers what I wanted to say today",
]


def _talk(topic: str | None = "appetite", kind: str = "patient") -> list[ChatTurn]:
    engine = ChatEngine()
    opening = engine.opening(kind)  # type: ignore[arg-type]
    history = [ChatTurn("assistant", opening.text, opening.meta())]
    for text in USER:
        r = asyncio.run(
            engine.respond(history, text, kind=kind, topic=topic, screened=NOT_FLAGGED)  # type: ignore[arg-type]
        )
        assert r.source == "scripted" and r.prompt_version == "script-v1" and not r.safety
        history += [ChatTurn("user", text), ChatTurn("assistant", r.text, r.meta())]
    return history


def test_checkin_opens_with_an_agenda_question():
    text = ChatEngine().opening().text
    assert text.endswith("?") and "focus on today" in text


def test_checkin_follows_what_the_person_said_and_closes_with_a_summary():
    history = _talk()
    replies = [t for t in history if t.role == "assistant"]
    stages = [t.meta["stage"] for t in replies]
    assert stages == ["open", "reflect", "reflect", "topic", "homework", "check", "summary"], stages
    # not an echo: no reply repeats the person's message
    for user, reply in zip(USER, replies[1:], strict=True):
        assert user.lower() not in reply.text.lower()
    # the first follow-up takes up the work theme the person raised
    assert replies[1].meta.get("theme") == "work" and "there" in replies[1].text
    # one question at a time
    assert all(t.text.count("?") <= 1 for t in replies[:-1])
    summary = replies[-1].text
    assert "work or study" in summary and "sleep" in summary
    assert "leave the office at six" in summary  # the step the person chose, said back once
    assert "care team" in summary


def test_checkin_after_the_summary_invites_a_new_one():
    engine = ChatEngine()
    history = _talk()
    r = asyncio.run(engine.respond(history, "one more thing, I also argued with my sister", screened=NOT_FLAGGED))
    assert r.stage == "after" and "new check-in" in r.text


def test_family_checkin_asks_about_what_they_observe():
    history = _talk(kind="family")
    replies = [t.text for t in history if t.role == "assistant"]
    assert "your relative will not see it" in replies[0]
    assert "how they are eating" in replies[3]  # the coverage question, about the relative
    assert "relative's care team" in replies[-1]


def test_coverage_question_is_asked_once_in_everyday_words_never_as_a_questionnaire():
    history = _talk(topic="appetite")
    asked = [t for t in history if t.role == "assistant" and t.meta.get("topic")]
    assert len(asked) == 1 and asked[0].meta["topic"] == "appetite"
    for t in history:
        if t.role != "assistant":
            continue
        low = t.text.lower()
        assert "phq" not in low and "score" not in low and "questionnaire" not in low
        assert not re.search(r"\d", t.text)  # never a number
        assert not any(item.text.lower() in low for item in phq9.ITEMS)
        assert not any(r.lower() in low for r in phq9.RESPONSES[1:])


def test_coverage_gaps_come_from_the_estimators_item_evidence():
    gaps = coverage_gaps(["I can't sleep, I lie awake until 4am every night.", "I have no appetite at all."])
    assert "sleep" not in gaps and "appetite" not in gaps
    assert gaps[0] == "energy" and "interest" in gaps
    assert coverage_gaps([]) == [d.key for d in DOMAINS]
    assert all(d.item != 9 for d in DOMAINS)  # self-harm is the screen's work, never a check-in topic


def test_choose_topic_skips_domains_asked_this_week():
    assert choose_topic(["sleep", "energy"], []) == "sleep"
    assert choose_topic(["sleep", "energy"], ["sleep"]) == "energy"
    assert choose_topic(["sleep"], ["sleep"]) is None


def test_sliding_window_limits_per_person():
    now = [0.0]
    w = SlidingWindow(2, clock=lambda: now[0])
    assert w.hit(1) is None and w.hit(1) is None
    wait = w.hit(1)
    assert wait is not None and 1 <= wait <= 61
    assert w.hit(2) is None  # another person is not limited
    now[0] = 61.0
    assert w.hit(1) is None


def test_a_flag_from_the_learned_model_alone_keeps_the_checkin_going_with_resources():
    engine = ChatEngine()
    opening = engine.opening()
    history = [ChatTurn("assistant", opening.text, opening.meta())]
    text = USER[1]
    result = screen(text, [Turn(t.role, t.text) for t in history])
    if not result.flag:  # the shipped model does not flag this line (any more): the plain path is covered above
        return
    assert result.detectors == ("model",)
    r = asyncio.run(engine.respond(history, text))
    assert r.stage == "reflect" and r.severity == "high" and "988" in r.text
