"""Pooling token states into one vector per sequence, and chunk vectors into one per document."""

from __future__ import annotations

import torch


def last_token_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The state of each row's last non-padding token; works for left and right padding alike.

    `hidden` is (batch, seq, dim), `mask` (batch, seq) with 1 for real tokens. The index is the largest
    position whose mask is 1, so it does not assume where the padding sits.
    """
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    last = (positions * mask.long()).argmax(dim=1)
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the non-padding token states of each row."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)


def pool(hidden: torch.Tensor, mask: torch.Tensor, method: str) -> torch.Tensor:
    """Dispatch on `method`: "last" or "mean"."""
    if method == "last":
        return last_token_pool(hidden, mask)
    if method == "mean":
        return mean_pool(hidden, mask)
    raise ValueError(f"unknown pooling {method!r}; expected 'last' or 'mean'")


def pool_chunks(chunk_vectors: torch.Tensor, owner: torch.Tensor, n_docs: int) -> torch.Tensor:
    """Average chunk vectors (n_chunks, dim) into document vectors (n_docs, dim); `owner` maps chunk -> doc."""
    out = torch.zeros(n_docs, chunk_vectors.shape[1], dtype=chunk_vectors.dtype, device=chunk_vectors.device)
    out.index_add_(0, owner, chunk_vectors)
    counts = torch.bincount(owner, minlength=n_docs).clamp(min=1).to(chunk_vectors.dtype)
    return out / counts.unsqueeze(1)
