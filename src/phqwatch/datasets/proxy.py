"""Adapters for the public proxy sets in ``../shared/data`` (Reddit posts with ordinal severity labels).

No public corpus pairs chat dialogue with administered PHQ-9 totals, so these are *proxies*: one post per
synthetic user, labels that are ordinal codes, and a weak mapping of each code to a PHQ-9 range. Never
treat the ranges as PHQ-9 scores (no PHQ-9 MAE on these sets); use rank metrics instead.

Weak PHQ-9 mappings (from ``../shared/data/README.md``, plus one project assumption for Reddit DR):

- ``depseverity``: minimum / mild / moderate / severe -> 0-4 / 5-9 / 10-14 / 15-27.
- ``lt_edi``: not depression / moderate / severe -> roughly 0-9 / 10-19 / 20-27.
- ``reddit_dr``: **binary**. ``do``, ``ds`` and ``dsf`` (r/depression, a depression forum, authors with
  a self-reported diagnosis) = depression (1); ``nd``, ``ndf``, ``bc``, ``ff`` = no depression (0). The
  data README states no PHQ-9 range; the project assumes 0-9 / 10-27 (the PHQ-9 screening cut-off).
  Train and test files are pooled; the original code and file are kept in ``codes`` and ``origin``.

The data are research-use-only copies: read them from disk, never copy rows into the repository.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from phqwatch.config import Settings
from phqwatch.errors import DatasetUnavailableError, InputError
from phqwatch.transcripts.schema import Message

DATASETS: tuple[str, ...] = ("depseverity", "lt_edi", "reddit_dr")

_NORM = re.compile(r"[^a-z0-9]+")
#: Near-duplicates share their first this-many normalised characters; they are kept in one split group.
NEAR_DUP_PREFIX = 100


@dataclass(frozen=True, slots=True)
class _Spec:
    folder: str
    files: tuple[str, ...]
    delimiter: str
    text_col: str
    label_col: str
    id_col: str | None
    codes: dict[str, int]
    label_names: tuple[str, ...]
    phq9_ranges: tuple[tuple[int, int], ...]
    mapping_note: str


SPECS: dict[str, _Spec] = {
    "depseverity": _Spec(
        folder="depseverity",
        files=("Reddit_depression_dataset.csv",),
        delimiter=",",
        text_col="text",
        label_col="label",
        id_col=None,
        codes={"minimum": 0, "mild": 1, "moderate": 2, "severe": 3},
        label_names=("minimum", "mild", "moderate", "severe"),
        phq9_ranges=((0, 4), (5, 9), (10, 14), (15, 27)),
        mapping_note="minimum/mild/moderate/severe -> PHQ-9 0-4/5-9/10-14/15-27 (weak, from the data README)",
    ),
    "lt_edi": _Spec(
        folder="lt_edi_2022",
        files=("dev.tsv",),
        delimiter="\t",
        text_col="Text data",
        label_col="Label",
        id_col="PID",
        codes={"not depression": 0, "moderate": 1, "severe": 2},
        label_names=("not depression", "moderate", "severe"),
        phq9_ranges=((0, 9), (10, 19), (20, 27)),
        mapping_note="not depression/moderate/severe -> roughly PHQ-9 0-9/10-19/20-27 (weak, from the data README)",
    ),
    "reddit_dr": _Spec(
        folder="reddit_dr",
        files=("train.csv", "test.csv"),
        delimiter=",",
        text_col="text",
        label_col="label",
        id_col=None,
        codes={"do": 1, "ds": 1, "dsf": 1, "nd": 0, "ndf": 0, "bc": 0, "ff": 0},
        label_names=("no depression", "depression"),
        phq9_ranges=((0, 9), (10, 27)),
        mapping_note=(
            "binary: do/ds/dsf = depression, nd/ndf/bc/ff = no depression; PHQ-9 0-9/10-27 is a project "
            "assumption (the screening cut-off), not stated by the data"
        ),
    ),
}


@dataclass(slots=True)
class ProxyDataset:
    """One public proxy set: one synthetic user per post, ordinal integer labels."""

    name: str
    user_ids: list[str]
    texts: list[str]
    labels: np.ndarray
    label_names: tuple[str, ...]
    phq9_ranges: tuple[tuple[int, int], ...]
    #: Split groups: near-duplicate posts share a group so they never cross splits.
    groups: np.ndarray
    #: The raw label string of each post (e.g. Reddit DR's subreddit-source code).
    codes: list[str]
    #: The file each post came from.
    origin: list[str]
    mapping_note: str = ""
    n_duplicates_dropped: int = 0
    root: Path | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def n_classes(self) -> int:
        return len(self.label_names)

    def phq9_midpoints(self) -> np.ndarray:
        """Each post's label mapped to the midpoint of its weak PHQ-9 range (a weak target only)."""
        mids = np.array([(lo + hi) / 2 for lo, hi in self.phq9_ranges])
        return mids[self.labels]

    def subset(self, idx: np.ndarray | list[int]) -> ProxyDataset:
        """A new dataset with only the rows `idx` (in that order)."""
        idx = np.asarray(idx, dtype=int)
        return ProxyDataset(
            name=self.name,
            user_ids=[self.user_ids[i] for i in idx],
            texts=[self.texts[i] for i in idx],
            labels=self.labels[idx],
            label_names=self.label_names,
            phq9_ranges=self.phq9_ranges,
            groups=self.groups[idx],
            codes=[self.codes[i] for i in idx],
            origin=[self.origin[i] for i in idx],
            mapping_note=self.mapping_note,
            n_duplicates_dropped=self.n_duplicates_dropped,
            root=self.root,
        )

    def to_messages(self) -> Iterator[Message]:
        """The transcript contract: one user-role message in one conversation per post (no timestamps)."""
        for uid, text in zip(self.user_ids, self.texts, strict=True):
            yield Message(user_id=uid, conversation_id=f"{uid}-c0", role="user", text=text)


