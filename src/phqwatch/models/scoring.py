"""Scoring transcripts end to end: stream messages, assemble per-user text, estimate in batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phqwatch.config import DEFAULT_MAX_MESSAGE_CHARS
from phqwatch.models.base import PHQ9Estimator, UserEstimate
from phqwatch.transcripts import (
    SCORE_COLUMNS,
    AssembleStats,
    Message,
    ReadStats,
    assemble_users,
    iter_messages,
    messages_from_records,
    write_rows,
)


@dataclass(slots=True)
class ScoreSummary:
    """What a scoring run did; printed by the CLI (counts only, never text)."""

    users: int = 0
    scored: int = 0
    abstained: int = 0
    read: ReadStats = field(default_factory=ReadStats)
    assembled: AssembleStats = field(default_factory=AssembleStats)
    out: Path | None = None


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for it in items:
        batch.append(it)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def score_messages(
    messages: Iterable[Message],
    model: PHQ9Estimator,
    *,
    include_assistant: bool = False,
    min_words: int | None = None,
    batch_size: int = 256,
    evidence: bool = True,
    spill_chars: int = 200_000_000,
    summary: ScoreSummary | None = None,
    progress: bool = False,
) -> Iterator[UserEstimate]:
    """Yield one `UserEstimate` per user, streaming in batches.

    Per-user text is held in memory up to `spill_chars` characters, then spilled to a temporary SQLite file.
    """
    summary = summary if summary is not None else ScoreSummary()
    users = assemble_users(
        messages, include_assistant=include_assistant, spill_chars=spill_chars, stats=summary.assembled
    )
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(unit=" users", desc="scoring", leave=False)
    try:
        for batch in _batched(users, batch_size):
            for est in model.estimate(batch, min_words=min_words, evidence=evidence):
                summary.users += 1
                if est.status == "ok":
                    summary.scored += 1
                else:
                    summary.abstained += 1
                yield est
            if bar is not None:
                bar.update(len(batch))
    finally:
        if bar is not None:
            bar.close()


def score_file(
    input_path: str | Path,
    out_path: str | Path,
    model: PHQ9Estimator,
    *,
    include_assistant: bool = False,
    min_words: int | None = None,
    max_message_chars: int | None = DEFAULT_MAX_MESSAGE_CHARS,
    progress: bool = False,
) -> ScoreSummary:
    """Score a transcript file and write the scores contract (CSV or JSONL) atomically.

    JSONL rows also carry each item's evidence sentences; CSV stays flat (and skips computing them).
    """
    summary = ScoreSummary(out=Path(out_path))
    with_evidence = Path(out_path).suffix.lower() in (".jsonl", ".ndjson")
    msgs = iter_messages(input_path, max_message_chars=max_message_chars, stats=summary.read)
    estimates = score_messages(
        msgs,
        model,
        include_assistant=include_assistant,
        min_words=min_words,
        evidence=with_evidence,
        summary=summary,
        progress=progress,
    )
    rows = (e.to_row(evidence=with_evidence) for e in estimates)
    write_rows(rows, out_path, columns=(*SCORE_COLUMNS, "evidence") if with_evidence else SCORE_COLUMNS)
    return summary


def score_frame(df: Any, model: PHQ9Estimator | None = None, **kwargs: Any) -> Any:
    """Score a pandas DataFrame in the transcript contract; returns a DataFrame in the scores contract."""
    import pandas as pd

    from phqwatch.models.registry import load_model

    model = model if model is not None else load_model()
    rows = [
        e.to_row()
        for e in score_messages(messages_from_records(df.to_dict("records"), source="DataFrame"), model, **kwargs)
    ]
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
