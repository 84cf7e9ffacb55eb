"""Joining predictions (the scores contract) with administered PHQ-9s (the questionnaire contract).

Join rule, stated in metrics.json (`data.join_on`, `data.join_note`):
- when some user has several questionnaire dates AND the predictions carry a `date` column, rows join
  on (user_id, date) and the bootstrap resamples users with all their rows;
- otherwise each user's LATEST questionnaire is joined on user_id (older ones are counted).
Users missing on either side are reported (counts and ids), never silently dropped. Abstained
predictions (status=abstained or an empty estimate) are counted and excluded; `coverage` is the share
of matched rows that received an estimate.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from phqwatch.errors import InputError
from phqwatch.transcripts.schema import Questionnaire

#: At most this many ids per list go into metrics.json (the counts are always complete).
MAX_IDS = 10_000


@dataclass(slots=True)
class PredictionRow:
    """One row of a scores file."""

    user_id: str
    estimate: float | None
    interval_low: float | None = None
    interval_high: float | None = None
    n_user_words: int | None = None
    date: date | None = None
    status: str = "ok"
    reason: str | None = None
    line: int | None = None


def _num(raw: Any, *, path: str, line: int, field: str, lo: float, hi: float) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = raw.strip()
        if raw == "" or raw.lower() in ("nan", "none", "null", "na"):
            return None
    try:
        v = float(raw)
    except (TypeError, ValueError):
        raise InputError(f"'{raw}' is not a number", path=path, line=line, field=field) from None
    if math.isnan(v):
        return None
    if not lo <= v <= hi:
        raise InputError(
            f"{v:g} is out of range; expected {lo:g}-{hi:g}",
            path=path,
            line=line,
            field=field,
            fix="PHQ-9 estimates and intervals lie in 0-27; clip or fix the model output.",
        )
    return v


def _records(p: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    ext = p.suffix.lower()
    if ext == ".csv":
        with open(p, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames:
                raise InputError("is empty; expected a header row", path=str(p), line=1)
            for row in reader:
                yield reader.line_num, row
    elif ext in (".jsonl", ".ndjson"):
        with open(p, encoding="utf-8") as fh:
            for ln, text in enumerate(fh, 1):
                if not text.strip():
                    continue
                try:
                    rec = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise InputError(f"is not valid JSON ({exc.msg})", path=str(p), line=ln) from None
                if not isinstance(rec, dict):
                    raise InputError("expected a JSON object per line", path=str(p), line=ln)
                yield ln, rec
    else:
        raise InputError(
            f"unknown predictions type '{ext or p.name}'", path=str(p), fix="Pass a scores .csv or .jsonl file."
        )


def read_predictions(path: str | Path) -> list[PredictionRow]:
    """Read and validate a scores file (CSV or JSONL). Out-of-range values are errors."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=str(p), fix="Check the path.")
    out: list[PredictionRow] = []
    sp = str(p)
    try:
        for ln, rec in _records(p):
            if "user_id" not in rec or "phq9_estimate" not in rec:
                raise InputError(
                    f"lacks user_id or phq9_estimate (has {sorted(rec)})",
                    path=sp,
                    line=ln,
                    fix="Use the scores contract: user_id, phq9_estimate, interval_low, interval_high, n_user_words.",
                )
            user = str(rec.get("user_id") or "").strip()
            if not user:
                raise InputError("is empty", path=sp, line=ln, field="user_id")
            status = str(rec.get("status") or "ok").strip().lower()
            if status not in ("ok", "abstained"):
                raise InputError(f"unknown status '{status}'; expected ok or abstained", path=sp, line=ln)
            est = _num(rec.get("phq9_estimate"), path=sp, line=ln, field="phq9_estimate", lo=0, hi=27)
            lo = _num(rec.get("interval_low"), path=sp, line=ln, field="interval_low", lo=0, hi=27)
            hi = _num(rec.get("interval_high"), path=sp, line=ln, field="interval_high", lo=0, hi=27)
            if lo is not None and hi is not None and lo > hi:
                raise InputError(f"interval_low {lo:g} > interval_high {hi:g}", path=sp, line=ln)
            words = _num(rec.get("n_user_words"), path=sp, line=ln, field="n_user_words", lo=0, hi=float("inf"))
            when = None
            raw_date = rec.get("date")
            if raw_date not in (None, ""):
                try:
                    when = date.fromisoformat(str(raw_date).strip()[:10])
                except ValueError:
                    raise InputError(
                        f"'{raw_date}' is not an ISO date", path=sp, line=ln, field="date", fix="Use YYYY-MM-DD."
                    ) from None
            reason = rec.get("reason") or None
            if status == "abstained" or est is None:
                status, est = "abstained", None
                reason = reason or "no estimate"
            out.append(
                PredictionRow(
                    user, est, lo, hi, None if words is None else int(words), when, status, reason and str(reason), ln
                )
            )
    except UnicodeDecodeError:
        raise InputError("is not valid UTF-8", path=sp, fix="Re-encode the file as UTF-8.") from None
    if not out:
        raise InputError("contains no predictions", path=sp, fix="Score some users first (phqwatch score).")
    return out


