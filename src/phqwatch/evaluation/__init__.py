"""Evaluation: PHQ-9 and ordinal metrics with bootstrap CIs, breakdowns, plots and the HTML report."""

from phqwatch.evaluation.metrics import THRESHOLDS, phq9_metrics

__all__ = ["THRESHOLDS", "phq9_metrics"]
