"""The crisis-safety screen on tests/fixtures/safety/blind.jsonl (241 hand-written chat messages).

The set was written and committed (6202f49) *before* its author read safety.py, phrasings.jsonl or
heldout.jsonl, to measure how the rules generalise to wordings they were not tuned on. Labels are the
author's judgement of whether the *user* is at risk; third-party risk ("my friend wants to die") is labelled
negative with its own category.

Blind measurement (phase 1, rules as of 10257f7): recall 0.547 (70/128), precision 0.753 (70/93),
false alarms 23/113. Per category, positives caught / total:
  direct ideation 13/15, passive death wish 5/12, negated-form positive 5/8, plan or means 6/17,
  intent or timeline 1/7, farewell or burden 6/10, indirect behaviour 0/7, self-harm 10/11,
  euphemism or slang 9/13, typos or lowercase 7/10, non-native English 3/8, buried in long message 3/7,
  past attempt with current risk 2/3.
Negatives flagged / total: negated 2/11, third-party reported speech 3/7, lyrics or media 2/9,
  past with recovery 5/6, idiom or hyperbole 3/24, gaming 1/7, clinical or educational 5/10, news 0/5,
  friend at risk 0/6, ordinary distress 0/10, benign look-alike 2/18.

After widening the rules on these misses (so the set is no longer blind; the floors below guard
regressions): recall 0.977 (125/128), precision 0.912 (125/137), false alarms 12/113. Left as misses on
purpose: "I won't be around for my birthday." and "game over for me soon. can't wait" (the same words are
everyday travel/gaming talk), and "I gave my dog to my sister ... Updated my will too." (each clause is
benign alone). Flagged negatives left as they are: "past with recovery" (5/6; policy: past history is a
``review`` hit), hyperbole such as "I'll shoot myself lol" and "I'd rather die than ...", clinical questions
that use the bare terms, and "I could sleep forever on Sundays".
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from phqwatch.safety.rule_screen import RuleScreen

screen = RuleScreen().screen

BLIND = Path(__file__).resolve().parents[1] / "fixtures" / "safety" / "blind.jsonl"

#: Reached after improvement, minus a margin of about three messages each way.
RECALL_FLOOR = 0.95
PRECISION_FLOOR = 0.85


def _rows() -> list[dict]:
    return [json.loads(line) for line in BLIND.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_blind_set_is_large_balanced_and_unique():
    rows = _rows()
    labels = Counter(r["label"] for r in rows)
    assert len(rows) >= 200 and labels["positive"] >= 100 and labels["negative"] >= 100
    assert set(labels) == {"positive", "negative"}
    assert len({r["text"] for r in rows}) == len(rows)
    assert all(r["category"] for r in rows)


def test_blind_recall_and_precision(capsys):
    rows = _rows()
    tp = fp = 0
    missed: list[str] = []
    false_alarms: list[str] = []
    by_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        hit = screen(r["text"]).hit
        key = f"{r['label'][:3]}:{r['category']}"
        by_cat[key][0] += hit
        by_cat[key][1] += 1
        if r["label"] == "positive":
            tp += hit
            if not hit:
                missed.append(r["text"])
        elif hit:
            fp += 1
            false_alarms.append(r["text"])
    positives = sum(r["label"] == "positive" for r in rows)
    recall = tp / positives
    precision = tp / (tp + fp) if tp + fp else 1.0
    with capsys.disabled():
        print(f"\nsafety blind set: n={len(rows)} recall={recall:.3f} precision={precision:.3f} (flagged/total)")
        for k in sorted(by_cat):
            print(f"  {k:45s} {by_cat[k][0]}/{by_cat[k][1]}")
    assert recall >= RECALL_FLOOR, missed
    assert precision >= PRECISION_FLOOR, false_alarms


def test_gate_agrees_with_full_scan_on_blind_set():
    s = RuleScreen()
    for r in _rows():
        assert s.screen(r["text"]) == s.screen(r["text"], gate=False), r["text"]