@dataclass
class Joined:
    """Matched, scored rows as arrays, plus what did not match (for the report)."""

    keys: list[str]
    user_ids: list[str]
    dates: list[date]
    y: np.ndarray
    pred: np.ndarray
    low: np.ndarray
    high: np.ndarray
    words: np.ndarray  # float, NaN where unknown
    units: np.ndarray  # user index per row, for the bootstrap
    join_on: str
    join_note: str
    n_label_rows: int
    n_label_users: int
    n_prediction_rows: int
    missing_predictions: list[str] = field(default_factory=list)
    missing_labels: list[str] = field(default_factory=list)
    abstained: list[str] = field(default_factory=list)
    older_questionnaires_ignored: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.y)

    def subset(self, mask: np.ndarray) -> Joined:
        """The rows where `mask` is true (bookkeeping lists are kept from the whole set)."""
        idx = np.flatnonzero(mask)
        return Joined(
            [self.keys[i] for i in idx],
            [self.user_ids[i] for i in idx],
            [self.dates[i] for i in idx],
            self.y[idx],
            self.pred[idx],
            self.low[idx],
            self.high[idx],
            self.words[idx],
            self.units[idx],
            self.join_on,
            self.join_note,
            self.n_label_rows,
            self.n_label_users,
            self.n_prediction_rows,
        )

    def summary(self) -> dict[str, Any]:
        """The `data` section of metrics.json: counts always, ids up to MAX_IDS per list."""
        matched = self.n + len(self.abstained)

        def ids(xs: Sequence[str]) -> dict[str, Any]:
            d: dict[str, Any] = {"count": len(xs), "ids": sorted(xs)[:MAX_IDS]}
            if len(xs) > MAX_IDS:
                d["ids_truncated"] = True
            return d

        return {
            "join_on": self.join_on,
            "join_note": self.join_note,
            "label_rows": self.n_label_rows,
            "label_users": self.n_label_users,
            "prediction_rows": self.n_prediction_rows,
            "matched": matched,
            "scored": self.n,
            "coverage": None if matched == 0 else self.n / matched,
            "abstained": ids(self.abstained),
            "missing_predictions": ids(self.missing_predictions),
            "missing_labels": ids(self.missing_labels),
            "older_questionnaires_ignored": self.older_questionnaires_ignored,
            "notes": list(self.notes),
        }


def _dupes(keys: Iterable[Any]) -> list[Any]:
    return [k for k, c in Counter(keys).items() if c > 1]


