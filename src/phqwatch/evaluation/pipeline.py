"""One evaluation run: join (or score windows), compute metrics + breakdowns, write metrics.json + report.html.

metrics.json is a stable contract. Top-level keys n, mae, rmse, pearson, spearman, ccc, qwk,
band_accuracy, sensitivity_ge_10, specificity_ge_10 are each {"value": x, "ci": [low, high]} and
auc_by_threshold maps "t" to the same shape. Further keys are additive. Undefined values are null
with a `reason`, never NaN.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from phqwatch.evaluation.breakdowns import WORD_EDGES, by_metadata, by_words, read_metadata
from phqwatch.evaluation.join import Joined, PredictionRow, join, read_predictions
from phqwatch.evaluation.metrics import DEFAULT_MIN_PER_CLASS, SCALAR_METRICS, phq9_metrics
from phqwatch.phq9 import RECALL_DAYS
from phqwatch.transcripts import atomic_write, jsonable, read_questionnaires

SCHEMA_VERSION = 1
#: The stable metrics.json contract: `n` and the first nine scalar metrics, each {"value", "ci"}.
CONTRACT_KEYS = ("n", *SCALAR_METRICS[:9])
#: The reference paper's test set (842 users with administered PHQ-9s).
REFERENCE = {
    "source": "Fine-tuning LLMs for Passive Depression Severity Estimation from AI Mental Health Dialogue (2026)",
    "n": 842,
    "mae": 2.6,
    "rmse": 4.0,
    "pearson": 0.80,
    "auc_ge_10": 0.91,
    "auc_floor_3_24": 0.87,
}
DEFINITIONS = {
    "qwk": "quadratic-weighted kappa on the estimate rounded to the nearest integer (0..27, half to even) "
    "against the administered total; qwk_bands uses the five severity bands",
    "band_accuracy": "rounded estimate in the same severity band as the administered total",
    "sensitivity_ge_10": "share of administered >= 10 whose (unrounded) estimate is >= 10",
    "specificity_ge_10": "share of administered < 10 whose (unrounded) estimate is < 10",
    "auc_by_threshold": "AUC of the estimate for administered >= t (Mann-Whitney, ties count one half); only "
    "thresholds with at least auc_min_per_class positives and negatives; the rest are in auc_skipped",
    "ccc": "Lin's concordance correlation coefficient (population variances)",
    "interval_coverage": "share of rows with an interval whose [interval_low, interval_high] contains the label",
    "ci": "95% percentile bootstrap over users (all of a user's rows together), fixed seed",
    "mean_error": "mean of estimate - administered (positive: over-estimates)",
}


@dataclass
class Evaluation:
    """The metrics.json content and the joined arrays it came from (for the figures)."""

    metrics: dict[str, Any]
    joined: Joined


def _sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def evaluate_joined(
    j: Joined,
    *,
    metadata: str | Path | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    min_per_class: int = DEFAULT_MIN_PER_CLASS,
    interval_nominal: float | None = None,
    word_edges: Sequence[int] = WORD_EDGES,
    inputs: dict[str, Any] | None = None,
) -> Evaluation:
    """All metrics (with CIs), breakdowns and bookkeeping for joined rows."""
    m = phq9_metrics(j.y, j.pred, j.low, j.high, units=j.units, n_boot=n_boot, seed=seed, min_per_class=min_per_class)
    out: dict[str, Any] = {k: m[k] for k in CONTRACT_KEYS}
    out["auc_by_threshold"] = m["auc_by_threshold"]
    for k, v in m.items():
        out.setdefault(k, v)
    out["interval_nominal"] = interval_nominal
    out["data"] = j.summary()
    out["missing_users"] = {
        "labels_without_prediction": j.summary()["missing_predictions"],
        "predictions_without_label": j.summary()["missing_labels"],
        "abstained": j.summary()["abstained"],
    }
    bd: dict[str, Any] = {
        "word_edges": list(word_edges),
        "words": by_words(j, edges=word_edges, n_boot=n_boot, seed=seed, min_per_class=min_per_class),
    }
    if metadata is not None:
        cols, meta = read_metadata(metadata)
        bd["metadata"] = by_metadata(j, cols, meta, n_boot=n_boot, seed=seed, min_per_class=min_per_class)
    out["breakdowns"] = bd
    out["n_boot"], out["seed"], out["ci_level"] = n_boot, seed, 0.95
    out["reference"] = REFERENCE
    out["definitions"] = DEFINITIONS
    out["inputs"] = inputs or {}
    from phqwatch import __version__

    out["schema_version"] = SCHEMA_VERSION
    out["phqwatch_version"] = __version__
    out["created"] = datetime.now(UTC).isoformat(timespec="seconds")
    return Evaluation(out, j)


def evaluate_files(
    predictions: str | Path,
    labels: str | Path,
    *,
    metadata: str | Path | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    min_per_class: int = DEFAULT_MIN_PER_CLASS,
    interval_nominal: float | None = 0.8,
    join_on: str = "auto",
) -> Evaluation:
    """Evaluate a scores file against a questionnaire file (DESIGN.md contracts)."""
    preds = read_predictions(predictions)
    qs = read_questionnaires(labels)
    j = join(preds, qs, on=join_on, predictions_name=str(predictions), labels_name=str(labels))
    inputs = {
        "predictions": {"path": str(predictions), "sha256": _sha256(predictions)},
        "labels": {"path": str(labels), "sha256": _sha256(labels)},
    }
    if metadata is not None:
        inputs["metadata"] = {"path": str(metadata), "sha256": _sha256(metadata)}
    return evaluate_joined(
        j,
        metadata=metadata,
        n_boot=n_boot,
        seed=seed,
        min_per_class=min_per_class,
        interval_nominal=interval_nominal,
        inputs=inputs,
    )


def score_windows(
    model: Any,
    transcripts: str | Path,
    labels: str | Path,
    *,
    days: int = RECALL_DAYS,
    include_assistant: bool = False,
    min_words: int | None = None,
    batch_size: int = 256,
) -> tuple[list[PredictionRow], list[Any], dict[str, int]]:
    """Score each questionnaire's `days`-day window with `model.estimate`: (rows, questionnaires, stats)."""
    from phqwatch.transcripts import ReadStats, UserText, WindowStats, build_windows, iter_messages

    qs = read_questionnaires(labels)
    rstats, wstats = ReadStats(), WindowStats()
    windows = build_windows(
        iter_messages(transcripts, stats=rstats), qs, days=days, include_assistant=include_assistant, stats=wstats
    )
    rows: list[PredictionRow] = []
    for start in range(0, len(windows), batch_size):
        batch = windows[start : start + batch_size]
        users = [UserText(w.user_id, w.text, w.n_user_words, w.n_messages) for w in batch]
        for w, e in zip(batch, model.estimate(users, min_words=min_words), strict=True):
            rows.append(
                PredictionRow(
                    w.user_id,
                    e.phq9_estimate,
                    e.interval_low,
                    e.interval_high,
                    e.n_user_words,
                    w.date,
                    e.status,
                    e.reason,
                )
            )
    stats = {"questionnaires": wstats.questionnaires, "windows": wstats.windows, "empty_windows": wstats.empty}
    stats["untimed_messages"] = wstats.untimed_messages
    return rows, qs, stats


