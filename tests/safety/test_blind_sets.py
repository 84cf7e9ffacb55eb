"""Blind message sets: written by people who never saw the rules, the classifier or its training set.

Sets A to V were written by twenty-two independent writers. Each was measured first, with the screen
exactly as it stood, before anything was tuned on it (benchmarks/results/safety_blind_*_first.json and the
README). Sets A-R then joined the training set as writers 10-13, 17-27 and 29-31 (`phqwatch/safety/
trainset/w*_blind_*.jsonl`), so they pin the training data here, not figures. Sets S and T, written at the
same time and measured once with the screen frozen at 784090e, were then tuned on with rules, context checks
and a rebuild of the model on the same writers; they stay here as fixtures whose first figures guard
against regressions, no longer blind. Sets U and V were written by a twenty-first and a twenty-second writer
while S and T were tuned on, kept outside the repository and unopened until the screen was frozen and
committed, then measured once: nothing was chosen by looking at them, so their figures are the honest ones.
These tests pin the sets (sha256) and guard the shipped screen's figures on them against regressions.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from phqwatch.safety import default_screen
from phqwatch.safety.evaluate import evaluate_screen
from phqwatch.safety.examples import read_examples, trainset_dir

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "safety"
#: The former blind sets, now training writers (their first figures are in benchmarks/results).
RETIRED = {
    "w10_blind_a.jsonl": "812e4c4803ccaf0974737baae853d62e49a1ad826900e01bb411414025ea38b7",
    "w11_blind_b.jsonl": "f0f9b91ff0cc14bc5e89860422ce11d5851a6baf241548a9f887466d6f1524f0",
    "w12_blind_c.jsonl": "dbe6206c0c97288f7660a9b4ea046bb2b2a4f9c4229444f2db55c582c936a623",
    "w13_blind_d.jsonl": "ca673a6011dc53bf52632031e2fe8b48d75d4efbccc55e12584ba5ca1bf48cf2",
    "w17_blind_e.jsonl": "bf447bf858c13c8fd358ec7b1bbbcfed3eff4211cddc30ec0590bbe856204de7",
    "w18_blind_f.jsonl": "db91baf11798af54b953a1b9fbf6f2028379657687ef19b77f3b8a3eb819319a",
    "w19_blind_g.jsonl": "15eea7c67216005534ad025d46f33435ac773e58969540fac78ad48af5cb20c9",
    "w20_blind_h.jsonl": "40e1437a15dce49f6c99eca489497740c212703b9a31d0a462402a449426b50e",
    "w21_blind_i.jsonl": "d1eb47ece0fa00067de127d8c88703546c3eb3119a34bf8ca46c0ffa06dabd82",
    "w22_blind_j.jsonl": "cf490f050579dd78e6e9fc56d1c09c755ab7f07a457aff880b23d285d514c426",
    "w23_blind_k.jsonl": "482c24fb8c7168db880069001873af0524f5697461851229d0d1084196d396d4",
    "w24_blind_l.jsonl": "73f3590411e312faa0f0a6cd9117f37c2afa029ebd25be66d3f74f18c30aded3",
    "w25_blind_m.jsonl": "0c5feec67c709b5edd4171e1c00f4d44a20a7723d2607dcc09962e754ebb97fc",
    "w26_blind_n.jsonl": "5101481925e0069d2328748c155c211b2cd7c0c661be8a17daacf87c4810a5d2",
    "w27_blind_o.jsonl": "905577ebf8894e1fd6be8a753194a21e809ce16a92fcf8ae299fa5611dbc0f40",
    "w29_blind_p.jsonl": "f6c46030cc5bad95e846a8bda0e8846382b7b786241febe8c99d60481a0a556e",
    "w30_blind_q.jsonl": "74e27c2fea35737891d83a6fa3202ac6e04df74a070ba0d6af8ca92fb3ccefe9",
    "w31_blind_r.jsonl": "a8bf67600d5d964e66ec59890328bfd5243d833a69a7d9d5cb6174259d5c0d5b",
}
SHA256 = {
    "blind_v2_s.jsonl": "51a929370bed5ebc4190ee41b272dcfc2db04b0ee2af489c080bea68b09c8239",
    "blind_v2_t.jsonl": "9001ca7a9bd9f18ed0fdaef680bbcfd60a0a507109ef42655d7f57d47ca83a09",
    "blind_v2_u.jsonl": "e0820b10679d72264742dfe34dbec008e14be7a062bafb9714464c4c37ebe33b",
    "blind_v2_v.jsonl": "95ceccbcc6809c0b1ec28378b48ebc5dbec4d95c866efa3469c226a989311911",
}
#: The shipped screen's figures (recall on high+, precision, imminent missed), measured once after the screen
#: was frozen (benchmarks/results/safety_blind_*_first.json); the README quotes them.
REPORTED = {
    "blind_v2_s.jsonl": {"recall": 0.9944, "precision": 0.7748, "imminent_missed": 0},
    "blind_v2_t.jsonl": {"recall": 0.9776, "precision": 0.7926, "imminent_missed": 4},
    "blind_v2_u.jsonl": {"recall": 0.9949, "precision": 0.8008, "imminent_missed": 0},
    "blind_v2_v.jsonl": {"recall": 0.9878, "precision": 0.72, "imminent_missed": 1},
}


@pytest.mark.parametrize("name", sorted(RETIRED))
def test_former_blind_sets_are_the_committed_ones(name: str) -> None:
    assert hashlib.sha256((trainset_dir() / name).read_bytes()).hexdigest() == RETIRED[name]


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
