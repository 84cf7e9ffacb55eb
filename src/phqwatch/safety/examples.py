"""Labelled chat messages for the risk model: the project's hand-written training set, blind test sets
and their systematic variants.

A set is a folder of JSONL files (one file per writer) or one JSONL file; each line holds ``id``, ``text``,
``context`` (preceding turns, oldest first), ``severity``, ``categories``, ``lang`` and ``kind``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from phqwatch.errors import InputError
from phqwatch.safety.context import Turn
from phqwatch.safety.types import CATEGORIES, SEVERITIES

__all__ = [
    "Example",
    "SENTENCE_END",
    "composed_negatives",
    "read_examples",
    "sentences_of_negatives",
    "trainset_dir",
    "variants",
]


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    context: tuple[Turn, ...]
    severity: str
    categories: tuple[str, ...]
    lang: str
    kind: str
    writer: str  # the file (writer) it came from; folds for leave-one-writer-out
    weight: float = 1.0

    @property
    def crisis(self) -> bool:
        return self.severity in ("high", "urgent", "imminent")


def trainset_dir() -> Path:
    """The hand-written training set shipped with the package."""
    return Path(str(resources.files("phqwatch.safety") / "trainset"))


def read_examples(path: str | Path) -> list[Example]:
    """Read a JSONL file, or every ``*.jsonl`` file in a folder (each file is one writer)."""
    p = Path(path)
    files = sorted(p.glob("*.jsonl")) if p.is_dir() else [p]
    if not files or not all(f.is_file() for f in files):
        raise InputError(f"no JSONL files found at {p}.", path=str(p), fix="Give a .jsonl file or a folder of them.")
    out: list[Example] = []
    for f in files:
        out.extend(_read_file(f))
    return out


def _read_file(f: Path) -> Iterable[Example]:
    writer = f.stem
    with f.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"not valid JSON ({exc.msg}).", path=str(f), line=n, fix="One JSON object per line."
                ) from exc
            yield _example(d, f, n, writer)


def _example(d: dict, f: Path, n: int, writer: str) -> Example:
    def need(key: str, kind: type) -> object:
        if not isinstance(d.get(key), kind):
            raise InputError(
                f"expected {kind.__name__}, found {type(d.get(key)).__name__}.",
                path=str(f),
                line=n,
                field=key,
                fix="See phqwatch.safety.examples for the record format.",
            )
        return d[key]

    text = str(need("text", str))
    sev = str(need("severity", str))
    if sev not in SEVERITIES:
        raise InputError(
            f"unknown severity {sev!r}.", path=str(f), line=n, field="severity", fix=f"Use one of {SEVERITIES}."
        )
    cats = tuple(d.get("categories") or ())
    bad = [c for c in cats if c not in CATEGORIES]
    if bad:
        raise InputError(
            f"unknown categories {bad}.", path=str(f), line=n, field="categories", fix=f"Use {CATEGORIES}."
        )
    turns = []
    for i, t in enumerate(d.get("context") or []):
        if not isinstance(t, dict) or t.get("role") not in ("user", "assistant") or not isinstance(t.get("text"), str):
            raise InputError(
                "each context turn needs role 'user' or 'assistant' and a text.",
                path=str(f),
                line=n,
                field=f"context[{i}]",
                fix='Write {"role": "assistant", "text": "..."}.',
            )
        turns.append(Turn(t["role"], t["text"]))
    return Example(
        id=str(d.get("id") or f"{writer}-{n}"),
        text=text,
        context=tuple(turns),
        severity=sev,
        categories=cats,
        lang=str(d.get("lang") or "en"),
        kind=str(d.get("kind") or ""),
        writer=writer,
    )


# ---- systematic variants ----------------------------------------------------------------------------
_CENSOR_WORDS = re.compile(
    r"\b(kill|suicide|suicidal|die|dead|death|cut|cutting|myself|overdose|hang|self harm)\b", re.I
)


def _censor(text: str, rng: random.Random) -> str:
    def one(m: re.Match[str]) -> str:
        w = m.group(0)
        style = rng.randrange(4)
        if style == 0 and len(w) > 2:  # k*ll
            vowels = [i for i, c in enumerate(w) if c.lower() in "aeiou"]
            i = rng.choice(vowels) if vowels else 1
            return w[:i] + "*" + w[i + 1 :]
        if style == 1:  # s-u-i-c-i-d-e
            return "-".join(w.replace(" ", ""))
        if style == 2:  # leet
            return w.translate(str.maketrans("ieoa", "1304"))
        return re.sub(r"([aeiou])", lambda v: v.group(1) * rng.randint(3, 5), w, count=1)  # diiiie

    return _CENSOR_WORDS.sub(one, text)


def _misspell(text: str, rng: random.Random) -> str:
    words = text.split()
    for _ in range(max(1, len(words) // 6)):
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 3 and w.isalpha():
            j = rng.randrange(1, len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :] if rng.random() < 0.5 else w[:j] + w[j + 1 :]
    return " ".join(words)


def _run_on(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[.,!?;:]+", " ", text)).strip().lower()


def _space_cjk(text: str, rng: random.Random) -> str:
    sep = rng.choice([" ", "/", "-", "·"])
    return re.sub(r"(?<=[\u3400-\u9fff])(?=[\u3400-\u9fff])", lambda _: sep if rng.random() < 0.5 else "", text)


SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


def sentences_of_negatives(examples: Sequence[Example]) -> list[Example]:
    """Each sentence of a multi-sentence message without crisis risk, as a negative of its own: a sentence
    of a safe message is safe, and this keeps everyday symptom talk ("I've been sleeping badly") from
    borrowing risk from the crisis messages it also appears in."""
    out: list[Example] = []
    for e in examples:
        if e.crisis or e.context:
            continue
        parts = [p.strip() for p in SENTENCE_END.split(e.text) if len(p.strip()) > 3]
        if len(parts) < 2:
            continue
        for k, part in enumerate(parts):
            out.append(
                replace(e, id=f"{e.id}#s{k}", text=part, severity="none", categories=(), kind=f"{e.kind}+sentence")
            )
    return out


def composed_negatives(examples: Sequence[Example], *, n: int, seed: int = 0, weight: float = 1.0) -> list[Example]:
    """``n`` safe messages made of two to five sentences of safe messages (and safe auxiliary sentences):
    a long message about several everyday things is as safe as its parts. Without them the model learns
    length itself as risk, because the "buried" variants put crisis statements inside long safe messages
    ("I've been sleeping badly. I went for a walk." scored above "I've been sleeping badly.")."""
    pools: dict[str, list[str]] = {"en": [], "zh": []}
    for e in examples:
        if e.crisis or e.severity != "none" or e.context or e.lang not in pools:
            continue
        for part in SENTENCE_END.split(e.text):
            part = part.strip()
            if len(part) > 3 and len(part.split()) <= 30:
                pools[e.lang].append(part)
    rng = random.Random(seed)
    out: list[Example] = []
    for i in range(n):
        lang = "zh" if pools["zh"] and (rng.random() < 0.15 or not pools["en"]) else "en"
        pool = pools[lang]
        if len(pool) < 2:
            break
        parts = rng.sample(pool, k=min(len(pool), rng.randint(2, 5 if lang == "en" else 4)))
        text = ("" if lang == "zh" else " ").join(parts)
        out.append(Example(f"composed-{i}", text, (), "none", (), lang, "composed", "composed", weight))
    return out


def variants(examples: Sequence[Example], *, seed: int = 0, per_example: float = 1.0) -> list[Example]:
    """Systematic variants of ``examples`` (censored, misspelled, lower-case run-on, buried in a long
    message about something else, spaced Chinese), labelled as their source, and the sentences of safe
    multi-sentence messages (``sentences_of_negatives``). About ``per_example`` variants per example,
    drawn with ``seed``."""
    rng = random.Random(seed)
    fillers = [e.text for e in examples if e.severity == "none" and not e.context and len(e.text.split()) >= 8]
    out: list[Example] = sentences_of_negatives(examples)
    for e in examples:
        k = int(per_example) + (rng.random() < per_example - int(per_example))
        for v in range(k):
            if e.lang == "zh":
                text = _space_cjk(e.text, rng) if rng.random() < 0.5 else e.text + rng.choice(["。。。", "…", "😭", ""])
                kind = "zh-variant"
            else:
                choice = rng.randrange(4)
                if choice == 0:
                    text, kind = _censor(e.text, rng), "censored"
                elif choice == 1:
                    text, kind = _misspell(e.text, rng), "misspelled"
                elif choice == 2:
                    text, kind = _run_on(e.text), "run-on"
                elif fillers and not e.context:
                    before = " ".join(rng.sample(fillers, k=min(2, len(fillers))))
                    after = rng.choice(fillers)
                    text, kind = f"{before} {e.text} {after}", "buried"
                else:
                    text, kind = _run_on(_censor(e.text, rng)), "censored-run-on"
            if text != e.text:
                out.append(replace(e, id=f"{e.id}~{v}", text=text, kind=f"{e.kind}+{kind}"))
    return out
