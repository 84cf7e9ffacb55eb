"""The criteria knowledge base (written by the project in its own words) and BM25 retrieval over it.

`CriteriaIndex.for_item(item, quotes)` maps one PHQ-9 item's evidence sentences to the depressive-episode
features they speak to. The query is the patient's quotes; the item's own wording is added only when there
are no quotes, so a retrieved criterion says what the *evidence* resembles, not just what the item is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from phqwatch import phq9
from phqwatch.errors import InputError
from phqwatch.reports.bm25 import BM25, tokenize

KINDS = ("episode_criterion", "phq9_item", "context")


@dataclass(frozen=True)
class Criterion:
    """One knowledge-base entry."""

    id: str
    kind: str
    title: str
    text: str
    keywords: str
    phq9_items: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "title": self.title, "text": self.text}


@dataclass(frozen=True)
class CriterionMatch:
    """A retrieved criterion with its BM25 score and whether the KB links it to the queried item."""

    criterion: Criterion
    score: float
    linked_to_item: bool

    def as_dict(self) -> dict[str, Any]:
        return {**self.criterion.as_dict(), "score": round(self.score, 3), "linked_to_item": self.linked_to_item}


def load_knowledge_base(path: str | Path | None = None) -> tuple[dict[str, Any], list[Criterion]]:
    """(metadata, entries) of the KB; the shipped `criteria_kb.json` unless `path` is given."""
    if path is None:
        raw = resources.files("phqwatch.reports").joinpath("criteria_kb.json").read_text(encoding="utf-8")
        where = "phqwatch/reports/criteria_kb.json"
    else:
        raw, where = Path(path).read_text(encoding="utf-8"), str(path)
    try:
        data = json.loads(raw)
        entries = [
            Criterion(
                id=str(e["id"]),
                kind=str(e["kind"]),
                title=str(e["title"]),
                text=str(e["text"]),
                keywords=str(e.get("keywords", "")),
                phq9_items=tuple(int(i) for i in e.get("phq9_items", [])),
            )
            for e in data["entries"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"criteria knowledge base is malformed ({type(exc).__name__}: {exc})",
            path=where,
            fix="Each entry needs id, kind, title, text, optional keywords and phq9_items.",
        ) from None
    ids = [e.id for e in entries]
    if len(set(ids)) != len(ids):
        raise InputError("criteria knowledge base has duplicate ids", path=where, fix="Give every entry a unique id.")
    for e in entries:
        if e.kind not in KINDS:
            raise InputError(f"entry {e.id} has kind {e.kind!r}; expected one of {KINDS}", path=where, field="kind")
    meta = {k: v for k, v in data.items() if k != "entries"}
    return meta, entries


class CriteriaIndex:
    """BM25 index over the KB's depressive-episode criteria (and, on request, the other entries)."""

    def __init__(self, entries: Sequence[Criterion], meta: dict[str, Any] | None = None) -> None:
        self.entries = list(entries)
        self.meta = meta or {}
        self.by_id = {e.id: e for e in self.entries}
        self._bm25 = BM25([tokenize(f"{e.title} {e.text} {e.keywords} {e.keywords}") for e in self.entries])

    @classmethod
    def default(cls) -> CriteriaIndex:
        return _default_index()

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unversioned"))

    def search(self, query: str, *, k: int = 3, kinds: Sequence[str] = ("episode_criterion",)) -> list[CriterionMatch]:
        """Top-k entries of the given kinds for a free-text query (score > 0 only), best first."""
        scores = self._bm25.scores(tokenize(query))
        ranked = sorted(
            (i for i, e in enumerate(self.entries) if e.kind in kinds and scores[i] > 0),
            key=lambda i: (-scores[i], self.entries[i].id),
        )
        return [CriterionMatch(self.entries[i], scores[i], False) for i in ranked[:k]]

    def for_item(self, item: int, quotes: Sequence[str], *, k: int = 2) -> list[CriterionMatch]:
        """Criteria the evidence for PHQ-9 `item` maps to, best first; `linked_to_item` marks the KB's own link."""
        if not 1 <= item <= 9:
            raise InputError(f"PHQ-9 item {item!r} is out of range; expected 1-9.", field="item")
        query = " ".join(quotes) if quotes else phq9.ITEMS[item - 1].text
        return [CriterionMatch(m.criterion, m.score, item in m.criterion.phq9_items) for m in self.search(query, k=k)]

    def linked(self, item: int) -> Criterion:
        """The episode criterion the KB links to PHQ-9 `item`."""
        for e in self.entries:
            if e.kind == "episode_criterion" and item in e.phq9_items:
                return e
        raise InputError(f"no criterion is linked to PHQ-9 item {item}", fix="Check criteria_kb.json.")


@lru_cache(maxsize=1)
def _default_index() -> CriteriaIndex:
    meta, entries = load_knowledge_base()
    return CriteriaIndex(entries, meta)
