"""Readers for the transcript contract: message-per-line JSONL, conversation-per-line JSONL and CSV.

Readers stream: they yield one `Message` at a time and never hold the file in memory. Every problem is
an `InputError` that names the file, the line and the field.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from phqwatch.config import DEFAULT_MAX_MESSAGE_CHARS
from phqwatch.errors import InputError
from phqwatch.transcripts.schema import ROLES, Message

MESSAGE_FIELDS = ("user_id", "conversation_id", "role", "text", "timestamp")
#: Roles of OpenAI-style conversations that carry no user or app content; skipped and counted.
SKIPPED_ROLES = ("system", "developer", "tool", "function")


@dataclass(slots=True)
class ReadStats:
    """What a read saw: lines, messages, skipped system turns and truncated messages."""

    lines: int = 0
    messages: int = 0
    skipped: int = 0
    truncated: int = 0


def parse_timestamp(value: Any, *, path: str, line: int, field: str = "timestamp") -> datetime | None:
    """ISO 8601 (a trailing 'Z' allowed) -> datetime; empty -> None; anything else -> InputError."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError(
            f"expected an ISO 8601 string, found {type(value).__name__}",
            path=path,
            line=line,
            field=field,
            fix="Write timestamps like 2026-03-01T14:05:00Z.",
        )
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(
            f"'{value[:40]}' is not an ISO 8601 timestamp",
            path=path,
            line=line,
            field=field,
            fix="Write timestamps like 2026-03-01T14:05:00Z.",
        ) from None


def _require_str(record: dict, key: str, *, path: str, line: int, aliases: tuple[str, ...] = ()) -> str:
    value = record.get(key)
    for alias in aliases:
        if value is None:
            value = record.get(alias)
    if value is None:
        raise InputError(
            "missing required field; expected a non-empty string",
            path=path,
            line=line,
            field=key,
            fix=f"Add '{key}' to every record.",
        )
    if isinstance(value, int | float) and not isinstance(value, bool) and key != "text":
        value = str(value)
    if not isinstance(value, str):
        raise InputError(f"expected a string, found {type(value).__name__}", path=path, line=line, field=key)
    if key != "text" and not value.strip():
        raise InputError(
            "is empty; expected a non-empty string",
            path=path,
            line=line,
            field=key,
            fix=f"Give every record a '{key}'.",
        )
    return value if key == "text" else value.strip()


def _role(value: str, *, path: str, line: int) -> str:
    role = value.strip().lower()
    if role not in ROLES:
        raise InputError(
            f"unknown role '{value[:20]}'; expected one of {', '.join(ROLES)}",
            path=path,
            line=line,
            field="role",
            fix="Use 'user' for the person and 'assistant' for the app.",
        )
    return role


class _Truncator:
    def __init__(self, max_chars: int | None, stats: ReadStats) -> None:
        self.max_chars, self.stats = max_chars, stats

    def __call__(self, text: str) -> str:
        if self.max_chars is not None and len(text) > self.max_chars:
            self.stats.truncated += 1
            return text[: self.max_chars]
        return text


def _open_binary(path: Path) -> gzip.GzipFile | io.BufferedReader:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115


def _decode_lines(fh: Iterable[bytes], path: str) -> Iterator[tuple[int, str]]:
    for n, raw in enumerate(fh, 1):
        try:
            yield n, raw.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"is not valid UTF-8 (byte {exc.start})",
                path=path,
                line=n,
                fix="Re-encode the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`).",
            ) from None


def _jsonl_messages(path: Path, stats: ReadStats, trunc: _Truncator) -> Iterator[Message]:
    p = str(path)
    with _open_binary(path) as fh:
        for n, line in _decode_lines(fh, p):
            stats.lines += 1
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"malformed JSON ({exc.msg} at column {exc.colno})",
                    path=p,
                    line=n,
                    fix="Write one JSON object per line (JSON Lines).",
                ) from None
            if not isinstance(record, dict):
                raise InputError(f"expected a JSON object, found {type(record).__name__}", path=p, line=n)
            if "messages" in record:
                yield from _conversation(record, p, n, stats, trunc)
            else:
                yield _message(record, p, n, trunc)
                stats.messages += 1


def _message(record: dict, path: str, line: int, trunc: _Truncator) -> Message:
    return Message(
        user_id=_require_str(record, "user_id", path=path, line=line),
        conversation_id=_require_str(record, "conversation_id", path=path, line=line),
        role=_role(_require_str(record, "role", path=path, line=line), path=path, line=line),
        text=trunc(_require_str(record, "text", path=path, line=line, aliases=("content",))),
        timestamp=parse_timestamp(record.get("timestamp"), path=path, line=line),
        message_id=(str(record["message_id"]) if record.get("message_id") not in (None, "") else None),
    )


