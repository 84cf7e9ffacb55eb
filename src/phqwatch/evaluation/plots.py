"""Figures for the evaluation report (matplotlib, Agg backend, imported lazily). Each returns PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from phqwatch import phq9

#: The reference paper's test-set numbers (842 users), drawn on the figures.
REFERENCE_AUC_GE_10 = 0.91
REFERENCE_AUC_FLOOR = 0.87
REFERENCE_FLOOR_RANGE = (3, 24)
_BAND_COLOURS = ("#e8f5e9", "#fffde7", "#fff3e0", "#fbe9e7", "#ffebee")


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (imported on first use, so the core stays light)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def png_bytes(fig: Any) -> bytes:
    """The figure as PNG bytes (96 dpi); closes the figure."""
    plt = pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _shade_bands(ax: Any, axis: str = "x") -> None:
    edges = [-0.5, *phq9.BAND_LINES, 27.5]
    for i, name in enumerate(phq9.BAND_NAMES):
        span = ax.axvspan if axis == "x" else ax.axhspan
        span(edges[i], edges[i + 1], color=_BAND_COLOURS[i], zorder=0, label=None)
        if axis == "x":
            ax.text(
                (edges[i] + edges[i + 1]) / 2,
                26.6,
                name.replace("moderately ", "mod. "),
                ha="center",
                va="top",
                fontsize=7,
                color="#555",
            )


def predicted_vs_administered(y: np.ndarray, pred: np.ndarray, seed: int = 0) -> bytes:
    """Scatter of estimate against administered total, severity bands shaded, identity line."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    _shade_bands(ax, "x")
    for line in phq9.BAND_LINES:
        ax.axhline(line, color="#bbb", lw=0.6, zorder=1)
    jitter = np.random.default_rng(seed).uniform(-0.25, 0.25, len(y))
    ax.scatter(y + jitter, pred, s=8, alpha=0.5 if len(y) < 2000 else 0.2, color="#1565c0", zorder=2)
    ax.plot([0, 27], [0, 27], color="#333", lw=1, ls="--", label="perfect agreement", zorder=3)
    means = [(v, pred[y == v].mean()) for v in range(28) if (y == v).any()]
    if means:
        ax.plot(*zip(*means, strict=True), color="#c62828", lw=1.5, label="mean estimate per total", zorder=4)
    ax.set(xlim=(-0.5, 27.5), ylim=(-0.5, 27.5), xlabel="Administered PHQ-9", ylabel="Estimated PHQ-9")
    ax.set_title("Estimated vs administered (bands shaded)", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return png_bytes(fig)


def roc_at(y: np.ndarray, pred: np.ndarray, threshold: int = phq9.CUTOFF, auc: float | None = None) -> bytes:
    """ROC curve of the estimate for administered >= threshold, with the estimate >= threshold point."""
    plt = pyplot()
    pos = y >= threshold
    fig, ax = plt.subplots(figsize=(5, 5))
    if pos.all() or (~pos).all():
        ax.text(0.5, 0.5, f"ROC undefined: one class only at >= {threshold}", ha="center", va="center")
        return png_bytes(fig)
    order = np.argsort(-pred, kind="stable")
    p_sorted, pos_sorted = pred[order], pos[order]
    last = np.r_[p_sorted[1:] != p_sorted[:-1], True]
    tpr = np.r_[0.0, np.cumsum(pos_sorted)[last] / pos.sum()]
    fpr = np.r_[0.0, np.cumsum(~pos_sorted)[last] / (~pos).sum()]
    label = "this model" + (f" (AUC {auc:.3f})" if auc is not None else "")
    ax.plot(fpr, tpr, color="#1565c0", lw=2, label=label)
    ax.plot([0, 1], [0, 1], color="#999", ls=":", lw=1, label="chance")
    op_tpr = (pred[pos] >= threshold).mean()
    op_fpr = (pred[~pos] >= threshold).mean()
    ax.scatter([op_fpr], [op_tpr], color="#c62828", zorder=5, label=f"estimate >= {threshold}")
    ax.set(xlabel="1 - specificity", ylabel="Sensitivity", xlim=(0, 1), ylim=(0, 1.01))
    ax.set_title(f"ROC at administered PHQ-9 >= {threshold} (reference paper AUC {REFERENCE_AUC_GE_10})", fontsize=9)
    ax.legend(loc="lower right", fontsize=8)
    return png_bytes(fig)


def auc_by_threshold(metrics: dict[str, Any]) -> bytes:
    """AUC with 95% CI against threshold (the paper's figure), with the 0.87 reference line."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    entries = sorted(((int(t), e) for t, e in metrics.get("auc_by_threshold", {}).items()), key=lambda x: x[0])
    entries = [(t, e) for t, e in entries if e.get("value") is not None]
    if entries:
        ts = np.array([t for t, _ in entries])
        v = np.array([e["value"] for _, e in entries])
        lo = np.array([e["ci"][0] if e["ci"][0] is not None else e["value"] for _, e in entries])
        hi = np.array([e["ci"][1] if e["ci"][1] is not None else e["value"] for _, e in entries])
        ax.fill_between(ts, lo, hi, color="#90caf9", alpha=0.5, label="95% CI")
        ax.plot(ts, v, "o-", color="#1565c0", ms=4, label="this model")
    a, b = REFERENCE_FLOOR_RANGE
    ax.hlines(
        REFERENCE_AUC_FLOOR,
        a,
        b,
        colors="#c62828",
        linestyles="--",
        label=f"paper: > {REFERENCE_AUC_FLOOR} at {a}..{b}",
    )
    ax.scatter(
        [phq9.CUTOFF],
        [REFERENCE_AUC_GE_10],
        marker="*",
        s=120,
        color="#c62828",
        zorder=5,
        label=f"paper: {REFERENCE_AUC_GE_10} at >= {phq9.CUTOFF}",
    )
    ax.set(xlabel="PHQ-9 threshold t (administered >= t is positive)", ylabel="AUC", xlim=(0.5, 27.5))
    ax.set_ylim(min(0.5, ax.get_ylim()[0]), 1.0)
    ax.set_xticks(range(1, 28, 2))
    ax.text(
        0.99,
        0.03,
        "Reference (842 users): MAE 2.6, RMSE 4.0, r 0.80",
        transform=ax.transAxes,
        ha="right",
        fontsize=7,
        color="#555",
    )
    ax.set_title("AUC at each threshold", fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    return png_bytes(fig)


def error_vs_words(words: np.ndarray, abs_error: np.ndarray, edges: Sequence[int]) -> bytes:
    """Absolute error against user words available (log scale), with the median per word bin."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ok = np.isfinite(words)
    if ok.any():
        w = np.maximum(words[ok], 1)
        ax.scatter(w, abs_error[ok], s=6, alpha=0.3, color="#1565c0", label="users")
        idx = np.searchsorted(np.asarray(edges[1:], dtype=float), words[ok], side="right")
        xs, meds = [], []
        for b in range(len(edges)):
            m = idx == b
            if m.sum():
                xs.append(np.median(w[m]))
                meds.append(np.median(abs_error[ok][m]))
        ax.plot(xs, meds, "o-", color="#c62828", lw=2, label="median per word bin")
        ax.set_xscale("log")
        for e in edges[1:]:
            ax.axvline(e, color="#ddd", lw=0.8, zorder=0)
    else:
        ax.text(0.5, 0.5, "no n_user_words in the predictions", ha="center", va="center", transform=ax.transAxes)
    ax.set(xlabel="User words available", ylabel="|estimate - administered|")
    ax.set_title("Error against conversation volume", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    return png_bytes(fig)


def interval_coverage(groups: Sequence[tuple[str, dict[str, Any]]], nominal: float | None) -> bytes:
    """Observed interval coverage (with CI) per group, against the model's nominal level."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    rows = [(g, e) for g, e in groups if e and e.get("value") is not None]
    if rows:
        xs = np.arange(len(rows))
        v = np.array([e["value"] for _, e in rows])
        lo = np.array([e["ci"][0] if e["ci"][0] is not None else e["value"] for _, e in rows])
        hi = np.array([e["ci"][1] if e["ci"][1] is not None else e["value"] for _, e in rows])
        ax.bar(xs, v, color="#90caf9", yerr=[v - lo, hi - v], capsize=3)
        ax.set_xticks(xs, [g for g, _ in rows], rotation=20, fontsize=8)
    else:
        ax.text(0.5, 0.5, "no intervals in the predictions", ha="center", va="center", transform=ax.transAxes)
    if nominal is not None:
        ax.axhline(nominal, color="#c62828", ls="--", label=f"nominal {nominal:.0%}")
        ax.legend(loc="lower right", fontsize=8)
    ax.set(ylim=(0, 1.02), ylabel="Share of labels inside the interval")
    ax.set_title("Interval coverage (overall and by words available)", fontsize=10)
    return png_bytes(fig)
