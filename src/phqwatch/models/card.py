"""Model cards: the README.md inside every model folder."""

from __future__ import annotations

import json
from typing import Any

INTENDED_USE = (
    "Decision support for clinicians monitoring people who use an AI mental-health app. The output is an "
    "*estimated* PHQ-9 total with an interval and its textual evidence; it is not a diagnosis, not an "
    "administered PHQ-9, and must not be used alone to make clinical decisions. Self-harm risk is handled by "
    "phqwatch's separate crisis-safety screen, never by this score."
)


def render_card(name: str, meta: dict[str, Any], config: dict[str, Any]) -> str:
    """Markdown card: data, label kinds, metrics, limits, intended use, hyperparameters."""
    lines = [f"# {meta.get('name', name)} (version {meta.get('version', 'unversioned')})", ""]
    lines += [f"Written by phqwatch {meta.get('phqwatch_version', '(version not recorded)')}.", ""]
    lines += ["## Intended use", INTENDED_USE, ""]
    lines += ["## Training data", str(meta.get("training_data", "Not recorded.")), ""]
    lines += ["## Labels", str(meta.get("labels", "Not recorded (administered vs pseudolabels unknown).")), ""]
    if meta.get("output_scale"):
        lines += ["## How the output is put on the PHQ-9 scale", str(meta["output_scale"]), ""]
    metrics = meta.get("metrics")
    lines += ["## Metrics"]
    if isinstance(metrics, dict) and metrics:
        lines += ["```json", json.dumps(metrics, indent=2, sort_keys=True), "```"]
    else:
        lines += ["Not recorded."]
    lines += ["", "## Limits", str(meta.get("limits", "Not recorded.")), ""]
    lines += [
        "## Estimator",
        f"`{config['estimator']}` with parameters:",
        "```json",
        json.dumps(config.get("params", {}), indent=2, sort_keys=True),
        "```",
        "",
    ]
    if meta.get("rebuild"):
        lines += ["## Rebuild", f"`{meta['rebuild']}`", ""]
    return "\n".join(lines)
