"""The blind message sets: written by people who never saw the rules, the classifier or its training set.

Set A was measured first, before anything was tuned on it (benchmarks/results/safety_blind_a_*.json);
the model was then tuned with set A in view. Set B was written by another writer while the model was
being built and measured only once the first shipped model was frozen; the current model was then tuned
with A and B in view. Set C was written by a third writer, measured once with the first shipped model
(benchmarks/results/safety_blind_c_first.json) and once with the current one after it was frozen; nothing
was chosen on it, so its figures are the honest ones. These tests pin the sets (sha256) and guard the
shipped screen's figures against regressions.
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
    "blind_v2_c.jsonl": "dbe6206c0c97288f7660a9b4ea046bb2b2a4f9c4229444f2db55c582c936a623",
}
#: The shipped screen's figures (recall on high+, precision, imminent missed); the README quotes set C's.
REPORTED = {
    "blind_v2_a.jsonl": {"recall": 0.9736, "precision": 0.8182, "imminent_missed": 4},
    "blind_v2_b.jsonl": {"recall": 0.9426, "precision": 0.834, "imminent_missed": 0},
    "blind_v2_c.jsonl": {"recall": 0.9223, "precision": 0.8186, "imminent_missed": 5},
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
