"""Texts to token sequences for the transformer estimator: special tokens, the window budget, chunking.

Pure functions over a Hugging Face tokenizer (no torch); `TransformerEstimator._wrap/_encode_texts/
token_usage` call them with the fitted tokenizer, backbone kind and `ChunkingConfig`.
"""

from __future__ import annotations

import logging
from typing import Any

from phqwatch.errors import InputError
from phqwatch.models.transformer.chunking import coverage, fit_to_window
from phqwatch.models.transformer.config import ChunkingConfig

log = logging.getLogger(__name__)


def wrap(tokenizer: Any, kind: str, max_length: int) -> tuple[list[int], list[int], int]:
    """(prefix ids, suffix ids, text tokens per sequence) for this tokenizer and max_length.

    A decoder's sequence ends in EOS, so its last token (what "last" pooling reads) has seen the whole text."""
    from phqwatch.models.transformer.backbone import special_wrap

    prefix, suffix = special_wrap(tokenizer)
    eos = tokenizer.eos_token_id
    if kind == "decoder" and eos is not None and (not suffix or suffix[-1] != eos):
        suffix = [*suffix, eos]
    budget = max_length - len(prefix) - len(suffix)
    if budget < 4:
        raise InputError(f"max_length {max_length} leaves no room for text", fix="Raise max_length.")
    return prefix, suffix, budget


def _overlap(chunking: ChunkingConfig, budget: int) -> int:
    return min(chunking.chunk_overlap, budget - 1)


def tokens_read(n_tokens: int, budget: int, chunking: ChunkingConfig) -> int:
    """How many of a text's `n_tokens` the model reads (all unless chunks run past `max_chunks`)."""
    c = chunking
    return coverage(n_tokens, budget, mode=c.long_text, overlap=_overlap(c, budget), max_chunks=c.max_chunks)


def encode_texts(
    tokenizer: Any, texts: list[str], chunking: ChunkingConfig, wrapping: tuple[list[int], list[int], int]
) -> list[list[list[int]]]:
    """Each text as its list of token sequences (one for head_tail, up to max_chunks for chunk)."""
    prefix, suffix, budget = wrapping
    c = chunking
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    short = [len(r) - tokens_read(len(r), budget, c) for r in ids]
    if any(short):  # counts only, never text
        log.warning(
            "%d of %d texts exceed %s x %d tokens; %d tokens not read (raise max_chunks or max_length)",
            sum(1 for d in short if d),
            len(ids),
            c.max_chunks if c.long_text == "chunk" else 1,
            budget,
            sum(short),
        )
    return [
        [
            prefix + piece + suffix
            for piece in fit_to_window(
                list(row),
                budget,
                mode=c.long_text,
                head_fraction=c.head_fraction,
                overlap=_overlap(c, budget),
                max_chunks=c.max_chunks,
            )
        ]
        for row in ids
    ]


def token_usage(tokenizer: Any, texts: list[str], chunking: ChunkingConfig, budget: int) -> list[dict[str, int]]:
    """Per text: `n_tokens` in the text and `n_used` that the model reads (no silent truncation)."""
    out = []
    for row in tokenizer(texts, add_special_tokens=False)["input_ids"]:
        out.append({"n_tokens": len(row), "n_used": tokens_read(len(row), budget, chunking)})
    return out


__all__ = ["encode_texts", "token_usage", "tokens_read", "wrap"]
