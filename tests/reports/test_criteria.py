"""Criteria knowledge base and BM25 retrieval."""

from __future__ import annotations

import json

import pytest

from phqwatch.errors import InputError
from phqwatch.reports.bm25 import BM25, stem, tokenize
from phqwatch.reports.criteria import CriteriaIndex, load_knowledge_base

# Phrasings written for this test (not taken from the KB keywords or the synthetic data).
PHRASES = {
    1: ["I used to love painting but I just can't be bothered with it any more", "nothing is fun for me now"],
    2: ["I feel so empty and sad most of the time", "everything seems hopeless"],
    3: ["I was awake until 3 again, I can barely sleep", "I've been sleeping through the whole afternoon"],
    4: ["I'm completely exhausted, no energy at all", "I'm so drained I can't even get dressed"],
    5: ["I barely eat anything and I've lost weight", "I've been overeating snacks all evening"],
    6: ["I'm such a failure, I let everyone down", "I feel worthless and guilty all the time"],
    7: ["I can't concentrate on my work, my mind is foggy", "I can't decide anything, I keep forgetting"],
    8: ["My partner says I'm talking really slowly", "I'm so restless I keep pacing the room"],
    9: ["I think everyone would be better off without me", "I've thought about hurting myself"],
}


def test_bm25_ranks_the_matching_document_first():
    docs = [tokenize("the cat sat on the mat"), tokenize("dogs chase cats in the park"), tokenize("stock prices fell")]
    bm = BM25(docs)
    s = bm.scores(tokenize("a cat on a mat"))
    assert s[0] > s[1] > s[2] == 0.0


def test_tokenize_stems_and_drops_stop_words():
    assert tokenize("I've been sleeping badly") == ["sleep", "bad"]
    assert stem("stopped") == "stop" and stem("worries") == "worry"


def test_every_item_phrase_maps_to_its_linked_criterion():
    ix = CriteriaIndex.default()
    misses = []
    for item, phrases in PHRASES.items():
        for p in phrases:
            top = ix.for_item(item, [p], k=1)
            if not top or not top[0].linked_to_item:
                misses.append((item, p, [m.criterion.id for m in top]))
    assert not misses


def test_item_without_quotes_falls_back_to_the_item_wording():
    ix = CriteriaIndex.default()
    top = ix.for_item(3, [], k=1)
    assert top[0].criterion.id == "C4" and top[0].linked_to_item


def test_knowledge_base_is_complete_and_in_own_words():
    meta, entries = load_knowledge_base()
    crit = [e for e in entries if e.kind == "episode_criterion"]
    assert len(crit) == 9
    assert sorted(i for e in crit for i in e.phq9_items) == list(range(1, 10))
    assert "own words" in meta["note"]
    ix = CriteriaIndex.default()
    assert [ix.linked(i).id for i in range(1, 10)] == ["C2", "C1", "C4", "C6", "C3", "C7", "C8", "C5", "C9"]


def test_malformed_knowledge_base_names_the_file(tmp_path):
    bad = tmp_path / "kb.json"
    bad.write_text(json.dumps({"entries": [{"id": "X"}]}))
    with pytest.raises(InputError, match="kb.json"):
        load_knowledge_base(bad)
    dup = tmp_path / "dup.json"
    e = {"id": "A", "kind": "context", "title": "t", "text": "x"}
    dup.write_text(json.dumps({"entries": [e, e]}))
    with pytest.raises(InputError, match="duplicate"):
        load_knowledge_base(dup)


def test_item_out_of_range_is_refused():
    with pytest.raises(InputError):
        CriteriaIndex.default().for_item(10, ["x"])
