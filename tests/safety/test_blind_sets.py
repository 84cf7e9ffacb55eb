"""The blind message sets: written by people who never saw the rules, the classifier or its training set.

Set A was measured first, before anything was tuned on it (benchmarks/results/safety_blind_a_*.json);
the model was then tuned with set A in view. Set B was written by another writer while the model was
being built and was not opened or measured until the shipped model was frozen: its figure is the honest
one. These tests pin the sets (sha256) and guard the shipped screen's figures against regressions.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from phqwatch.safety import default_screen
from phqwatch.safety.evaluate import evaluate_screen
from phqwatch.safety.examples import read_examples

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "safety"
SHA256 = {
    "blind_v2_a.jsonl": "812e4c4803ccaf0974737baae853d62e49a1ad826900e01bb411414025ea38b7",
    "blind_v2_b.jsonl": "f0f9b91ff0cc14bc5e89860422ce11d5851a6baf241548a9f887466d6f1524f0",
}
#: The shipped screen's figures (recall on high+, precision, imminent missed); the README quotes set B's.
REPORTED = {
    "blind_v2_a.jsonl": {"recall": 0.9894, "precision": 0.7907, "imminent_missed": 0},
    "blind_v2_b.jsonl": {"recall": 0.9451, "precision": 0.8032, "imminent_missed": 0},
}


@pytest.mark.parametrize("name", sorted(SHA256))
def test_blind_set_is_the_committed_one(name: str) -> None:
    assert hashlib.sha256((FIXTURES / name).read_bytes()).hexdigest() == SHA256[name]


@pytest.mark.parametrize("name", sorted(SHA256))
def test_shipped_screen_keeps_its_reported_figures(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    examples = read_examples(FIXTURES / name)
    assert sum(e.crisis for e in examples) >= 300 and sum(e.severity == "none" for e in examples) >= 300
    figures = evaluate_screen(default_screen(), examples)
    with capsys.disabled():
        print(f"\n{name}: {figures.summary()}")
    want = REPORTED[name]
    assert figures.recall >= want["recall"] - 5e-5
    assert figures.precision >= want["precision"] - 5e-5
    assert figures.n_imminent - figures.imminent_flagged <= want["imminent_missed"]
