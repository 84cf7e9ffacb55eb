"""The synthetic example data: the bundled files, the clinic mix of trajectories, and dating them to today."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import UTC, date, datetime

from phqwatch.datasets.synthetic import (
    CLINIC_MIX,
    EXAMPLES_DIR,
    RISK_VOICING_USERS,
    SYMPTOMS,
    generate,
    shift_to_now,
    write_examples,
)
from phqwatch.transcripts import iter_messages, read_questionnaires
from phqwatch.transcripts.schema import Message, Questionnaire


def test_bundled_examples_are_the_generators_clinic_mix_output(tmp_path):
    t, q = write_examples(tmp_path, mix=CLINIC_MIX)
    assert t.read_bytes() == (EXAMPLES_DIR / "transcripts.jsonl").read_bytes()
    assert q.read_bytes() == (EXAMPLES_DIR / "phq9.csv").read_bytes()


def test_bundled_examples_are_a_realistic_caseload():
    totals: dict[str, list[int]] = defaultdict(list)
    with (EXAMPLES_DIR / "phq9.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            totals[row["user_id"]].append(int(row["phq9_total"]))
    assert len(totals) == 36
    change = Counter(
        "worse" if v[-1] - v[0] >= 5 else "better" if v[-1] - v[0] <= -5 else "stable" for v in totals.values()
    )
    assert change["worse"] <= 6 and change["better"] + change["stable"] >= 30, change
    latest_severe = sum(v[-1] >= 20 for v in totals.values())
    latest_below_moderate = sum(v[-1] < 10 for v in totals.values())
    assert latest_severe <= 5 and latest_below_moderate >= 18, (latest_severe, latest_below_moderate)

    risk_sentences = set(SYMPTOMS[8])
    voicing = {
        m.user_id
        for m in iter_messages(EXAMPLES_DIR / "transcripts.jsonl")
        if m.role == "user" and any(s in m.text for s in risk_sentences)
    }
    assert voicing == {f"synthetic-{u + 1:03d}" for u in RISK_VOICING_USERS}  # two users, not most of them


def test_without_a_mix_severities_spread_evenly_as_before():
    _, qs = generate(n_users=60, seed=3)
    totals = [q["phq9_total"] for q in qs]
    assert min(totals) <= 3 and max(totals) >= 22  # training tests rely on a wide spread


def test_shift_to_now_moves_everything_by_whole_days_ending_today():
    msgs = [
        Message("u", "c1", "user", "a", datetime(2026, 1, 5, 9, 0, tzinfo=UTC)),
        Message("u", "c2", "user", "b", datetime(2026, 3, 28, 20, 30, tzinfo=UTC)),
        Message("u", "c2", "assistant", "c", None),
    ]
    qs = [Questionnaire("u", date(2026, 3, 28), 12)]
    now = datetime(2026, 12, 6, 14, 0, tzinfo=UTC)
    moved, moved_q = shift_to_now(msgs, qs, now)
    # 20:30 today would be in the future, so the latest message lands yesterday at the same time of day
    assert moved[1].timestamp == datetime(2026, 12, 5, 20, 30, tzinfo=UTC)
    assert moved[1].timestamp - moved[0].timestamp == msgs[1].timestamp - msgs[0].timestamp
    assert moved[2].timestamp is None and moved_q[0].date == date(2026, 12, 5)
    later = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
    assert shift_to_now(msgs, qs, later)[0][1].timestamp == datetime(2026, 12, 6, 20, 30, tzinfo=UTC)


def test_shift_to_now_of_the_bundled_examples_keeps_questionnaires_inside_the_conversations():
    now = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
    msgs, qs = shift_to_now(
        list(iter_messages(EXAMPLES_DIR / "transcripts.jsonl")), read_questionnaires(EXAMPLES_DIR / "phq9.csv"), now
    )
    stamps = [m.timestamp for m in msgs if m.timestamp is not None]
    assert 0 <= (now - max(stamps)).total_seconds() < 86_400
    assert (max(stamps) - min(stamps)).days < 90  # twelve weeks, not a year
    assert min(stamps).date() <= min(q.date for q in qs) and max(q.date for q in qs) <= now.date()
