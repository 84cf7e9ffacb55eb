"""Pseudolabel a transcript file: read, assemble per user, rate with the teacher, write, calibrate.

The engine behind `phqwatch pseudolabel`. One row per user (the pseudolabel COLUMNS). With administered
questionnaires, the teacher also rates each questionnaire's window (the `window_days` before it) and is
scored against the administered totals (calibration), optionally with a linear recalibration that is
then applied to every user's pseudolabel (column `phq9_recalibrated`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from phqwatch.config import DEFAULT_MAX_MESSAGE_CHARS, Settings
from phqwatch.teacher.pseudolabel import COLUMNS, RunStats, run_pseudolabel
from phqwatch.training.teacher_calibration import Calibration, calibrate
from phqwatch.transcripts import (
    ReadStats,
    assemble_users,
    atomic_write,
    build_windows,
    iter_messages,
    read_questionnaires,
    write_rows,
)


@dataclass
class PseudolabelFileResult:
    """What `pseudolabel_file` did (counts and metrics only, never text)."""

    out: Path
    users: int
    stats: RunStats
    read: ReadStats = field(default_factory=ReadStats)
    windows: int = 0
    window_stats: RunStats | None = None
    calibration: Calibration | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "users": self.users,
            "run": self.stats.as_dict(),
            "windows": self.windows,
            "window_run": self.window_stats.as_dict() if self.window_stats else None,
            "calibration": self.calibration.as_dict() if self.calibration else None,
        }


def pseudolabel_file(
    input_path: str | Path,
    out_path: str | Path,
    settings: Settings,
    *,
    questionnaires_path: str | Path | None = None,
    recalibrate: bool = False,
    include_assistant: bool = False,
    max_message_chars: int | None = DEFAULT_MAX_MESSAGE_CHARS,
    stats_path: str | Path | None = None,
    **kwargs: Any,
) -> PseudolabelFileResult:
    """Rate every user of a transcript file; write rows (CSV/JSONL by extension) and optional stats JSON.

    kwargs go to `run_pseudolabel` (cache_path, use_cache, pricing, deid, structured, max_tokens, ...).
    """
    read = ReadStats()
    users = assemble_users(
        iter_messages(input_path, max_message_chars=max_message_chars, stats=read), include_assistant=include_assistant
    )
    texts = {u.user_id: u.text for u in users}
    run = run_pseudolabel(texts, settings, **kwargs)
    frame = run.frame
    result = PseudolabelFileResult(out=Path(out_path), users=len(texts), stats=run.stats, read=read)

    columns = list(COLUMNS)
    if questionnaires_path is not None:
        qs = read_questionnaires(questionnaires_path)
        windows = build_windows(
            iter_messages(input_path, max_message_chars=max_message_chars),
            qs,
            days=settings.window_days,
            include_assistant=include_assistant,
        )
        keys = {f"{w.user_id}@{w.date.isoformat()}": w for w in windows}
        wrun = run_pseudolabel({k: w.text for k, w in keys.items()}, settings, **kwargs)
        teacher = pd.Series(wrun.frame["phq9_estimate"].to_numpy(dtype=float), index=wrun.frame["user_id"])
        labels = pd.Series({k: float(w.label) for k, w in keys.items()})
        result.windows, result.window_stats = len(keys), wrun.stats
        if len(keys):
            units = {k: w.user_id for k, w in keys.items()}
            result.calibration = calibrate(teacher, labels, recalibrate=recalibrate, units=units)
        if recalibrate and result.calibration is not None and result.calibration.recalibrated:
            frame = frame.assign(phq9_recalibrated=result.calibration.apply(frame["phq9_estimate"]))
            columns.append("phq9_recalibrated")

    write_rows(frame.to_dict("records"), out_path, columns=columns)
    if stats_path is not None:
        with atomic_write(stats_path, "w", encoding="utf-8") as fh:
            json.dump(result.as_dict(), fh, indent=2, allow_nan=False)
    return result
