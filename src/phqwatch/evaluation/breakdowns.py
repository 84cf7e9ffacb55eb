"""Breakdowns: metrics by words of user text available, and by metadata columns (fairness review)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from phqwatch.errors import InputError
from phqwatch.evaluation.join import Joined
from phqwatch.evaluation.metrics import DEFAULT_MIN_PER_CLASS, SCALAR_METRICS, phq9_metrics

#: Lower edges of the word-count bins: <100, 100-249, 250-499, 500-999, 1000-1999, 2000+ (half-open).
WORD_EDGES: tuple[int, ...] = (0, 100, 250, 500, 1000, 2000)
UNKNOWN = "(unknown)"
NO_METADATA = "(no metadata)"
#: Columns with more distinct values than this are skipped (likely identifiers or continuous values).
MAX_GROUPS = 20


def word_bin_labels(edges: Sequence[int] = WORD_EDGES) -> list[str]:
    """Human labels of the word bins, e.g. ['<100', '100-249', ..., '2000+']."""
    labels = []
    for i, lo in enumerate(edges):
        if i == len(edges) - 1:
            labels.append(f"{lo}+")
        elif lo == 0:
            labels.append(f"<{edges[1]}")
        else:
            labels.append(f"{lo}-{edges[i + 1] - 1}")
    return labels


def _group_metrics(j: Joined, mask: np.ndarray, **kw: Any) -> dict[str, Any]:
    sub = j.subset(mask)
    m = phq9_metrics(sub.y, sub.pred, sub.low, sub.high, units=sub.units, **kw)
    out = {"n": int(sub.n), "n_users": m["n_users"]}
    for k in SCALAR_METRICS:
        out[k] = m[k]
    auc10 = m["auc_by_threshold"].get("10")
    out["auc_ge_10"] = (
        auc10
        if auc10 is not None
        else {
            "value": None,
            "ci": [None, None],
            "reason": m["auc_skipped"].get("10", "not evaluated"),
        }
    )
    return out


def by_words(
    j: Joined,
    *,
    edges: Sequence[int] = WORD_EDGES,
    n_boot: int = 1000,
    seed: int = 0,
    min_per_class: int = DEFAULT_MIN_PER_CLASS,
) -> list[dict[str, Any]]:
    """Metrics per bin of user words available (how accuracy grows with conversation volume)."""
    labels = word_bin_labels(edges)
    known = ~np.isnan(j.words)
    idx = np.searchsorted(np.asarray(edges[1:], dtype=float), np.nan_to_num(j.words), side="right")
    out = []
    for b, label in enumerate(labels):
        mask = known & (idx == b)
        if mask.any():
            out.append({"bin": label, **_group_metrics(j, mask, n_boot=n_boot, seed=seed, min_per_class=min_per_class)})
        else:
            out.append({"bin": label, "n": 0})
    if (~known).any():
        out.append({"bin": UNKNOWN, **_group_metrics(j, ~known, n_boot=n_boot, seed=seed, min_per_class=min_per_class)})
    return out


def read_metadata(path: str | Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    """(columns, user_id -> {column: value}) from a CSV with user_id and any other columns."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=str(p), fix="Check the path.")
    rows: dict[str, dict[str, str]] = {}
    try:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            if "user_id" not in header or len(header) < 2:
                raise InputError(
                    f"header {header} needs user_id and at least one more column",
                    path=str(p),
                    line=1,
                    fix="Write user_id,age_group,language,... with one row per user.",
                )
            cols = [c for c in header if c != "user_id"]
            for row in reader:
                uid = (row.get("user_id") or "").strip()
                if not uid:
                    raise InputError("is empty", path=str(p), line=reader.line_num, field="user_id")
                if uid in rows:
                    raise InputError(
                        "duplicate user row",
                        path=str(p),
                        line=reader.line_num,
                        field="user_id",
                        fix="Keep one metadata row per user.",
                    )
                rows[uid] = {c: (row.get(c) or "").strip() for c in cols}
    except UnicodeDecodeError:
        raise InputError("is not valid UTF-8", path=str(p), fix="Re-encode the file as UTF-8.") from None
    return cols, rows


def by_metadata(
    j: Joined,
    columns: Sequence[str],
    metadata: dict[str, dict[str, str]],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    min_per_class: int = DEFAULT_MIN_PER_CLASS,
    max_groups: int = MAX_GROUPS,
) -> dict[str, Any]:
    """Per metadata column: metrics per group value (users without metadata form their own group)."""
    evaluated = set(j.user_ids)
    out: dict[str, Any] = {
        "users_without_metadata": len(evaluated - set(metadata)),
        "metadata_users_not_evaluated": len(set(metadata) - evaluated),
        "columns": {},
    }
    for col in columns:
        vals = np.array(
            [(metadata[u].get(col) or UNKNOWN) if u in metadata else NO_METADATA for u in j.user_ids],
            dtype=object,
        )
        groups = sorted(set(vals.tolist()))
        if len(groups) > max_groups:
            out["columns"][col] = {"skipped": f"{len(groups)} distinct values (more than {max_groups})"}
            continue
        out["columns"][col] = {
            "groups": [
                {"group": g, **_group_metrics(j, vals == g, n_boot=n_boot, seed=seed, min_per_class=min_per_class)}
                for g in groups
            ]
        }
    return out
