"""What self-training works on and produces: checked inputs, a round's pseudolabels, round results.

`SelfTrainData.build` checks and aligns the inputs of `SelfTrainer.run`; `Pseudolabels` is one round's
pseudolabels (previous model's scores, the filter's verdicts, training labels); `RoundResult` and
`SelfTrainResult` are what a run returns; `write_pseudolabels` writes a round's table (ids and numbers
only, never text).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from phqwatch.errors import ConfigError, InputError
from phqwatch.models.base import PHQ9Estimator
from phqwatch.training.label_scale import LabelScale
from phqwatch.training.pseudolabels import FilterResult, TeacherScores


def _ids_texts(x: Mapping[str, str] | Sequence[str], prefix: str) -> tuple[list[str], list[str]]:
    if isinstance(x, str):
        raise InputError("expected a sequence of texts or a mapping user_id -> text, got one string")
    if isinstance(x, Mapping):
        return [str(k) for k in x], list(x.values())
    texts = list(x)
    return [f"{prefix}-{i:06d}" for i in range(len(texts))], texts


SUMMARY_FILE = "summary.json"
PLOT_FILE = "heldout_by_round.png"
PSEUDO_COLUMNS = (
    "user_id",
    "teacher_score",
    "teacher_confidence",
    "teacher_status",
    "model_score",
    "pseudolabel",
    "train_label",
    "confidence",
    "accepted",
    "reason",
)


@dataclass
class RoundResult:
    """One round: what was trained on, what the filter did, held-out metrics and timings."""

    round: int
    n_labeled: int
    n_unlabeled: int
    n_pseudo_accepted: int
    reasons: dict[str, int]
    pseudo_source: str | None
    pseudo_stats: dict[str, Any]
    metric: float
    heldout: dict[str, Any]
    test: dict[str, Any] | None
    improved: bool
    timings_s: dict[str, float]
    model_dir: str | None = None

    def brief(self) -> dict[str, Any]:
        """The round without the full metric dictionaries (for tables and logs)."""
        d = asdict(self)
        d.pop("heldout")
        d.pop("test")
        if math.isnan(d["metric"]):
            d["metric"] = None  # undefined (e.g. constant predictions); JSON has no NaN
        return d


@dataclass
class SelfTrainResult:
    """All rounds, the chosen model and the summary written to summary.json."""

    rounds: list[RoundResult]
    best_round: int
    best_model: PHQ9Estimator
    baseline_model: PHQ9Estimator
    stopped: str
    ensemble_model: PHQ9Estimator | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    #: Every round's fitted model (index = round).
    models: list[PHQ9Estimator] = field(default_factory=list)


@dataclass
class SelfTrainData:
    """The checked inputs of one run: labeled, unlabeled, held-out (and calibration, test) users."""

    texts: list[str]
    labels: np.ndarray
    #: Per labeled row, the source of its label (ordinal codes), or None for PHQ-9 totals.
    sources: list[str] | None
    unlabeled_ids: list[str]
    unlabeled_texts: list[str]
    heldout_texts: list[str]
    heldout_labels: np.ndarray
    calib_texts: list[str]
    calib_labels: np.ndarray
    test: tuple[list[str], np.ndarray] | None = None
    #: The source pseudolabels train under (the scale's, else the labeled rows'); None for totals.
    pseudo_source: str | None = None

    @classmethod
    def build(
        cls,
        scale: LabelScale,
        labeled: tuple[Sequence[str], Sequence[float]],
        unlabeled: Mapping[str, str] | Sequence[str],
        *,
        heldout: tuple[Sequence[str], Sequence[float]],
        test: tuple[Sequence[str], Sequence[float]] | None = None,
        calib: tuple[Sequence[str], Sequence[float]] | None = None,
        labeled_sources: Sequence[str] | None = None,
    ) -> SelfTrainData:
        """Check and align the inputs of `SelfTrainer.run`: labeled (texts, labels) on `scale`, unlabeled
        texts (or user_id -> text), held-out (texts, labels), optional test and calibration pairs."""
        texts = list(labeled[0])
        y = np.asarray(labeled[1], dtype=float)
        if len(texts) != len(y):
            raise InputError(f"{len(texts)} labeled texts but {len(y)} labels", fix="Align texts and labels.")
        scale.check(y, "labels")
        u_ids, u_texts = _ids_texts(unlabeled, "unlabeled")
        h_texts, h_y = list(heldout[0]), np.asarray(heldout[1], dtype=float)
        if len(h_texts) != len(h_y) or len(h_texts) < 2:
            raise InputError("heldout must be (texts, labels) of equal length, at least 2", field="heldout")
        scale.check(h_y, "heldout labels", integer=True)
        tst = None
        if test is not None:
            tst = (list(test[0]), np.asarray(test[1], dtype=float))
            scale.check(tst[1], "test labels", integer=True)
        c_texts, c_y = (h_texts, h_y) if calib is None else (list(calib[0]), np.asarray(calib[1], dtype=float))
        if scale.source is not None and labeled_sources is None:  # ordinal codes of one source
            labeled_sources = [scale.source] * len(texts)
        src = None if labeled_sources is None else list(labeled_sources)
        if src is not None and len(src) != len(texts):
            raise InputError(f"labeled_sources has {len(src)} entries for {len(texts)} texts")
        return cls(
            texts=texts,
            labels=y,
            sources=src,
            unlabeled_ids=u_ids,
            unlabeled_texts=u_texts,
            heldout_texts=h_texts,
            heldout_labels=h_y,
            calib_texts=c_texts,
            calib_labels=c_y,
            test=tst,
            pseudo_source=scale.source or (src[0] if src else None),
        )


@dataclass
class Pseudolabels:
    """One round's pseudolabels: the previous model's scores, the filter's verdicts and the training labels."""

    model_score: np.ndarray
    #: Half-width of the previous model's conformal interval (NaN when it has none).
    halfwidth: float
    filtered: FilterResult
    #: Training label of each unlabeled user (codes or totals), NaN where not accepted.
    train_label: np.ndarray
    #: Where the labels came from: "teacher", "model" or "mean".
    source: str

    @property
    def accepted(self) -> np.ndarray:
        """Indices of the accepted unlabeled users."""
        return np.flatnonzero(self.filtered.accepted)

    def stats(self, scale: LabelScale) -> dict[str, Any]:
        """Source, interval half-width and the accepted labels' class counts (codes) or mean and spread."""
        acc = self.accepted
        out: dict[str, Any] = {
            "source": self.source,
            "interval_halfwidth": None if not math.isfinite(self.halfwidth) else self.halfwidth,
        }
        if scale.ordinal:
            out["accepted_class_counts"] = np.bincount(
                self.train_label[acc].astype(int), minlength=scale.n_classes
            ).tolist()
        elif len(acc):
            out["accepted_mean"] = float(np.mean(self.train_label[acc]))
            out["accepted_std"] = float(np.std(self.train_label[acc]))
        return out


