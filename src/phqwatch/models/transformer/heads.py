"""The regression head and the backbone+head module that training and scoring run."""

from __future__ import annotations

import torch
from torch import nn

from phqwatch.models.transformer.pooling import pool, pool_chunks

N_ITEMS = 9


class RegressionHead(nn.Module):
    """Dropout + linear maps from the pooled vector to a standardised total (or one score per source when
    `n_outputs` > 1) and, optionally, nine items."""

    def __init__(self, hidden_size: int, *, item_heads: bool, dropout: float = 0.1, n_outputs: int = 1) -> None:
        super().__init__()
        self.n_outputs = n_outputs
        self.dropout = nn.Dropout(dropout)
        self.total = nn.Linear(hidden_size, n_outputs)
        self.items = nn.Linear(hidden_size, N_ITEMS) if item_heads else None
        nn.init.normal_(self.total.weight, std=0.02)
        nn.init.zeros_(self.total.bias)
        if self.items is not None:
            nn.init.normal_(self.items.weight, std=0.02)
            nn.init.zeros_(self.items.bias)

    def forward(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self.dropout(pooled.float())
        total = self.total(x)
        total = total.squeeze(-1) if self.n_outputs == 1 else total
        items = self.items(x) if self.items is not None else None
        return total, items


class RegressionModel(nn.Module):
    """Backbone -> pooling (last-token or mean) -> chunk averaging -> head, as one module for accelerate."""

    def __init__(self, backbone: nn.Module, head: RegressionHead, *, pooling: str, is_decoder: bool) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.pooling = pooling
        self.is_decoder = is_decoder

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, owner: torch.Tensor, n_docs: int
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.head(self.encode(input_ids, attention_mask, owner, n_docs))

    def encode(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, owner: torch.Tensor, n_docs: int
    ) -> torch.Tensor:
        """One float32 vector per document (pooled tokens, chunks averaged)."""
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self.is_decoder:
            # Positions count real tokens only, so left padding gives the same states as right padding.
            kwargs["position_ids"] = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        hidden = self.backbone(**kwargs).last_hidden_state
        vectors = pool(hidden, attention_mask, self.pooling)
        return pool_chunks(vectors.float(), owner, int(n_docs))
