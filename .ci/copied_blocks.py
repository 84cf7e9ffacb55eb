"""Fail when a block of six or more identical lines appears twice in src/ or tests/ (a copy to factor out).

Lines are compared stripped of indentation; blank lines, comments, imports, lines of brackets alone, lone
names in a list ("name,"), parameter declarations ("*,", "seed: int = 0,") and a parameter stored under its
own name ("self.seed = seed", the scikit-learn estimator contract) do not count towards a block: they would
pair any two modules, call sites or estimators that share a signature by design.

Usage: python .ci/copied_blocks.py [ROOT]
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

WINDOW = 6
TRIVIAL = re.compile(
    r"^(?:[\)\]\}:,]*|#.*|\"\"\"|pass|else:|try:|finally:|return|\.\.\.|(?:from\s+\S+\s+)?import\s.*|[\w.]+,|\)\s*->.*:|\*,|\w+:\s[^=]+(?:\s=\s.+)?,|self\.(\w+)\s=\s\1)$"
)


def significant(path: Path) -> list[tuple[int, str]]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        s = line.strip()
        if s and not TRIVIAL.match(s):
            out.append((n, s))
    return out


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    seen: dict[tuple[str, ...], list[tuple[Path, int, int]]] = defaultdict(list)
    for folder in ("src", "tests"):
        for path in sorted((root / folder).rglob("*.py")):
            lines = significant(path)
            for i in range(len(lines) - WINDOW + 1):
                block = tuple(s for _, s in lines[i : i + WINDOW])
                seen[block].append((path, lines[i][0], lines[i + WINDOW - 1][0]))
    found: dict[tuple[Path, Path], tuple[int, int, int, int]] = {}
    for places in seen.values():
        if len(places) < 2:
            continue
        for a, b in zip(places, places[1:], strict=False):
            if a[0] == b[0] and b[1] <= a[2]:
                continue  # a block overlapping itself (repeated lines in one run)
            found.setdefault((a[0], b[0]), (a[1], a[2], b[1], b[2]))
    for (pa, pb), (a1, a2, b1, b2) in sorted(found.items()):
        print(f"{pa.relative_to(root)}:{a1}-{a2} repeats in {pb.relative_to(root)}:{b1}-{b2}")
    if found:
        print(f"{len(found)} copied blocks of {WINDOW}+ lines: factor each into one function or fixture.")
        return 1
    print(f"no copied blocks of {WINDOW}+ lines in src/ or tests/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
