"""Turn a teacher's raw answer into a validated PHQ-9 rating.

Small and local models answer messy JSON: code fences, prose around the object, trailing commas, single
quotes, Python literals, output cut off at the token limit. `extract_json` repairs what it can; `parse_rating`
validates and clamps it with pydantic and checks every evidence quote against the transcript (quotes the
transcript does not contain are dropped and counted). No NaN ever leaves this module: missing numbers are
None.

Over 400 lines because every repair is one small function beside the case it handles; splitting the repairs
from the validation would separate each fix from the answer shape it exists for.
"""

from __future__ import annotations

import ast
import html
import json
import math
import re
import unicodedata
from difflib import SequenceMatcher
from typing import Any

from pydantic import BaseModel, Field, field_validator

from phqwatch.errors import TeacherError
from phqwatch.phq9 import ITEMS, MAX_TOTAL, MIN_TOTAL

#: A quote that is not an exact (normalised) substring is kept only when this similar to some window.
FUZZY_THRESHOLD = 0.92
#: Quotes shorter than this (normalised characters) must match exactly.
MIN_FUZZY_CHARS = 20
#: Longest quote kept (characters); longer "quotes" are paraphrases or copied paragraphs.
MAX_QUOTE_CHARS = 400
#: Repair effort is bounded so that a pathological answer cannot stall a run: at most this many '{'
#: starting points per answer, and this many cut-back points when closing truncated output.
MAX_STARTS = 4
MAX_CUTS = 20
REPAIR_BUDGET_CHARS = 300_000
#: With abstained items, the model's own total is used only when at least this many items are scored.
MIN_SCORED_FOR_MODEL_TOTAL = 5

_ABSTAIN_WORDS = {"null", "none", "n/a", "na", "insufficient", "insufficient evidence", "unknown", "", "-"}


class ParseError(TeacherError):
    """The teacher's answer could not be read as a rating (kept distinct so callers can count it)."""


# --------------------------------------------------------------------------------------------- JSON repair
def _strip_fences(raw: str) -> str:
    m = re.search(r"```(?:json|JSON)?\s*(.*?)(?:```|$)", raw, flags=re.S)
    return m.group(1) if m else raw


_Stack = tuple[str, "_Stack"] | None  # persistent linked stack of closers: O(1) push, pop and snapshot


def _closers(node: _Stack) -> str:
    out: list[str] = []
    while node is not None:
        out.append(node[0])
        node = node[1]
    return "".join(out)


def _scan(s: str) -> tuple[int | None, list[tuple[int, _Stack]], _Stack, str]:
    """Scan a JSON-ish string from its first '{'.

    Returns (end index of the balanced object or None, cut points (index, open-bracket stack) after each
    complete member, the stack at the end, the quote character the text ends inside ("" if none)).
    """
    stack: _Stack = None
    cuts: list[tuple[int, _Stack]] = []
    in_str = ""
    esc = False
    for i, ch in enumerate(s):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == in_str:
                in_str = ""
            continue
        if ch in "\"'":
            in_str = ch
        elif ch in "{[":
            stack = ("}" if ch == "{" else "]", stack)
            cuts.append((i + 1, stack))
        elif ch in "}]":
            if stack is not None:
                stack = stack[1]
            if stack is None:
                return i + 1, cuts, None, ""
            cuts.append((i + 1, stack))
        elif ch == ",":
            cuts.append((i, stack))
    return None, cuts, stack, in_str


def _single_to_double(s: str) -> str:
    """Rewrite single-quoted strings as JSON strings (apostrophes inside double quotes are left alone)."""
    out: list[str] = []
    i, n = 0, len(s)
    while i < n:
        ch = s[i]
        if ch == '"':
            j = i + 1
            while j < n and s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            out.append(s[i : j + 1])
            i = j + 1
        elif ch == "'":
            j = i + 1
            buf: list[str] = []
            while j < n and s[j] != "'":
                if s[j] == "\\" and j + 1 < n:
                    buf.append(s[j + 1])
                    j += 2
                    continue
                buf.append(s[j])
                j += 1
            out.append(json.dumps("".join(buf)))
            i = j + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


_LITERALS = [
    (re.compile(r"(?<![\w\"])None(?![\w\"])"), "null"),
    (re.compile(r"(?<![\w\"])True(?![\w\"])"), "true"),
    (re.compile(r"(?<![\w\"])False(?![\w\"])"), "false"),
    (re.compile(r"(?<![\w\"])-?(?:NaN|Infinity)(?![\w\"])"), "null"),
]
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_BARE_KEY = re.compile(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*:)")


