"""Small real data and a small real estimator for the self-training tests (no mocks).

`RateEstimator` is least squares on the rate of low-mood words: fast, deterministic and good enough that
more (correct) labels help and inverted labels hurt, which is what the self-training logic needs to show.
Tests that reload model folders use the registered lexical-ridge instead.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from phqwatch.datasets.synthetic import generate
from phqwatch.models.base import PHQ9Estimator

LOW = ("hopeless", "tired", "worthless", "empty", "exhausted", "failure", "pointless", "sleep", "hate", "useless")
_WORD = re.compile(r"[a-z']+")


def low_rate(text: str) -> float:
    words = _WORD.findall(text.lower())
    return 100.0 * sum(w in LOW for w in words) / max(1, len(words))


class RateEstimator(PHQ9Estimator):
    """total = a * low-mood-word rate + b, fitted by least squares (optionally weighted)."""

    name = "test-rate"

    def _fit(self, texts: list[str], y: np.ndarray, sources: list[str] | None) -> None:
        x = np.array([low_rate(t) for t in texts])
        w = getattr(self, "_weights", None)
        w = np.ones(len(x)) if w is None else np.sqrt(np.asarray(w, dtype=float))
        a = np.vstack([x, np.ones_like(x)]).T * w[:, None]
        (self.slope_, self.intercept_), *_ = np.linalg.lstsq(a, y * w, rcond=None)
        self.n_train_ = len(texts)

    def _predict(self, texts: list[str]) -> np.ndarray:
        return np.array([self.slope_ * low_rate(t) + self.intercept_ for t in texts])

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"slope_": float(self.slope_), "intercept_": float(self.intercept_)}, {}

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path) -> None:
        self.slope_, self.intercept_ = state["slope_"], state["intercept_"]


class WeightedRateEstimator(RateEstimator):
    """The same model, taking `sample_weight` in fit (to test that weights are passed, not replicated)."""

    def fit(self, X, y, *, sources=None, sample_weight=None):  # type: ignore[override]
        self._weights = sample_weight
        self.seen_weights_ = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        try:
            return super().fit(X, y, sources=sources)
        finally:
            self._weights = None


def synthetic_users(n_users: int = 60, seed: int = 3) -> tuple[list[str], list[str], np.ndarray]:
    """(user ids, texts, integer PHQ-9 totals): each synthetic user's text and rounded mean total."""
    msgs, qs = generate(n_users=n_users, seed=seed)
    texts: dict[str, list[str]] = defaultdict(list)
    for m in msgs:
        if m["role"] == "user":
            texts[m["user_id"]].append(m["text"])
    totals: dict[str, list[int]] = defaultdict(list)
    for q in qs:
        totals[q["user_id"]].append(q["phq9_total"])
    ids = sorted(u for u in texts if len(texts[u]) > 1)
    return ids, [" ".join(texts[u]) for u in ids], np.array([round(float(np.mean(totals[u]))) for u in ids])


@pytest.fixture(scope="session")
def users() -> tuple[list[str], list[str], np.ndarray]:
    return synthetic_users()


@pytest.fixture(scope="session")
def split_users(users):
    """labeled (8), unlabeled (30, with their hidden true totals) and held-out (rest) users."""
    ids, texts, y = users
    return {
        "L": (texts[:8], y[:8]),
        "U": ({ids[i]: texts[i] for i in range(8, 38)}, y[8:38]),
        "H": (texts[38:], y[38:]),
    }


def one_teacher_round(split_users: dict, unlabeled: dict[str, str], teacher: Any, out_dir: Path) -> Any:
    """One self-training round of `RateEstimator` with ``teacher`` rating ``unlabeled`` (agreement filter
    wide open, so the teacher's own failures and abstentions are what a round rejects)."""
    from phqwatch.training.selftrain import self_train

    (lt, ly), (ht, hy) = split_users["L"], split_users["H"]
    return self_train(
        lt,
        ly,
        unlabeled,
        estimator_factory=RateEstimator,
        teacher=teacher,
        heldout=(ht, hy),
        max_rounds=1,
        filter="agreement",
        agreement_tol=27,
        n_boot=50,
        out_dir=out_dir,
    )