def _conversation(record: dict, path: str, line: int, stats: ReadStats, trunc: _Truncator) -> Iterator[Message]:
    user_id = _require_str(record, "user_id", path=path, line=line)
    conversation_id = _require_str(record, "conversation_id", path=path, line=line, aliases=("id",))
    messages = record["messages"]
    if not isinstance(messages, list):
        raise InputError("expected a list of {role, content} objects", path=path, line=line, field="messages")
    conv_ts = record.get("timestamp")
    for i, m in enumerate(messages):
        fld = f"messages[{i}]"
        if not isinstance(m, dict):
            raise InputError("expected an object with 'role' and 'content'", path=path, line=line, field=fld)
        role_raw = m.get("role")
        if not isinstance(role_raw, str) or not role_raw.strip():
            raise InputError("missing or empty role", path=path, line=line, field=f"{fld}.role")
        if role_raw.strip().lower() in SKIPPED_ROLES:
            stats.skipped += 1
            continue
        content = m.get("content", m.get("text"))
        if isinstance(content, list):  # OpenAI content parts
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            raise InputError("missing content; expected a string", path=path, line=line, field=f"{fld}.content")
        try:
            role = _role(role_raw, path=path, line=line)
        except InputError as exc:
            raise InputError(
                exc.message.split("; ")[0] + f"; expected one of {', '.join(ROLES)}",
                path=path,
                line=line,
                field=f"{fld}.role",
                fix=exc.fix,
            ) from None
        stats.messages += 1
        yield Message(
            user_id=user_id,
            conversation_id=conversation_id,
            role=role,
            text=trunc(content),
            timestamp=parse_timestamp(m.get("timestamp", conv_ts), path=path, line=line, field=f"{fld}.timestamp"),
            message_id=str(m["id"]) if m.get("id") not in (None, "") else None,
        )


def _csv_messages(path: Path, stats: ReadStats, trunc: _Truncator) -> Iterator[Message]:
    p = str(path)
    with _open_binary(path) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
        reader = csv.DictReader(text)
        try:
            header = reader.fieldnames
        except UnicodeDecodeError:
            raise InputError("is not valid UTF-8", path=p, line=1, fix="Re-encode the file as UTF-8.") from None
        if not header:
            raise InputError(
                "is empty; expected a header row",
                path=p,
                line=1,
                fix=f"Start the file with the header: {','.join(MESSAGE_FIELDS)}",
            )
        missing = [c for c in ("user_id", "conversation_id", "role", "text") if c not in header]
        if missing:
            raise InputError(
                f"header lacks column(s) {', '.join(missing)}",
                path=p,
                line=1,
                fix=f"Use the header: {','.join(MESSAGE_FIELDS)}",
            )
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError:
                raise InputError(
                    "is not valid UTF-8", path=p, line=reader.line_num + 1, fix="Re-encode the file as UTF-8."
                ) from None
            stats.lines += 1
            yield _message(row, p, reader.line_num, trunc)
            stats.messages += 1


def iter_messages(
    path: str | Path, *, max_message_chars: int | None = DEFAULT_MAX_MESSAGE_CHARS, stats: ReadStats | None = None
) -> Iterator[Message]:
    """Stream the messages of a transcript file (.jsonl/.ndjson/.json lines or .csv, optionally .gz).

    Messages longer than `max_message_chars` are truncated and counted in `stats.truncated`.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=str(path), fix="Check the path.")
    if path.stat().st_size == 0:
        raise InputError(
            "is empty; expected transcript records",
            path=str(path),
            fix="Point at a JSONL or CSV file with at least one message.",
        )
    stats = stats if stats is not None else ReadStats()
    trunc = _Truncator(max_message_chars, stats)
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    kind = suffixes[-1] if suffixes else ""
    if kind == ".csv":
        gen = _csv_messages(path, stats, trunc)
    elif kind in (".jsonl", ".ndjson", ".json"):
        gen = _jsonl_messages(path, stats, trunc)
    else:
        raise InputError(
            f"unknown file type '{kind or path.name}'",
            path=str(path),
            fix="Use .jsonl (one message or conversation per line) or .csv.",
        )
    count = 0
    for m in gen:
        count += 1
        yield m
    if count == 0:
        raise InputError("contains no messages", path=str(path), fix="Check that the file has records.")


def messages_from_records(records: Iterable[dict], *, source: str = "<records>") -> Iterator[Message]:
    """Messages from dicts (e.g. `DataFrame.to_dict('records')`), validated like file lines."""
    stats = ReadStats()
    trunc = _Truncator(None, stats)
    for n, rec in enumerate(records, 1):
        rec = {k: (None if _is_nan(v) else v) for k, v in rec.items()}
        if isinstance(rec.get("timestamp"), datetime):
            rec["timestamp"] = rec["timestamp"].isoformat()
        elif rec.get("timestamp") is not None and not isinstance(rec.get("timestamp"), str):
            rec["timestamp"] = str(rec["timestamp"])
        yield _message(rec, source, n, trunc)


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and v != v