def _cleanups(s: str) -> str:
    s = _TRAILING_COMMA.sub(r"\1", s)
    for pat, rep in _LITERALS:
        s = pat.sub(rep, s)
    return _BARE_KEY.sub(r'\1"\2"\3', s)


class _Budget:
    """Characters of repair parsing left for one answer; bounds the worst case of a pathological answer."""

    def __init__(self, chars: int = REPAIR_BUDGET_CHARS) -> None:
        self.chars = chars

    def spend(self, n: int) -> bool:
        self.chars -= n
        return self.chars >= 0


def _loads(s: str, budget: _Budget | None = None) -> Any:
    if budget is not None and not budget.spend(len(s)):
        return None
    tried: set[str] = set()
    for make in (lambda: s, lambda: _cleanups(s), lambda: _cleanups(_single_to_double(s))):
        candidate = make()
        if candidate in tried:
            continue
        tried.add(candidate)
        try:
            return json.loads(candidate)
        except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
            pass
    if len(s) > 50_000 or s.count("{") + s.count("[") > 500:
        return None
    try:  # last resort for Python-dict style answers; literal_eval never executes code
        return ast.literal_eval(_TRAILING_COMMA.sub(r"\1", s))
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None


def _close_truncated(s: str, cuts: list[tuple[int, _Stack]], stack: _Stack, in_str: str, budget: _Budget) -> Any:
    """Close output that was cut off: first as is, then backing off to earlier complete members."""
    obj = _loads(s + in_str + _closers(stack), budget)
    if isinstance(obj, dict):
        return obj
    for idx, stk in reversed(cuts[-MAX_CUTS:]):
        if budget.chars <= 0:
            return None
        obj = _loads(s[:idx].rstrip().rstrip(",") + _closers(stk), budget)
        if isinstance(obj, dict):
            return obj
    return None


def extract_json(raw: str) -> dict[str, Any]:
    """The first JSON object in `raw`, repaired where needed. Raises ParseError when there is none."""
    if not isinstance(raw, str) or not raw.strip():
        raise ParseError("The teacher returned an empty answer; expected a JSON object.")
    text = _strip_fences(raw)
    budget = _Budget()
    for source in dict.fromkeys((text, raw)):  # the fenced part first, then the whole answer
        start, tries = source.find("{"), 0
        while start != -1:
            s = source[start:]
            end, cuts, stack, in_str = _scan(s)
            if end is not None:
                obj = _loads(s[:end], budget)
            else:
                obj = _close_truncated(s, cuts, stack, in_str, budget)
            if isinstance(obj, dict):
                return obj
            tries += 1
            if tries >= MAX_STARTS:
                break
            start = source.find("{", start + 1)
    raise ParseError(
        "The teacher's answer holds no readable JSON object.",
        fix="Use a model that follows JSON instructions, or a server with structured-output support.",
    )


# ----------------------------------------------------------------------------------------- validation
def _to_score(v: Any) -> int | None:
    """0-3 or None; clamps out-of-range numbers, reads '2', 2.0, 'several days'-free strings."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, str):
        t = v.strip().lower()
        if t in _ABSTAIN_WORDS or t.startswith("insufficient"):
            return None
        m = re.match(r"^-?\d+(?:\.\d+)?", t)
        if not m:
            return None
        v = float(m.group(0))
    if isinstance(v, int | float):
        f = float(v)
        if math.isnan(f) or math.isinf(f):
            return None
        return int(min(3, max(0, round(f))))
    return None


class ItemRating(BaseModel):
    """One PHQ-9 item as the teacher rated it (score None = insufficient evidence)."""

    score: int | None = Field(None, ge=0, le=3)
    evidence: list[str] = Field(default_factory=list)
    rationale: str = ""

    @field_validator("score", mode="before")
    @classmethod
    def _score(cls, v: Any) -> int | None:
        return _to_score(v)

    @field_validator("evidence", mode="before")
    @classmethod
    def _evidence(cls, v: Any) -> list[str]:
        if v is None:
            return []
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list | tuple):
            return []
        return [str(q) for q in v if isinstance(q, str | int | float) and str(q).strip()]

    @field_validator("rationale", mode="before")
    @classmethod
    def _rationale(cls, v: Any) -> str:
        return "" if v is None else str(v)[:1000]


class RawRating(BaseModel):
    """The teacher's answer after validation and clamping (before quote verification)."""

    items: dict[int, ItemRating]
    total: int | None = None
    confidence: float | None = None

    @field_validator("total", mode="before")
    @classmethod
    def _total(cls, v: Any) -> int | None:
        if v is None or isinstance(v, bool):
            return None
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None
        if math.isnan(f) or math.isinf(f):
            return None
        return int(min(MAX_TOTAL, max(MIN_TOTAL, round(f))))

    @field_validator("confidence", mode="before")
    @classmethod
    def _confidence(cls, v: Any) -> float | None:
        if v is None or isinstance(v, bool):
            return None
        if isinstance(v, str):
            m = re.search(r"-?\d+(?:\.\d+)?", v)
            if not m:
                return None
            pct = "%" in v
            v = float(m.group(0)) / (100.0 if pct else 1.0)
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None
        if math.isnan(f) or math.isinf(f):
            return None
        if f > 1.0:  # 0-100 or 0-10 scales
            f = f / 100.0 if f > 10.0 else f / 10.0
        return min(1.0, max(0.0, f))


