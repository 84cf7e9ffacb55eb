"""What labels mean for self-training: PHQ-9 totals, or the ordinal codes of one proxy source."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phqwatch import phq9
from phqwatch.errors import InputError
from phqwatch.training.pseudolabels import BAND_BOUNDARIES, class_midpoints, class_of


@dataclass(frozen=True)
class LabelScale:
    """What the labels mean: PHQ-9 totals (`source=None`) or ordinal codes of one source.

    `boundaries` are the class edges on the PHQ-9 scale (default: the PHQ-9 bands; for a proxy source its
    weak ranges, e.g. DepSeverity 4.5/9.5/14.5). They turn a PHQ-9 pseudolabel into a code, a code into a
    midpoint (for interval calibration), and set the classes the confidence filter looks at.
    """

    source: str | None = None
    boundaries: tuple[float, ...] = BAND_BOUNDARIES
    class_names: tuple[str, ...] | None = None

    @property
    def ordinal(self) -> bool:
        return self.source is not None

    @property
    def n_classes(self) -> int:
        return len(self.boundaries) + 1

    def to_label(self, totals: np.ndarray, *, hard: bool = False) -> np.ndarray:
        """Training labels from PHQ-9 pseudolabels: codes (ordinal), class midpoints (hard) or totals."""
        t = np.asarray(totals, dtype=float)
        if self.ordinal:
            return class_of(t, self.boundaries).astype(float)
        if hard:
            return class_midpoints(self.boundaries)[class_of(t, self.boundaries)]
        return t

    def to_total(self, labels: np.ndarray) -> np.ndarray:
        """PHQ-9-scale values of labels: class midpoints for codes (weak), the totals themselves otherwise."""
        y = np.asarray(labels, dtype=float)
        if self.ordinal:
            return class_midpoints(self.boundaries)[y.astype(int)]
        return y

    def check(self, labels: np.ndarray, where: str, *, integer: bool = False) -> None:
        y = np.asarray(labels, dtype=float)
        if np.isnan(y).any():
            raise InputError(f"{where} contains missing labels", fix="Drop users without a label.")
        if self.ordinal:
            if (y != np.round(y)).any() or y.min() < 0 or y.max() >= self.n_classes:
                raise InputError(
                    f"{where} must be codes 0..{self.n_classes - 1} of source '{self.source}'",
                    fix="Pass ordinal codes, or LabelScale() for PHQ-9 totals.",
                )
        elif y.min() < phq9.MIN_TOTAL or y.max() > phq9.MAX_TOTAL or (integer and (y != np.round(y)).any()):
            kind = "integer PHQ-9 totals 0-27" if integer else "PHQ-9 totals 0-27"
            raise InputError(f"{where} must be {kind}", fix="Pass administered totals, or a LabelScale(source=...).")


__all__ = ["LabelScale"]
