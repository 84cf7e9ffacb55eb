import gzip
import json

import pytest

from phqwatch.errors import InputError
from phqwatch.transcripts import ReadStats, iter_messages, messages_from_records


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def msg(**kw):
    base = {
        "user_id": "u1",
        "conversation_id": "c1",
        "role": "user",
        "text": "hello there",
        "timestamp": "2026-03-01T10:00:00Z",
    }
    base.update(kw)
    return base


def test_message_per_line_jsonl(tmp_path):
    p = write_jsonl(tmp_path / "t.jsonl", [msg(), msg(role="assistant", text="hi", timestamp=None)])
    out = list(iter_messages(p))
    assert [m.role for m in out] == ["user", "assistant"]
    assert out[0].timestamp.year == 2026 and out[0].timestamp.tzinfo is not None
    assert out[1].timestamp is None


def test_conversation_per_line_openai_messages_skips_system(tmp_path):
    rec = {
        "user_id": "u1",
        "conversation_id": "c9",
        "timestamp": "2026-03-01T10:00:00",
        "messages": [
            {"role": "system", "content": "be kind"},
            {"role": "user", "content": "I feel low"},
            {"role": "assistant", "content": [{"type": "text", "text": "I hear you"}]},
        ],
    }
    stats = ReadStats()
    out = list(iter_messages(write_jsonl(tmp_path / "c.jsonl", [rec]), stats=stats))
    assert [(m.role, m.text, m.conversation_id) for m in out] == [
        ("user", "I feel low", "c9"),
        ("assistant", "I hear you", "c9"),
    ]
    assert stats.skipped == 1 and out[0].timestamp.hour == 10


def test_csv_and_gzip(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(
        'user_id,conversation_id,role,text,timestamp\nu1,c1,user,"hello, world",2026-01-01\n', encoding="utf-8"
    )
    assert list(iter_messages(p))[0].text == "hello, world"
    gz = tmp_path / "t.jsonl.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps(msg()) + "\n")
    assert len(list(iter_messages(gz))) == 1


def test_empty_file_is_a_clear_error(tmp_path):
    p = tmp_path / "empty.jsonl"
    p.write_text("")
    with pytest.raises(InputError, match="empty"):
        list(iter_messages(p))


def test_malformed_json_names_file_and_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps(msg()) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        list(iter_messages(p))
    assert exc.value.line == 2 and "bad.jsonl:line 2" in str(exc.value) and "malformed JSON" in str(exc.value)


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (msg(user_id=""), "user_id"),
        ({"conversation_id": "c", "role": "user", "text": "x"}, "user_id"),
        (msg(conversation_id="  "), "conversation_id"),
        (msg(text=None), "text"),
        (msg(role=None), "role"),
        (msg(timestamp="yesterday"), "timestamp"),
        (msg(timestamp=12), "timestamp"),
    ],
)
def test_missing_or_empty_fields(tmp_path, record, field):
    with pytest.raises(InputError) as exc:
        list(iter_messages(write_jsonl(tmp_path / "f.jsonl", [record])))
    assert exc.value.field == field and exc.value.line == 1


def test_unknown_role(tmp_path):
    with pytest.raises(InputError, match="unknown role 'therapist'") as exc:
        list(iter_messages(write_jsonl(tmp_path / "r.jsonl", [msg(role="therapist")])))
    assert exc.value.fix and "assistant" in exc.value.fix


def test_non_utf8_bytes(tmp_path):
    p = tmp_path / "latin.jsonl"
    p.write_bytes(json.dumps(msg()).encode() + b"\n" + b'{"user_id": "caf\xe9"}\n')
    with pytest.raises(InputError, match="UTF-8") as exc:
        list(iter_messages(p))
    assert exc.value.line == 2


def test_enormous_message_is_truncated_and_counted(tmp_path):
    p = write_jsonl(tmp_path / "big.jsonl", [msg(text="word " * 100_000)])
    stats = ReadStats()
    (m,) = list(iter_messages(p, max_message_chars=1000, stats=stats))
    assert len(m.text) == 1000 and stats.truncated == 1


def test_unknown_extension(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("x")
    with pytest.raises(InputError, match="unknown file type"):
        list(iter_messages(p))


def test_records_from_dataframe_like_dicts():
    recs = [msg(), {**msg(), "timestamp": float("nan"), "text": "second"}]
    out = list(messages_from_records(recs))
    assert out[1].timestamp is None and out[1].text == "second"