_KEY_BY_NAME = {it.key: it.number for it in ITEMS}


def _item_number(key: Any) -> int | None:
    k = str(key).strip().lower()
    if k in _KEY_BY_NAME:
        return _KEY_BY_NAME[k]
    m = re.search(r"(\d+)", k)
    if m and 1 <= int(m.group(1)) <= 9:
        return int(m.group(1))
    return None


def _normalise_items(obj: dict[str, Any]) -> dict[int, Any]:
    """Accept {"items": {"item_1": ...}}, {"items": [{"item": 1, ...}]}, or item keys at the top level."""
    items = obj.get("items", obj.get("scores"))
    out: dict[int, Any] = {}
    if isinstance(items, list):
        for pos, entry in enumerate(items, 1):
            if isinstance(entry, dict):
                n = _item_number(entry.get("item", entry.get("number", entry.get("id", pos))))
                if n:
                    out.setdefault(n, entry)
            elif pos <= 9:
                out.setdefault(pos, {"score": entry})
    else:
        source = items if isinstance(items, dict) else obj
        for k, v in source.items():
            n = _item_number(k) if (str(k).lower().startswith("item") or str(k).lower() in _KEY_BY_NAME) else None
            if isinstance(items, dict) and n is None:
                n = _item_number(k)
            if n is None:
                continue
            out.setdefault(n, v if isinstance(v, dict) else {"score": v})
    return out


# ------------------------------------------------------------------------------------ quote verification
_QUOTE_CHARS = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2026": "..."})


def normalise(text: str) -> str:
    """Case-folded, whitespace-collapsed text with typographic quotes made plain."""
    t = unicodedata.normalize("NFKC", html.unescape(text)).translate(_QUOTE_CHARS).casefold()
    return re.sub(r"\s+", " ", t).strip()


def _trim_quote(q: str) -> str:
    return q.strip().strip("\"'`“”‘’«» ").strip()


def _anchors(part: str, hay: str, limit: int = 12) -> list[int]:
    """Positions in `hay` where some 3-word piece of `part` occurs exactly (candidate match sites)."""
    words = part.split()
    n = 3 if len(words) >= 3 else len(words)
    found: list[int] = []
    for k in range(len(words) - n + 1):
        piece = " ".join(words[k : k + n])
        offset = part.find(piece)
        pos = hay.find(piece)
        while pos != -1 and len(found) < limit:
            found.append(max(0, pos - offset))
            pos = hay.find(piece, pos + 1)
        if len(found) >= limit:
            break
    return sorted(set(found))


def _fuzzy_in(part: str, hay: str) -> bool:
    """True when some window of `hay` is at least FUZZY_THRESHOLD similar to `part`.

    Only windows around exact 3-word anchors are compared, so a long transcript costs little; a quote
    with no intact 3-word piece is too far from the text to count anyway.
    """
    if len(part) < MIN_FUZZY_CHARS or len(part) > len(hay) + 5:
        return False
    for start in _anchors(part, hay):
        region = hay[max(0, start - 8) : start + len(part) + 8]
        sm = SequenceMatcher(None, region, part, autojunk=False)
        m = sm.find_longest_match(0, len(region), 0, len(part))
        base = max(0, m.a - m.b)
        for delta in (-3, -2, -1, 0, 1, 2, 3):
            for extra in (-2, 0, 2):
                lo = max(0, base + delta)
                window = region[lo : lo + len(part) + extra]
                w = SequenceMatcher(None, window, part, autojunk=False)
                if w.quick_ratio() >= FUZZY_THRESHOLD and w.ratio() >= FUZZY_THRESHOLD:
                    return True
    return False


