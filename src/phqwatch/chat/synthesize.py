"""InterMind's data method as a tool: rewrite public posts into multi-turn counselling dialogues with an LLM,
keeping each post's label. Output: transcript-contract JSONL (one message per line, plus `label` and
`source_id`), and a `.meta.json` beside it recording the prompt version, the model, the input's checksum and
the counts (failed posts are counted and listed, never silently dropped or guessed).
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from phqwatch.chat.prompt import load_prompt
from phqwatch.config import Settings
from phqwatch.errors import InputError, TeacherError

__all__ = ["Post", "read_posts", "parse_dialogue", "synthesize", "synthesize_file", "SynthStats"]

PROMPT_NAME = "synthesize-v1"
TEXT_FIELDS = ("text", "post", "body", "content")
ID_FIELDS = ("id", "post_id", "user_id")
DIALOGUE_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "dialogue",
        "schema": {
            "type": "object",
            "properties": {
                "turns": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"role": {"enum": ["user", "assistant"]}, "text": {"type": "string"}},
                        "required": ["role", "text"],
                    },
                }
            },
            "required": ["turns"],
        },
    },
}
_USER = re.compile(r"^\s*(?:user|client|patient|person|poster|u)\s*[:\-]\s*(.+)$", re.IGNORECASE)
_ASSISTANT = re.compile(r"^\s*(?:assistant|counsell?or|therapist|helper|a)\s*[:\-]\s*(.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Post:
    id: str
    text: str
    label: Any


@dataclass
class SynthStats:
    posts: int = 0
    ok: int = 0
    failed: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # post id -> reason (a kind, never text)


def read_posts(path: str | Path, *, label_field: str = "label") -> list[Post]:
    """Posts from JSONL or CSV: a text column (text/post/body/content), a label column, an optional id."""
    path = Path(path)
    if not path.is_file():
        raise InputError("No such file.", path=str(path), fix="Check the path of the posts file.")
    rows: list[tuple[int, dict[str, Any]]] = []
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            rows = [(i + 2, dict(r)) for i, r in enumerate(csv.DictReader(fh))]
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    raise InputError(
                        "not valid JSON", path=str(path), line=i, fix="One JSON object per line."
                    ) from None
                if not isinstance(obj, dict):
                    raise InputError("expected a JSON object", path=str(path), line=i)
                rows.append((i, obj))
    else:
        raise InputError(f"unknown file type '{path.suffix}'", path=str(path), fix="Use .jsonl or .csv.")
    posts: list[Post] = []
    seen: set[str] = set()
    for lineno, obj in rows:
        text = next((obj[k] for k in TEXT_FIELDS if isinstance(obj.get(k), str) and obj[k].strip()), None)
        if text is None:
            raise InputError(
                f"no post text (expected one of {', '.join(TEXT_FIELDS)})", path=str(path), line=lineno, field="text"
            )
        if label_field not in obj or obj[label_field] in (None, ""):
            raise InputError("no label", path=str(path), line=lineno, field=label_field,
                             fix="Every post needs its label; pass --label-field for another column name.")  # fmt: skip
        pid = next((str(obj[k]) for k in ID_FIELDS if obj.get(k) not in (None, "")), f"line{lineno}")
        if pid in seen:
            raise InputError(f"duplicate id '{pid[:40]}'", path=str(path), line=lineno, field="id")
        seen.add(pid)
        posts.append(Post(pid, text.strip(), obj[label_field]))
    return posts


def parse_dialogue(raw: str) -> list[tuple[str, str]]:
    """(role, text) turns from the model's answer: its JSON, else "User: ... / Counsellor: ..." lines.
    Raises TeacherError when there is no dialogue with at least one user and one assistant turn."""
    from phqwatch.teacher.parse import extract_json

    turns: list[tuple[str, str]] = []
    try:
        obj = extract_json(raw)
        for t in obj.get("turns") or []:
            if isinstance(t, dict) and t.get("role") in ("user", "assistant") and isinstance(t.get("text"), str):
                if t["text"].strip():
                    turns.append((t["role"], t["text"].strip()))
    except TeacherError:
        pass
    if not turns:
        for line in raw.splitlines():
            m = _USER.match(line)
            if m:
                turns.append(("user", m.group(1).strip()))
                continue
            m = _ASSISTANT.match(line)
            if m:
                turns.append(("assistant", m.group(1).strip()))
    roles = {r for r, _ in turns}
    if not {"user", "assistant"} <= roles:
        raise TeacherError("The model's answer holds no dialogue with both a user and an assistant turn.")
    return turns


async def _one(client: Any, post: Post, prompt: str, turns: int, max_tokens: int) -> list[tuple[str, str]]:
    messages = [
        {"role": "system", "content": prompt},
        {"role": "user", "content": f"Write about {turns} turns in all.\n\nThe post:\n{post.text}"},
    ]
    result = await client.chat(messages, response_format=DIALOGUE_SCHEMA, max_tokens=max_tokens)
    return parse_dialogue(result.content)


async def synthesize(
    posts: Sequence[Post],
    settings: Settings,
    *,
    turns: int = 6,
    max_tokens: int = 800,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[list[dict[str, Any]], SynthStats, dict[str, Any]]:
    """(transcript rows, stats, run metadata). ``settings``: the teacher endpoint settings to use."""
    from phqwatch.teacher.client import TeacherClient

    prompt = load_prompt(name=PROMPT_NAME)
    stats = SynthStats(posts=len(posts))
    rows: list[dict[str, Any]] = []
    async with TeacherClient(settings, transport=transport) as client:
        results = await asyncio.gather(
            *(_one(client, p, prompt.text, turns, max_tokens) for p in posts), return_exceptions=True
        )
        fmt = client.output_format
        fallback = client.structured_fallback_reason
    for post, res in zip(posts, results, strict=True):
        if isinstance(res, BaseException):
            if not isinstance(res, TeacherError):
                raise res
            stats.failed += 1
            stats.failures[post.id] = getattr(res, "kind", None) or "no-dialogue"
            continue
        stats.ok += 1
        uid = f"synth-{post.id}"
        for role, text in res:
            rows.append({"user_id": uid, "conversation_id": uid, "role": role, "text": text,
                         "label": post.label, "source_id": post.id})  # fmt: skip
    meta = {
        "prompt": prompt.name,
        "prompt_version": prompt.version,
        "model": settings.teacher_model,
        "base_url": settings.teacher_base_url,
        "output_format": fmt,
        "structured_fallback_reason": fallback,
        "turns_requested": turns,
        "posts": stats.posts,
        "ok": stats.ok,
        "failed": stats.failed,
        "failures": stats.failures,
    }
    return rows, stats, meta


def synthesize_file(
    in_path: str | Path,
    out_path: str | Path,
    settings: Settings,
    *,
    label_field: str = "label",
    limit: int | None = None,
    turns: int = 6,
    max_tokens: int = 800,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    """Read posts, synthesize, write the JSONL and its `.meta.json`; returns the metadata."""
    from phqwatch.transcripts.writers import atomic_write

    out_path = Path(out_path)
    if out_path.suffix.lower() != ".jsonl":
        raise InputError("the output must be a .jsonl file (the transcript contract)", path=str(out_path))
    posts = read_posts(in_path, label_field=label_field)[:limit]
    rows, _, meta = asyncio.run(synthesize(posts, settings, turns=turns, max_tokens=max_tokens, transport=transport))
    meta["input"] = Path(in_path).name
    meta["input_sha256"] = hashlib.sha256(Path(in_path).read_bytes()).hexdigest()
    with atomic_write(out_path, encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    with atomic_write(out_path.with_suffix(".meta.json"), encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2, ensure_ascii=False)
    return meta
