"""The questionnaire contract: CSV with `user_id`, `date` and `phq9_total` or `item_1`..`item_9`."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from phqwatch.errors import InputError
from phqwatch.phq9 import ITEM_COLUMNS
from phqwatch.transcripts.schema import Questionnaire


def _parse_int(value: str, *, lo: int, hi: int, path: str, line: int, field: str) -> int:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise InputError(
            f"'{value}' is not a number; expected an integer {lo}-{hi}", path=path, line=line, field=field
        ) from None
    if f != int(f) or not lo <= f <= hi:
        raise InputError(
            f"{value} is out of range; expected an integer {lo}-{hi}",
            path=path,
            line=line,
            field=field,
            fix="Check the questionnaire scoring (items 0-3, total 0-27).",
        )
    return int(f)


def read_questionnaires(path: str | Path) -> list[Questionnaire]:
    """Read and validate administered PHQ-9s. Duplicate (user_id, date) rows are an error."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=str(p), fix="Check the path.")
    out: list[Questionnaire] = []
    seen: dict[tuple[str, date], int] = {}
    try:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            if not header:
                raise InputError(
                    "is empty; expected a header row",
                    path=str(p),
                    line=1,
                    fix="Header: user_id,date,phq9_total (or item_1..item_9).",
                )
            has_items = all(c in header for c in ITEM_COLUMNS)
            if "user_id" not in header or "date" not in header or not (has_items or "phq9_total" in header):
                raise InputError(
                    f"header {header} lacks required columns",
                    path=str(p),
                    line=1,
                    fix="Use user_id,date and either phq9_total or item_1..item_9.",
                )
            for row in reader:
                ln = reader.line_num
                user = (row.get("user_id") or "").strip()
                if not user:
                    raise InputError("is empty", path=str(p), line=ln, field="user_id")
                try:
                    when = date.fromisoformat((row.get("date") or "").strip()[:10])
                except ValueError:
                    raise InputError(
                        f"'{row.get('date')}' is not an ISO date",
                        path=str(p),
                        line=ln,
                        field="date",
                        fix="Write dates as YYYY-MM-DD.",
                    ) from None
                items = None
                if has_items and all((row.get(c) or "").strip() for c in ITEM_COLUMNS):
                    items = tuple(_parse_int(row[c], lo=0, hi=3, path=str(p), line=ln, field=c) for c in ITEM_COLUMNS)
                total_raw = (row.get("phq9_total") or "").strip()
                if total_raw:
                    total = _parse_int(total_raw, lo=0, hi=27, path=str(p), line=ln, field="phq9_total")
                    if items is not None and sum(items) != total:
                        raise InputError(
                            f"phq9_total {total} differs from the item sum {sum(items)}",
                            path=str(p),
                            line=ln,
                            field="phq9_total",
                        )
                elif items is not None:
                    total = sum(items)
                else:
                    raise InputError(
                        "has neither phq9_total nor all nine items",
                        path=str(p),
                        line=ln,
                        fix="Fill phq9_total or item_1..item_9.",
                    )
                if (user, when) in seen:
                    raise InputError(
                        f"duplicate PHQ-9 for this user and date (first on line {seen[(user, when)]})",
                        path=str(p),
                        line=ln,
                        field="user_id",
                        fix="Keep one row per user and date.",
                    )
                seen[(user, when)] = ln
                out.append(Questionnaire(user, when, total, items))
    except UnicodeDecodeError:
        raise InputError("is not valid UTF-8", path=str(p), fix="Re-encode the file as UTF-8.") from None
    if not out:
        raise InputError("contains no questionnaires", path=str(p), fix="Add at least one row.")
    return out
