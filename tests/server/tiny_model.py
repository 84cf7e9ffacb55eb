"""A small, real estimator for service tests: least squares on the rate of low-mood words.

It follows the PHQ9Estimator contract (fit/predict/intervals/evidence/save/load) so the worker runs the
same code path as with the shipped model; it is fitted on a handful of hand-written texts so tests do not
depend on which default model is installed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from phqwatch.models.base import PHQ9Estimator

LOW = ("hopeless", "tired", "worthless", "sad", "empty", "exhausted", "alone", "cry", "sleep", "guilty")
_WORD = re.compile(r"[a-z']+")


def _rate(text: str) -> float:
    words = _WORD.findall(text.lower())
    return 100.0 * sum(w in LOW for w in words) / max(1, len(words))


class TinyLowMoodEstimator(PHQ9Estimator):
    name = "tiny-low-mood"

    def _fit(self, texts: list[str], y: np.ndarray, sources: list[str] | None) -> None:
        x = np.array([_rate(t) for t in texts])
        a = np.vstack([x, np.ones_like(x)]).T
        (self.slope_, self.intercept_), *_ = np.linalg.lstsq(a, y, rcond=None)

    def _predict(self, texts: list[str]) -> np.ndarray:
        return np.array([self.slope_ * _rate(t) + self.intercept_ for t in texts])

    def evidence(self, text: str, items=None, k: int = 3) -> dict[int, list[str]]:  # type: ignore[no-untyped-def]
        """Item 2 (feeling down): up to k sentences with a low-mood word."""
        hits = [x.strip() for x in re.split(r"(?<=[.!?])\s+", text) if any(w in LOW for w in _WORD.findall(x.lower()))]
        return {2: hits[:k]} if hits else {}

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"slope_": float(self.slope_), "intercept_": float(self.intercept_)}, {}

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path) -> None:
        self.slope_, self.intercept_ = state["slope_"], state["intercept_"]


CALM = "I went for a walk and met a friend for lunch, work was fine and we laughed a lot about the film."
LOW_MOOD = "I feel hopeless and empty, so tired and exhausted, alone, I cry and cannot sleep, worthless and sad."


def fitted() -> TinyLowMoodEstimator:
    texts = [CALM * 3, LOW_MOOD * 3, (CALM + LOW_MOOD) * 2, CALM + " " + CALM, LOW_MOOD + " " + LOW_MOOD]
    y = [2.0, 24.0, 13.0, 3.0, 23.0]
    m = TinyLowMoodEstimator(min_words=20).fit(texts, y)
    m.calibrate_interval(texts, [3.0, 22.0, 12.0, 2.0, 25.0])
    m.metadata_ = {"name": "tiny-low-mood", "version": "test1"}
    return m
