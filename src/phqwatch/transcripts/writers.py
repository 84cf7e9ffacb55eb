"""Writers: atomic files (a failure leaves no half-written file) and the scores contract."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from phqwatch.errors import InputError
from phqwatch.phq9 import ITEM_COLUMNS

SCORE_COLUMNS = (
    "user_id",
    "phq9_estimate",
    "band",
    "interval_low",
    "interval_high",
    "n_user_words",
    *ITEM_COLUMNS,
    "model",
    "status",
    "reason",
)


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Write to a temporary file beside `path` and rename it over `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def jsonable(obj: Any) -> Any:
    """Plain JSON types from numpy scalars/arrays, paths, tuples and dataclass instances (a dict of their
    fields, e.g. an estimator's config objects); NaN and infinities become None."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy scalars and arrays, without importing numpy
        return jsonable(obj.tolist())
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_rows(rows: Iterable[Mapping[str, Any]], path: str | Path, columns: Sequence[str] = SCORE_COLUMNS) -> int:
    """Write rows as CSV or JSONL (chosen by extension), atomically. Returns the number of rows."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".csv", ".jsonl", ".ndjson"):
        raise InputError(
            f"unknown output type '{ext or path.name}'",
            path=str(path),
            fix="Name the output file .csv or .jsonl.",
        )
    n = 0
    with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
        if ext == ".csv":
            w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
            w.writeheader()
            for row in rows:
                w.writerow({k: ("" if _clean(row.get(k)) is None else row.get(k)) for k in columns})
                n += 1
        else:
            for row in rows:
                fh.write(json.dumps({k: _clean(row.get(k)) for k in columns if k in row}, ensure_ascii=False))
                fh.write("\n")
                n += 1
    return n