def quote_in_transcript(quote: str, transcript_norm: str) -> bool:
    """True when every '...'-separated part of the quote occurs in the (normalised) transcript."""
    q = normalise(_trim_quote(quote))
    if not q or len(q) > MAX_QUOTE_CHARS:
        return False
    parts = [p.strip(" .,;:!?\"'") for p in re.split(r"\.\.\.|\[\.\.\.\]", q)]
    parts = [p for p in parts if p]
    if not parts:
        return False
    return all(p in transcript_norm or _fuzzy_in(p, transcript_norm) for p in parts)


# ------------------------------------------------------------------------------------------ the rating
class Rating(BaseModel):
    """A verified teacher rating of one user's text. Item scores None = abstained on that item."""

    items: dict[int, int | None]
    evidence: dict[int, list[str]]
    rationale: dict[int, str]
    total: int | None
    model_total: int | None
    confidence: float | None
    n_quotes_kept: int
    n_quotes_dropped: int
    total_source: str  # "items", "model" or "none"

    @property
    def n_items_abstained(self) -> int:
        return sum(1 for v in self.items.values() if v is None)

    @property
    def status(self) -> str:
        return "ok" if self.total is not None else "abstained"


def resolve_total(items: dict[int, int | None], model_total: int | None) -> tuple[int | None, str]:
    """Total from the nine items when all are scored; else the model's total only if it is consistent.

    Consistent means: at least MIN_SCORED_FOR_MODEL_TOTAL items are scored, and the total lies between the
    sum of the scored items and that sum plus 3 per abstained item. Otherwise there is no total (abstain).
    """
    scored = [v for v in items.values() if v is not None]
    if len(scored) == len(ITEMS):
        return int(sum(scored)), "items"
    if model_total is None or len(scored) < MIN_SCORED_FOR_MODEL_TOTAL:
        return None, "none"
    lo = sum(scored)
    hi = lo + 3 * (len(ITEMS) - len(scored))
    if lo <= model_total <= hi:
        return model_total, "model"
    return None, "none"


def parse_rating(raw: str | dict[str, Any], transcript: str) -> Rating:
    """Parse, repair, validate and verify a teacher answer against the transcript it rated."""
    obj = extract_json(raw) if isinstance(raw, str) else raw
    found = _normalise_items(obj)
    if not found:
        raise ParseError(
            "The teacher's JSON has no PHQ-9 items; expected 'items' with item_1..item_9.",
            fix="Check that the server honours the rubric prompt (or use a larger model).",
        )
    try:
        raw_rating = RawRating.model_validate(
            {
                "items": {n: (v if isinstance(v, dict) else {"score": v}) for n, v in found.items()},
                "total": obj.get("total"),
                "confidence": obj.get("confidence"),
            }
        )
    except Exception as exc:  # pydantic.ValidationError and friends: the answer is unusable
        raise ParseError(f"The teacher's JSON does not validate as a PHQ-9 rating ({type(exc).__name__}).") from exc

    hay = normalise(transcript)
    items: dict[int, int | None] = {}
    evidence: dict[int, list[str]] = {}
    rationale: dict[int, str] = {}
    kept = dropped = 0
    for it in ITEMS:
        r = raw_rating.items.get(it.number)
        items[it.number] = r.score if r else None
        rationale[it.number] = r.rationale if r else ""
        good: list[str] = []
        for q in r.evidence if r else []:
            if quote_in_transcript(q, hay):
                good.append(_trim_quote(q))
                kept += 1
            else:
                dropped += 1
        evidence[it.number] = good
    total, source = resolve_total(items, raw_rating.total)
    return Rating(
        items=items,
        evidence=evidence,
        rationale=rationale,
        total=total,
        model_total=raw_rating.total,
        confidence=raw_rating.confidence,
        n_quotes_kept=kept,
        n_quotes_dropped=dropped,
        total_source=source,
    )
