"""Tiny project-written files in the public proxy sets' real layouts (never rows of the real data)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

NEUTRAL = "i feel fine good happy calm okay friends family work today week day".split()
SAD = "tired sad hopeless empty worthless crying alone cannot sleep eat focus restless".split()


def _post(rng: np.random.Generator, severity: float, i: int) -> str:
    n = int(rng.integers(12, 30))
    words = [str(rng.choice(SAD)) if rng.random() < severity else str(rng.choice(NEUTRAL)) for _ in range(n)]
    return f"post{i} " + " ".join(words)


def _write(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)


def write_proxy_sets(root: Path, per_class: int = 20, seed: int = 7) -> Path:
    """DepSeverity, LT-EDI dev and Reddit DR files whose low-mood word share tracks the label."""
    rng = np.random.default_rng(seed)
    i = 0
    rows = []
    for label, sev in (("minimum", 0.05), ("mild", 0.3), ("moderate", 0.55), ("severe", 0.85)):
        for _ in range(per_class):
            rows.append([_post(rng, sev, i), label])
            i += 1
    _write(root / "depseverity" / "Reddit_depression_dataset.csv", ["text", "label"], rows)
    rows = []
    for label, sev in (("not depression", 0.05), ("moderate", 0.45), ("severe", 0.85)):
        for _ in range(per_class):
            rows.append([f"pid_{i}", _post(rng, sev, i), label])
            i += 1
    _write(root / "lt_edi_2022" / "dev.tsv", ["PID", "Text data", "Label"], rows, delimiter="\t")
    for fname, codes in (("train.csv", ("ds", "nd", "bc")), ("test.csv", ("do", "nd"))):
        rows = []
        for code in codes:
            for _ in range(per_class // 2):
                rows.append([code, _post(rng, 0.6 if code in ("do", "ds", "dsf") else 0.1, i)])
                i += 1
        _write(root / "reddit_dr" / fname, ["label", "text"], rows)
    return root