def join(
    predictions: Sequence[PredictionRow],
    questionnaires: Sequence[Questionnaire],
    *,
    on: str = "auto",
    predictions_name: str = "predictions",
    labels_name: str = "labels",
) -> Joined:
    """Join predictions and questionnaires (see the module docstring). `on`: auto, user_id or user_id+date."""
    if on not in ("auto", "user_id", "user_id+date"):
        raise ValueError("on must be 'auto', 'user_id' or 'user_id+date'")
    by_user: dict[str, list[Questionnaire]] = defaultdict(list)
    for q in questionnaires:
        by_user[q.user_id].append(q)
    several = any(len(v) > 1 for v in by_user.values())
    pred_dated = any(r.date is not None for r in predictions)
    if on == "auto":
        on = "user_id+date" if several and pred_dated else "user_id"
    notes: list[str] = []
    older = 0
    if on == "user_id+date":
        undated = [r for r in predictions if r.date is None]
        if undated:
            raise InputError(
                f"{len(undated)} prediction rows have no date while joining on (user_id, date)",
                path=predictions_name,
                line=undated[0].line,
                field="date",
                fix="Fill the date column for every row, or drop it to join each user's latest questionnaire.",
            )
        labels: dict[tuple[str, date | None], Questionnaire] = {(q.user_id, q.date): q for q in questionnaires}
        note = "joined on (user_id, date): each questionnaire is matched to the prediction for that date"
        pkey = [(r.user_id, r.date) for r in predictions]
    else:
        labels = {}
        for u, qs in by_user.items():
            latest = max(qs, key=lambda q: q.date)
            labels[(u, None)] = latest
            older += len(qs) - 1
        note = "joined on user_id with each user's latest questionnaire"
        if older:
            note += f" ({older} older questionnaires not used)"
        if pred_dated and several:
            note += "; prediction dates ignored"
        pkey = [(r.user_id, None) for r in predictions]
    dup = _dupes(pkey)
    if dup:
        first = dup[0]
        lines = [r.line for r, k in zip(predictions, pkey, strict=True) if k == first]
        what = "user" if on == "user_id" else "user and date"
        raise InputError(
            f"{len(dup)} duplicate prediction rows per {what} (e.g. user '{first[0]}' on lines {lines})",
            path=predictions_name,
            field="user_id",
            fix="Keep one prediction per user" + (" and date." if on != "user_id" else " (or add a date column)."),
        )

    def keystr(k: tuple[str, date | None]) -> str:
        return k[0] if k[1] is None else f"{k[0]}@{k[1].isoformat()}"

    preds = dict(zip(pkey, predictions, strict=True))
    shared = [k for k in labels if k in preds]
    if not shared:
        raise InputError(
            f"{labels_name} and {predictions_name} share no "
            + ("users" if on == "user_id" else "(user_id, date) pairs")
            + f" ({len(labels)} labelled, {len(preds)} predicted)",
            fix="Check that both files use the same user ids (and dates), e.g. the same pseudonymisation.",
        )
    missing_pred = sorted(keystr(k) for k in labels if k not in preds)
    missing_lab = sorted(keystr(k) for k in preds if k not in labels)
    abst = sorted(keystr(k) for k in shared if preds[k].status == "abstained")
    rows = sorted((k for k in shared if preds[k].status != "abstained"), key=lambda k: (k[0], k[1] or date.min))
    if not rows:
        raise InputError(
            f"all {len(shared)} matched predictions abstained; nothing to evaluate",
            path=predictions_name,
            fix="Score with more text per user or a lower --min-words.",
        )
    user_index: dict[str, int] = {}
    for k in rows:
        user_index.setdefault(k[0], len(user_index))

    def arr(vals: Iterable[float | None]) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in vals], dtype=float)

    return Joined(
        keys=[keystr(k) for k in rows],
        user_ids=[k[0] for k in rows],
        dates=[labels[k].date for k in rows],
        y=np.array([labels[k].total for k in rows], dtype=float),
        pred=arr(preds[k].estimate for k in rows),
        low=arr(preds[k].interval_low for k in rows),
        high=arr(preds[k].interval_high for k in rows),
        words=arr(preds[k].n_user_words for k in rows),
        units=np.array([user_index[k[0]] for k in rows], dtype=np.int64),
        join_on=on,
        join_note=note,
        n_label_rows=len(questionnaires),
        n_label_users=len(by_user),
        n_prediction_rows=len(predictions),
        missing_predictions=missing_pred,
        missing_labels=missing_lab,
        abstained=abst,
        older_questionnaires_ignored=older,
        notes=notes,
    )
