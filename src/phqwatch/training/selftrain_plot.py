"""The self-training figure: the held-out (and test) selection metric per round, with 95% CIs."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_rounds(summary: dict[str, Any], path: str | Path) -> Path:
    """PNG of the held-out (and test) selection metric per round, with 95% CIs and the round-0 baseline."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    key = summary["config"]["metric"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for split, colour, off in (("heldout", "#1565c0", -0.05), ("test", "#ef6c00", 0.05)):
        xs, vs, lo, hi = [], [], [], []
        for r in summary["rounds"]:
            m = r.get(split)
            if not m:
                continue
            node: Any = m
            for part in key.split("."):
                node = node.get(part, {}) if isinstance(node, dict) else {}
            if not isinstance(node, dict) or node.get("value") is None:
                continue
            ci = node.get("ci") or [node["value"], node["value"]]
            xs.append(r["round"] + off)
            vs.append(node["value"])
            lo.append(node["value"] - (ci[0] if ci[0] is not None else node["value"]))
            hi.append((ci[1] if ci[1] is not None else node["value"]) - node["value"])
        if xs:
            ax.errorbar(xs, vs, yerr=[lo, hi], marker="o", capsize=3, color=colour, label=split)
            ax.axhline(vs[0], color=colour, lw=0.8, ls=":")
    ax.axvline(summary["best_round"], color="grey", lw=0.8, ls="--", label=f"best round {summary['best_round']}")
    ax.set_xlabel("round (0 = administered labels only)")
    ax.set_ylabel(f"{key} (95% CI)")
    ax.set_xticks([r["round"] for r in summary["rounds"]])
    ax.legend(fontsize=8)
    ax.set_title("Self-training: held-out metric per round", fontsize=10)
    path = Path(path)
    fig.savefig(path, dpi=96, bbox_inches="tight")
    plt.close(fig)
    return path


__all__ = ["plot_rounds"]
