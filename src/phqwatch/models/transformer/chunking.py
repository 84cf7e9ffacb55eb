"""Fitting long transcripts into a context window (pure Python over token ids).

Two strategies, chosen by the estimator's `long_text` parameter:

- ``"head_tail"`` keeps the first `head_fraction` of the token budget and fills the rest from the end of the
  text (the most recent messages, which sit closest to the questionnaire's recall period). One sequence
  per user; cheapest.
- ``"chunk"`` (the default) splits the text into consecutive windows of the budget with `overlap` tokens
  of overlap, encodes each and averages the pooled chunk vectors, so a long history is read whole. When
  there are more than `max_chunks`, evenly spaced chunks are kept (always the first and the last) and
  `coverage` says how many tokens were read. Costs up to `max_chunks` x the compute.
"""

from __future__ import annotations

LONG_TEXT_MODES = ("head_tail", "chunk")


def head_tail(ids: list[int], budget: int, head_fraction: float) -> list[int]:
    """Keep `ids` whole if it fits; else its first round(budget*head_fraction) and the rest from its end."""
    if budget <= 0:
        raise ValueError(f"token budget must be positive, got {budget}")
    if len(ids) <= budget:
        return list(ids)
    n_head = min(budget, max(0, round(budget * head_fraction)))
    n_tail = budget - n_head
    return list(ids[:n_head]) + (list(ids[-n_tail:]) if n_tail else [])


def chunk_spans(n: int, budget: int, overlap: int, max_chunks: int) -> list[tuple[int, int]]:
    """[start, end) spans of the chunks of `n` ids: windows of `budget`, `overlap` shared between
    neighbours; beyond `max_chunks`, evenly spaced spans are kept (the first and the last always)."""
    if budget <= 0:
        raise ValueError(f"token budget must be positive, got {budget}")
    if not 0 <= overlap < budget:
        raise ValueError(f"overlap must be in [0, budget), got {overlap} with budget {budget}")
    if n <= budget:
        return [(0, n)]
    step = budget - overlap
    out = [(s, min(n, s + budget)) for s in range(0, n - overlap, step)]
    if len(out) > max_chunks:
        if max_chunks == 1:
            return [out[-1]]
        keep = sorted({round(i * (len(out) - 1) / (max_chunks - 1)) for i in range(max_chunks)})
        out = [out[i] for i in keep]
    return out


def chunks(ids: list[int], budget: int, overlap: int, max_chunks: int) -> list[list[int]]:
    """Consecutive windows of at most `budget` ids, `overlap` ids shared between neighbours."""
    return [list(ids[s:e]) for s, e in chunk_spans(len(ids), budget, overlap, max_chunks)]


def coverage(n: int, budget: int, *, mode: str, overlap: int, max_chunks: int) -> int:
    """How many of `n` text tokens the model reads under `mode` (n when nothing is dropped)."""
    if mode == "head_tail":
        return min(n, budget)
    spans = chunk_spans(n, budget, overlap, max_chunks)
    covered, last_end = 0, 0
    for s, e in spans:
        covered += max(0, e - max(s, last_end))
        last_end = max(last_end, e)
    return covered


def fit_to_window(
    ids: list[int], budget: int, *, mode: str, head_fraction: float, overlap: int, max_chunks: int
) -> list[list[int]]:
    """The sequences (before special tokens) that represent one text under `mode`."""
    if mode == "head_tail":
        return [head_tail(ids, budget, head_fraction)]
    if mode == "chunk":
        return chunks(ids, budget, overlap, max_chunks)
    raise ValueError(f"unknown long_text mode {mode!r}; expected one of {LONG_TEXT_MODES}")
