"""The dialogue form of posts: the user's words unchanged and in order, assistant prompts between turns."""

from __future__ import annotations

from phqwatch.evaluation.forms import (
    CHECK_INS,
    FOLLOW_UPS,
    OPENINGS,
    dialogue_form,
    dialogue_messages,
    dialogue_turns,
    to_dialogue,
    user_words,
)
from phqwatch.models.turns import parse_turns

POST = (
    "I haven't slept properly in weeks. How...do people manage this? Work is fine I guess.\n"
    "My sister called! We talked for an hour. I still feel empty though. Anyway, that's my week."
)


def test_user_words_are_unchanged_and_in_order() -> None:
    turns = dialogue_turns(POST, seed=3)
    user = [t for r, t in turns if r == "user"]
    assert " ".join(user).split() == POST.split()
    assert all(t in POST for t in user)  # every turn is a verbatim slice
    assert "How...do" in " ".join(user)  # no cut inside a word
    assert user_words(to_dialogue(POST, seed=3)) == POST.split()


def test_prompts_alternate_and_come_from_the_prompt_lists() -> None:
    turns = dialogue_turns(POST, seed=1)
    roles = [r for r, _ in turns]
    assert roles == ["assistant", "user"] * (len(turns) // 2)
    assert turns[0][1] in OPENINGS
    assert all(t in FOLLOW_UPS + CHECK_INS for r, t in turns[2:] if r == "assistant")
    assert len(turns) // 2 >= 3  # 8 sentences in turns of 1-3


def test_rendering_parses_back_and_is_deterministic() -> None:
    text = to_dialogue(POST, seed=7)
    assert text == to_dialogue(POST, seed=7)
    assert [(t.role, t.text) for t in parse_turns(text)] == dialogue_turns(POST, seed=7)
    a, b = dialogue_form([POST, POST], seed=0)
    assert user_words(a) == user_words(b) == POST.split()
    msgs = dialogue_messages("u1", POST, seed=7)
    assert {m.role for m in msgs} == {"user", "assistant"} and {m.user_id for m in msgs} == {"u1"}
    assert len({m.conversation_id for m in msgs}) == 1