def metric_value(metrics: dict[str, Any], key: str) -> float:
    """The value of a (dotted) metric key, e.g. "spearman" or "auc_by_cut.1"; NaN when undefined."""
    node: Any = metrics
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(
                f"selection metric '{key}' is not in the held-out metrics",
                fix="Use e.g. 'spearman', 'qwk', 'mae' or 'auc_by_cut.1' (ordinal) / 'auc_by_threshold.10' (totals).",
            )
        node = node[part]
    if isinstance(node, dict):
        node = node.get("value")
    return math.nan if node is None else float(node)


def write_pseudolabels(path: Path, ids: list[str], teacher: TeacherScores | None, pseudo: Pseudolabels) -> None:
    """One row per unlabeled user (PSEUDO_COLUMNS): ids and numbers only, never text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fr, t = pseudo.filtered, teacher

    def num(v: float) -> str:
        return "" if v is None or not math.isfinite(v) else f"{v:.4f}"

    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(PSEUDO_COLUMNS)
        for i, uid in enumerate(ids):
            w.writerow(
                [
                    uid,
                    "" if t is None else num(t.score[i]),
                    "" if t is None else num(t.confidence[i]),
                    "" if t is None else t.status[i],
                    num(float(pseudo.model_score[i])),
                    num(float(fr.pseudolabel[i])),
                    num(float(pseudo.train_label[i])),
                    num(float(fr.confidence[i])),
                    int(fr.accepted[i]),
                    fr.reason[i],
                ]
            )


__all__ = [
    "PLOT_FILE",
    "PSEUDO_COLUMNS",
    "SUMMARY_FILE",
    "Pseudolabels",
    "RoundResult",
    "SelfTrainData",
    "SelfTrainResult",
    "metric_value",
    "write_pseudolabels",
]
