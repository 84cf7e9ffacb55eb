from datetime import date, datetime, timedelta

import pytest

from phqwatch.errors import InputError
from phqwatch.transcripts import (
    AssembleStats,
    Message,
    Questionnaire,
    WindowStats,
    assemble_users,
    build_windows,
    read_questionnaires,
    write_rows,
)


def m(user, text, role="user", day=1, conv="c1", mid=None):
    return Message(user, conv, role, text, datetime(2026, 3, day, 12), mid)


def test_user_text_is_user_turns_in_time_order_and_duplicates_count_once():
    msgs = [
        m("b", "later words", day=3),
        m("a", "x"),
        m("b", "earlier words", day=2),
        m("b", "earlier words", day=2),
        m("b", "app reply", role="assistant", day=2),
    ]
    stats = AssembleStats()
    users = list(assemble_users(msgs, stats=stats))
    assert [u.user_id for u in users] == ["a", "b"]
    b = users[1]
    assert b.text == "earlier words\nlater words" and b.n_user_words == 4 and b.n_messages == 2
    assert stats.duplicates == 1 and stats.messages == 4


def test_include_assistant_prefixes_turns_but_counts_user_words_only():
    msgs = [m("a", "I am tired", day=1), m("a", "Tell me more", role="assistant", day=2)]
    (u,) = assemble_users(msgs, include_assistant=True)
    assert u.text == "User: I am tired\nAssistant: Tell me more" and u.n_user_words == 3


def test_user_with_only_assistant_text_has_zero_user_words():
    (u,) = assemble_users([m("a", "Hello, how are you?", role="assistant")])
    assert u.n_user_words == 0 and u.text == ""


def test_spill_to_disk_gives_the_same_users_and_dedup():
    msgs = [m(f"u{i % 7}", f"message number {i} " * 5, day=1 + i % 20) for i in range(300)]
    msgs += msgs[:50]  # duplicates, some arriving after the spill
    in_memory = list(assemble_users(msgs))
    stats = AssembleStats()
    spilled = list(assemble_users(msgs, spill_chars=2000, stats=stats))
    assert stats.spilled and stats.duplicates == 50
    assert [(u.user_id, u.text, u.n_user_words) for u in spilled] == [
        (u.user_id, u.text, u.n_user_words) for u in in_memory
    ]


def test_windows_take_the_14_days_before_the_questionnaire():
    base = datetime(2026, 3, 1, 12)
    msgs = [Message("a", "c", "user", f"day {d}", base + timedelta(days=d)) for d in range(0, 30)]
    msgs.append(Message("a", "c", "user", "no time", None))
    stats = WindowStats()
    (w,) = build_windows(
        msgs, [Questionnaire("a", date(2026, 3, 20), 12), Questionnaire("z", date(2026, 3, 20), 3)], stats=stats
    )
    days = [int(line.split()[1]) for line in w.text.splitlines()]
    assert days == list(range(6, 20)) and w.label == 12  # 14 calendar days ending on the PHQ-9 date
    assert stats.empty == 1 and stats.untimed_messages == 1


def test_questionnaire_csv_items_and_totals(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text(
        "user_id,date,item_1,item_2,item_3,item_4,item_5,item_6,item_7,item_8,item_9\na,2026-03-01,1,1,1,1,1,1,1,1,0\n",
        encoding="utf-8",
    )
    (q,) = read_questionnaires(p)
    assert q.total == 8 and q.items[8] == 0


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("user_id,date,phq9_total\na,2026-03-01,31\n", "out of range"),
        ("user_id,date,phq9_total\na,03/01/2026,3\n", "ISO date"),
        ("user_id,date,phq9_total\na,2026-03-01,3\na,2026-03-01,4\n", "duplicate"),
        ("user_id,date\na,2026-03-01\n", "lacks required columns"),
        ("user_id,date,phq9_total\n", "no questionnaires"),
    ],
)
def test_questionnaire_errors(tmp_path, body, match):
    p = tmp_path / "q.csv"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        read_questionnaires(p)


def test_failed_write_leaves_no_half_written_file(tmp_path):
    out = tmp_path / "scores.csv"
    out.write_text("previous complete file\n")

    def rows():
        yield {"user_id": "a", "phq9_estimate": 3.0}
        raise RuntimeError("scoring crashed midway")

    with pytest.raises(RuntimeError):
        write_rows(rows(), out)
    assert out.read_text() == "previous complete file\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]


def test_jsonl_output_has_no_nan(tmp_path):
    out = tmp_path / "s.jsonl"
    write_rows([{"user_id": "a", "phq9_estimate": float("nan"), "band": None}], out)
    assert out.read_text().strip() == '{"user_id": "a", "phq9_estimate": null, "band": null}'