def _candidate_roots(settings: Settings | None = None) -> list[Path]:
    configured = (settings or Settings()).data_dir
    if configured is not None:
        return [configured]
    return [Path.cwd() / ".." / "shared" / "data"]


def data_root(root: str | Path | None = None, settings: Settings | None = None) -> Path:
    """The folder with the public sets: `root`, else the `data_dir` setting (PHQWATCH_DATA_DIR), else
    ../shared/data from the working directory."""
    candidates = [Path(root)] if root is not None else _candidate_roots(settings)
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    raise DatasetUnavailableError(
        f"No public data folder found (looked in: {', '.join(str(c) for c in candidates)}).",
        fix="Put the shared data at ../shared/data (relative to the working directory) or set PHQWATCH_DATA_DIR.",
    )


def normalise(text: str) -> str:
    """Lower-case letters and digits only, single-spaced: the key for duplicate detection."""
    return _NORM.sub(" ", text.lower()).strip()


def _read_rows(path: Path, spec: _Spec) -> list[dict[str, str]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter=spec.delimiter)
            header = reader.fieldnames or []
            needed = [c for c in (spec.text_col, spec.label_col, spec.id_col) if c]
            missing = [c for c in needed if c not in header]
            if missing:
                raise InputError(
                    f"header {header} lacks columns {missing}",
                    path=str(path),
                    line=1,
                    fix="Use the original file from the dataset's repository.",
                )
            return list(reader)
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 ({exc.reason})", path=str(path), fix="Re-fetch the original file.") from None


def load_dataset(name: str, root: str | Path | None = None) -> ProxyDataset:
    """Load one proxy set by name (see `DATASETS`); exact duplicates (normalised text) are dropped."""
    if name not in SPECS:
        raise InputError(f"unknown dataset '{name}'", field="name", fix=f"Use one of: {', '.join(DATASETS)}.")
    spec = SPECS[name]
    base = data_root(root)
    folder = base / spec.folder
    paths = [folder / f for f in spec.files]
    absent = [p for p in paths if not p.is_file()]
    if absent:
        raise DatasetUnavailableError(
            f"Dataset '{name}' is not available: missing {', '.join(str(p) for p in absent)}.",
            fix=f"Place the files of '{spec.folder}' under {base} (see ../shared/data/README.md).",
        )
    user_ids: list[str] = []
    texts: list[str] = []
    labels: list[int] = []
    codes: list[str] = []
    origin: list[str] = []
    seen: set[str] = set()
    prefix_group: dict[str, int] = {}
    groups: list[int] = []
    dropped = 0
    for path in paths:
        for line, row in enumerate(_read_rows(path, spec), start=2):
            text = (row.get(spec.text_col) or "").strip()
            code = (row.get(spec.label_col) or "").strip().lower()
            if code not in spec.codes:
                raise InputError(
                    f"label '{code}' is not one of {sorted(spec.codes)}",
                    path=str(path),
                    line=line,
                    field=spec.label_col,
                    fix="Use the original file from the dataset's repository.",
                )
            key = normalise(text)
            if not key:
                dropped += 1
                continue
            if key in seen:
                dropped += 1
                continue
            seen.add(key)
            pid = (row.get(spec.id_col) or "").strip() if spec.id_col else ""
            stem = path.stem if len(paths) > 1 else ""
            uid = f"{name}-{pid}" if pid else f"{name}-{stem + '-' if stem else ''}{line - 1:05d}"
            group = prefix_group.setdefault(key[:NEAR_DUP_PREFIX], len(prefix_group))
            user_ids.append(uid)
            texts.append(text)
            labels.append(spec.codes[code])
            codes.append(code)
            origin.append(path.name)
            groups.append(group)
    return ProxyDataset(
        name=name,
        user_ids=user_ids,
        texts=texts,
        labels=np.asarray(labels, dtype=int),
        label_names=spec.label_names,
        phq9_ranges=spec.phq9_ranges,
        groups=np.asarray(groups, dtype=int),
        codes=codes,
        origin=origin,
        mapping_note=spec.mapping_note,
        n_duplicates_dropped=dropped,
        root=base,
    )


def available_datasets(root: str | Path | None = None) -> list[str]:
    """Names in `DATASETS` whose files are present (empty when the data folder is missing)."""
    out = []
    for name in DATASETS:
        try:
            load_root = data_root(root)
        except DatasetUnavailableError:
            return []
        if all((load_root / SPECS[name].folder / f).is_file() for f in SPECS[name].files):
            out.append(name)
    return out
