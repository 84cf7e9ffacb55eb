"""Item evidence: real sentences from the text, lexicon-matched, with crude negation."""

from __future__ import annotations

from phqwatch.models.evidence import item_evidence, sentence_scores, split_sentences
from phqwatch.models.lexicons import SYMPTOMS, tokenize

TEXT = (
    "I sleep fine most nights. Work was busy.\n"
    "I can't sleep and I lie awake until 4am! I am not tired at all. I'm exhausted all the time, honestly.\n"
    "Nothing is fun anymore. I feel worthless and like a burden to everyone. We had pasta for dinner."
)


def test_split_sentences_are_substrings() -> None:
    sents = split_sentences(TEXT)
    assert sents[0] == "I sleep fine most nights."
    assert all(s in TEXT for s in sents)
    assert len(sents) == 8


def test_evidence_sentences_come_from_the_text_and_match_items() -> None:
    ev = item_evidence(TEXT, k=3)
    assert set(ev) == set(range(1, 10))
    for sents in ev.values():
        assert all(s in TEXT for s in sents)
        assert len(sents) <= 3
    assert ev[3] == ["I can't sleep and I lie awake until 4am!"]
    assert ev[4] == ["I'm exhausted all the time, honestly."]
    assert ev[6] == ["I feel worthless and like a burden to everyone."]
    assert ev[1] == ["Nothing is fun anymore."]
    assert ev[9] == [] and ev[5] == []


def test_negation_and_healthy_phrases_do_not_count() -> None:
    assert sentence_scores(tokenize("I sleep fine.")).get(3, 0) <= 0
    assert sentence_scores(tokenize("I am not tired at all.")).get(4, 0) <= 0
    assert sentence_scores(tokenize("I am so tired.")).get(4, 0) > 0
    assert item_evidence("I never feel hopeless. I am not depressed.")[2] == []


def test_k_limits_and_order_strongest_first() -> None:
    text = "I feel a bit sad. I feel hopeless, miserable and depressed. I am sad."
    ev = item_evidence(text, k=2)[2]
    assert ev[0] == "I feel hopeless, miserable and depressed."
    assert len(ev) == 2


def test_every_item_has_a_lexicon() -> None:
    assert sorted(SYMPTOMS) == list(range(1, 10))
    assert all(len(v) >= 10 for v in SYMPTOMS.values())
