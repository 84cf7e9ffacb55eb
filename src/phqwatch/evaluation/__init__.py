"""Evaluation: PHQ-9 and ordinal metrics with bootstrap CIs, breakdowns, plots and the HTML report.

from phqwatch.evaluation import evaluate_files, write_outputs, ordinal_metrics
ev = evaluate_files("scores.csv", "phq9.csv", n_boot=1000, seed=0)
write_outputs(ev, "eval/")          # eval/metrics.json + eval/report.html
"""

from __future__ import annotations

from typing import Any

from phqwatch.evaluation.metrics import THRESHOLDS, phq9_metrics
from phqwatch.evaluation.ordinal import ordinal_metrics

_LAZY = {
    "evaluate_files": "phqwatch.evaluation.pipeline",
    "evaluate_model": "phqwatch.evaluation.pipeline",
    "evaluate_joined": "phqwatch.evaluation.pipeline",
    "write_outputs": "phqwatch.evaluation.pipeline",
    "markdown_table": "phqwatch.evaluation.report",
    "text_table": "phqwatch.evaluation.report",
}

__all__ = ["THRESHOLDS", "ordinal_metrics", "phq9_metrics", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'phqwatch.evaluation' has no attribute {name!r}")