def evaluate_model(
    model: Any,
    transcripts: str | Path,
    labels: str | Path,
    *,
    days: int = RECALL_DAYS,
    metadata: str | Path | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    min_per_class: int = DEFAULT_MIN_PER_CLASS,
    min_words: int | None = None,
) -> tuple[Evaluation, list[PredictionRow]]:
    """End to end: score every questionnaire's window with `model`, join on (user_id, date), evaluate."""
    rows, qs, stats = score_windows(model, transcripts, labels, days=days, min_words=min_words)
    if not rows:
        from phqwatch.errors import InputError

        raise InputError(
            f"no questionnaire has user text in the {days} days before it ({stats['empty_windows']} empty windows, "
            f"{stats['untimed_messages']} messages without a timestamp)",
            path=str(transcripts),
            fix="Check that transcripts have timestamps and overlap the questionnaire dates.",
        )
    j = join(rows, qs, on="user_id+date", predictions_name=str(transcripts), labels_name=str(labels))
    j.join_note = f"each questionnaire scored on its own {days}-day window and joined on (user_id, date)"
    if stats["empty_windows"]:
        j.notes.append(
            f"{stats['empty_windows']} questionnaires had no user text in their window; listed as missing predictions"
        )
    if stats["untimed_messages"]:
        j.notes.append(f"{stats['untimed_messages']} messages had no timestamp and could not be placed in a window")
    inputs = {
        "transcripts": {"path": str(transcripts), "sha256": _sha256(transcripts)},
        "labels": {"path": str(labels), "sha256": _sha256(labels)},
        "model": getattr(model, "model_id", type(model).__name__),
        "window_days": days,
    }
    ev = evaluate_joined(
        j,
        metadata=metadata,
        n_boot=n_boot,
        seed=seed,
        min_per_class=min_per_class,
        interval_nominal=getattr(model, "coverage", None),
        inputs=inputs,
    )
    return ev, rows


def to_json(metrics: dict[str, Any]) -> str:
    """metrics.json text; refuses NaN/inf (allow_nan=False) so none can leak into the contract."""
    return json.dumps(jsonable(metrics), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def write_outputs(ev: Evaluation, out_dir: str | Path, *, figures: bool = True) -> tuple[Path, Path]:
    """Write out_dir/metrics.json and out_dir/report.html atomically; returns their paths."""
    from phqwatch.evaluation.report import render_html

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mpath, rpath = out / "metrics.json", out / "report.html"
    text = to_json(ev.metrics)
    html = render_html(ev.metrics, ev.joined, figures=figures)
    with atomic_write(mpath, "w", encoding="utf-8") as fh:
        fh.write(text)
    with atomic_write(rpath, "w", encoding="utf-8") as fh:
        fh.write(html)
    return mpath, rpath


def write_predictions(rows: Sequence[PredictionRow], path: str | Path) -> int:
    """Write window-level predictions (scores contract plus `date`) for an end-to-end run."""
    from phqwatch import phq9
    from phqwatch.transcripts import write_rows

    scores = ("user_id", "date", "phq9_estimate", "band", "interval_low", "interval_high", "n_user_words", "status")
    cols = (*scores, "reason")
    data = [
        {
            "user_id": r.user_id,
            "date": r.date.isoformat() if r.date else None,
            "phq9_estimate": None if r.estimate is None else round(r.estimate, 2),
            "band": None if r.estimate is None else phq9.band(r.estimate),
            "interval_low": None if r.interval_low is None else round(r.interval_low, 2),
            "interval_high": None if r.interval_high is None else round(r.interval_high, 2),
            "n_user_words": r.n_user_words,
            "status": r.status,
            "reason": r.reason,
        }
        for r in rows
    ]
    return write_rows(data, path, columns=cols)
