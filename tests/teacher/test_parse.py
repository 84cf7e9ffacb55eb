"""JSON extraction and repair, validation and clamping, quote verification, totals."""

from __future__ import annotations

import json
import math

import pytest

from phqwatch.teacher.parse import (
    ParseError,
    extract_json,
    normalise,
    parse_rating,
    quote_in_transcript,
    resolve_total,
)

from .conftest import rating_json

TRANSCRIPT = (
    "Honestly I haven't enjoyed anything in weeks.\n  I can't   sleep, I wake up at 4am every night.\n"
    "I feel like a complete failure and I let my family down. Eating is fine I guess."
)


@pytest.mark.parametrize(
    "raw",
    [
        '{"a": 1, "b": [1, 2]}',
        'Sure! Here is the rating:\n```json\n{"a": 1, "b": [1, 2]}\n```\nHope this helps.',
        '```\n{"a": 1, "b": [1, 2],}\n```',
        "{'a': 1, 'b': [1, 2]}",
        '{"a": 1, "b": [1, 2,],}',
        'The answer is {"a": 1, "b": [1, 2]} and that is all {"c": 3}',
        "{a: 1, b: [1, 2]}",
    ],
)
def test_extract_json_repairs_common_damage(raw):
    assert extract_json(raw) == {"a": 1, "b": [1, 2]}


def test_extract_json_python_literals_and_nan():
    assert extract_json('{"x": None, "y": True, "z": NaN}') == {"x": None, "y": True, "z": None}


def test_extract_json_truncated_output():
    full = json.loads(rating_json([1, 2, 0, 1, 0, 2, 1, 0, 0]))
    text = json.dumps(full)
    cut = text[: text.index('"item_6"') + 20]  # cut inside item_6
    obj = extract_json(cut)
    assert set(obj["items"]) >= {"item_1", "item_5"}
    assert obj["items"]["item_1"]["score"] == 1
    # cut in the middle of a string
    obj2 = extract_json('{"items": {"item_1": {"score": 2, "rationale": "she said she can')
    assert obj2["items"]["item_1"]["score"] == 2


@pytest.mark.parametrize("raw", ["", "   ", "I cannot rate this.", "[1, 2, 3]", "{{{{"])
def test_unusable_answers_raise_parse_error(raw):
    with pytest.raises(ParseError):
        parse_rating(raw, TRANSCRIPT)


def test_parse_rating_full_and_clamped():
    raw = json.dumps(
        {
            "items": {
                "item_1": {"score": 5, "evidence": ["I haven't enjoyed anything in weeks"], "rationale": "x"},
                "item_2": {"score": -1, "evidence": [], "rationale": None},
                "item_3": {"score": "2", "evidence": "I CAN'T SLEEP, I wake up at 4am"},
                "item_4": {"score": 1.4},
                "item_5": {"score": 0},
                "item_6": {"score": 3, "evidence": ["I feel like a complete failure", "I hate my job"]},
                "item_7": {"score": 1},
                "item_8": {"score": 0},
                "item_9": {"score": 0},
            },
            "total": 99,
            "confidence": 85,
        }
    )
    r = parse_rating(raw, TRANSCRIPT)
    assert r.items == {1: 3, 2: 0, 3: 2, 4: 1, 5: 0, 6: 3, 7: 1, 8: 0, 9: 0}
    assert r.total == 10 and r.total_source == "items"  # computed from items, not the model's 99 (clamped 27)
    assert r.model_total == 27
    assert r.confidence == pytest.approx(0.85)
    assert r.n_quotes_kept == 3 and r.n_quotes_dropped == 1  # "I hate my job" is not in the transcript
    assert r.evidence[6] == ["I feel like a complete failure"]
    assert r.status == "ok"


def test_parse_rating_list_form_and_item_keys():
    raw = json.dumps({"items": [{"item": n, "score": 1} for n in range(1, 10)], "total": 9, "confidence": "70%"})
    r = parse_rating(raw, TRANSCRIPT)
    assert r.total == 9 and r.confidence == pytest.approx(0.7)
    raw2 = json.dumps({"anhedonia": 2, "low_mood": "insufficient evidence", "sleep": 3, "total": None})
    r2 = parse_rating(raw2, TRANSCRIPT)
    assert r2.items[1] == 2 and r2.items[2] is None and r2.items[3] == 3
    assert r2.total is None and r2.status == "abstained" and r2.n_items_abstained == 7


def test_abstentions_and_model_total_consistency():
    scores = [1, 1, None, 1, 1, 1, 1, 1, 1]  # 8 scored, sum 8, one abstained -> consistent totals 8..11
    assert parse_rating(rating_json(scores, total=10), TRANSCRIPT).total == 10
    r = parse_rating(rating_json(scores, total=20), TRANSCRIPT)
    assert r.total is None and r.status == "abstained" and r.model_total == 20
    assert resolve_total({n: None for n in range(1, 10)}, 5) == (None, "none")
    few = {1: 2, 2: 2, **{n: None for n in range(3, 10)}}
    assert resolve_total(few, 6) == (None, "none")  # too few items scored to trust a model total


def test_no_nan_ever_leaks():
    raw = '{"items": {"item_1": {"score": NaN}, "item_2": {"score": Infinity}}, "total": NaN, "confidence": NaN}'
    r = parse_rating(raw, TRANSCRIPT)
    dumped = json.dumps(r.model_dump(mode="json"), allow_nan=False)  # raises if a NaN got through
    assert r.items[1] is None and r.total is None and r.confidence is None
    assert "NaN" not in dumped
    for v in r.model_dump().values():
        assert not (isinstance(v, float) and math.isnan(v))


def test_json_without_items_is_a_parse_error():
    with pytest.raises(ParseError, match="no PHQ-9 items"):
        parse_rating('{"greeting": "hello"}', TRANSCRIPT)


def test_quote_verification():
    hay = normalise(TRANSCRIPT)
    assert quote_in_transcript("i can't sleep, i wake up at 4AM", hay)  # case and whitespace
    assert quote_in_transcript("\u201cI can\u2019t sleep\u201d", hay)  # typographic quotes
    assert quote_in_transcript("I haven't enjoyed anything ... I can't sleep", hay)  # ellipsis joins parts
    assert quote_in_transcript("I feel like a complete failur and I let my family down", hay)  # one typo, fuzzy
    assert not quote_in_transcript("I feel worthless and want to die", hay)
    assert not quote_in_transcript("I haven't enjoyed anything ... I want to die", hay)
    assert not quote_in_transcript("...", hay)
    assert not quote_in_transcript("", hay)
    assert not quote_in_transcript("I cant sleep", hay)  # short quotes must match exactly
    assert not quote_in_transcript("x" * 500, hay)


def test_quotes_checked_against_escaped_text():
    text = "I said <b>stop</b> & left"
    r = parse_rating(rating_json([0] * 9, quotes={1: ["I said &lt;b&gt;stop&lt;/b&gt; &amp; left"]}), text)
    assert r.n_quotes_kept == 1


@pytest.mark.parametrize("raw", ["{" * 2000, '{"a":' * 3000, 'x {"a": 1, "b": ' * 300, "[" * 5000])
def test_pathological_answers_fail_fast(raw):
    import time

    t0 = time.perf_counter()
    with pytest.raises(ParseError):
        parse_rating(raw, TRANSCRIPT)
    assert time.perf_counter() - t0 < 10.0  # repair effort is bounded (well under 1 s on an idle core)
