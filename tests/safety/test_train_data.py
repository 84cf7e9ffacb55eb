"""What the risk model trains on: composed safe messages, and the options that must go together."""

from __future__ import annotations

import numpy as np
import pytest

from phqwatch.errors import InputError
from phqwatch.safety.context import Turn
from phqwatch.safety.examples import Example, composed_negatives
from phqwatch.safety.train import TrainConfig, choose_threshold, train_risk_model


def _ex(i: int, text: str, severity: str = "none", lang: str = "en", context: tuple[Turn, ...] = ()) -> Example:
    cats = () if severity == "none" else ("suicide",)
    return Example(f"t-{i}", text, context, severity, cats, lang, "test", "writer", 1.0)


EXAMPLES = [
    _ex(0, "I slept badly. Work was long."),
    _ex(1, "We had pasta for dinner. The bus was late."),
    _ex(2, "I want to die. I have the pills.", "urgent"),
    _ex(3, "my job", context=(Turn("assistant", "What is on your mind?"),)),
    _ex(4, "今天加班。好累。", lang="zh"),
    _ex(5, "周末去爬山了。天气很好。", lang="zh"),
]


def test_composed_messages_are_safe_sentences_of_safe_messages_only() -> None:
    out = composed_negatives(EXAMPLES, n=40, seed=1, weight=0.5)
    assert len(out) == 40 and all(e.severity == "none" and e.categories == () and e.weight == 0.5 for e in out)
    safe = {"I slept badly.", "Work was long.", "We had pasta for dinner.", "The bus was late."}
    for e in out:
        if e.lang == "en":
            assert not any(w in e.text for w in ("die", "pills", "my job"))  # no crisis text, no context reply
            assert sum(s in e.text for s in safe) >= 2
        else:
            assert "好累" in e.text or "天气很好" in e.text or "周末去爬山了" in e.text or "今天加班" in e.text
    assert composed_negatives(EXAMPLES, n=40, seed=1, weight=0.5) == out  # seeded
    assert {e.lang for e in out} == {"en", "zh"}


def test_composed_messages_need_two_safe_sentences() -> None:
    assert composed_negatives([_ex(0, "Only one sentence here")], n=5) == []


def test_choosing_the_threshold_needs_the_leave_one_writer_out_scores() -> None:
    with pytest.raises(InputError, match="leave-one-writer-out"):
        train_risk_model(config=TrainConfig(flag_threshold=None, lowo=False, aux=False))


def test_the_threshold_must_reach_the_target_recall_on_every_chosen_writer() -> None:
    # Writer a's crisis messages score 0.9 / 0.6, writer b's 0.8 / 0.3; c's (not chosen) 0.02.
    y = np.array([True, True, True, True, True, False])
    oof = np.array([0.9, 0.6, 0.8, 0.3, 0.02, 0.5])
    groups = np.array(["a", "a", "b", "b", "c", "a"])
    no_rule = np.zeros(6, dtype=bool)
    assert choose_threshold(y, oof, no_rule, 1.0, groups, ["a"]) == 0.6
    assert choose_threshold(y, oof, no_rule, 1.0, groups, ["a", "b"]) == 0.3
    assert choose_threshold(y, oof, no_rule, 0.5, groups, ["a", "b"]) == 0.8
    assert choose_threshold(y, oof, no_rule, 1.0, groups, None) == 0.02  # every writer, c included
    ruled = np.array([False, False, False, True, True, False])  # the rules catch b's weak one and c's
    assert choose_threshold(y, oof, ruled, 1.0, groups, None) == 0.6
