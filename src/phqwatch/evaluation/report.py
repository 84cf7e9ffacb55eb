"""The evaluation report: one self-contained HTML file (figures as base64 PNG, no external assets).

Also the headline table as text (CLI) and Markdown (README). The command that writes it from a scores file
is `phqwatch evaluate --predictions scores.csv --labels phq9.csv --out eval/` (`evaluation.pipeline`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from phqwatch.evaluation.join import Joined

DECISION_SUPPORT = (
    "These are estimates of the PHQ-9 from conversation text, for decision support only. They are not "
    "administered PHQ-9 scores and not a diagnosis; a clinician must review them, and a positive item 9 or "
    "any crisis content needs a human response regardless of the estimate."
)
_IDS_SHOWN = 200

#: (key in metrics.json, label, key in REFERENCE or None)
HEADLINE: tuple[tuple[str, str, str | None], ...] = (
    ("n", "Users / rows (n)", "n"),
    ("mae", "MAE", "mae"),
    ("rmse", "RMSE", "rmse"),
    ("pearson", "Pearson r", "pearson"),
    ("spearman", "Spearman rho", None),
    ("ccc", "Lin's CCC", None),
    ("qwk", "QWK (rounded totals)", None),
    ("band_accuracy", "Band accuracy", None),
    ("sensitivity_ge_10", "Sensitivity (>= 10)", None),
    ("specificity_ge_10", "Specificity (>= 10)", None),
    ("auc_ge_10", "AUC (>= 10)", "auc_ge_10"),
    ("auc_min_3_24", "Min AUC over thresholds 3..24", "auc_floor_3_24"),
    ("interval_coverage", "Interval coverage", None),
)


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, int) or (isinstance(v, float) and float(v).is_integer() and abs(v) >= 100):
        return f"{int(v):,}"
    return f"{v:.{digits}f}"


def _entry(metrics: dict[str, Any], key: str) -> dict[str, Any] | None:
    if key == "auc_ge_10":
        e = metrics.get("auc_by_threshold", {}).get("10")
        return e or {"value": None, "ci": [None, None], "reason": metrics.get("auc_skipped", {}).get("10", "")}
    if key == "auc_min_3_24":
        vals = [
            (int(t), e)
            for t, e in metrics.get("auc_by_threshold", {}).items()
            if 3 <= int(t) <= 24 and e.get("value") is not None
        ]
        if not vals:
            return {"value": None, "ci": [None, None], "reason": "no threshold 3..24 evaluated"}
        t, e = min(vals, key=lambda x: x[1]["value"])
        missing = 22 - len(vals)
        note = f"at t={t}" + (f"; {missing} of 22 thresholds skipped" if missing else "")
        return {**e, "note": note}
    return metrics.get(key)


def headline_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(label, value, 95% CI, reference paper) for each headline metric."""
    ref = metrics.get("reference", {})
    rows = []
    for key, label, ref_key in HEADLINE:
        e = _entry(metrics, key)
        if e is None:
            continue
        ci = e.get("ci") or [None, None]
        ci_txt = "" if key == "n" or ci[0] is None else f"[{_fmt(ci[0])}, {_fmt(ci[1])}]"
        val = _fmt(e.get("value"))
        if e.get("value") is None and e.get("reason"):
            val = f"n/a ({e['reason']})"
        elif e.get("note"):
            val = f"{val} ({e['note']})"
        r = ref.get(ref_key) if ref_key else None
        r_txt = "" if r is None else (f"{r:,}" if isinstance(r, int) else f"{r:.2f}")
        if r is not None and key == "auc_min_3_24":
            r_txt = f"> {r_txt}"
        rows.append((label, val, ci_txt, r_txt))
    return rows


def text_table(metrics: dict[str, Any]) -> str:
    """The headline table as aligned plain text (what the CLI prints)."""
    rows = [("Metric", "Value", "95% CI", "Paper (842 users)"), *headline_rows(metrics)]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(metrics: dict[str, Any], *, model_name: str = "this model") -> str:
    """The headline table in Markdown, side by side with the reference paper (for the README)."""
    out = [f"| Metric | {model_name} | 95% CI | Reference paper (842 users) |", "|---|---|---|---|"]
    for label, val, ci, ref in headline_rows(metrics):
        out.append(f"| {label} | {val} | {ci} | {ref} |")
    return "\n".join(out)


# ---- HTML -------------------------------------------------------------------------------------

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>phqwatch evaluation report</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;line-height:1.4;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{background:#fff8e1;border-left:4px solid #f9a825;padding:.6rem 1rem}
.muted{color:#666;font-size:.85rem}img{max-width:100%;border:1px solid #eee;margin:.5rem 0}
code{background:#f5f5f5;padding:0 .2rem}
</style></head><body>
<h1>phqwatch evaluation report</h1>
<p class="note"><strong>Decision support, not diagnosis.</strong> {{ decision_support }}</p>
<p class="muted">phqwatch {{ m.phqwatch_version }} &middot; created {{ m.created }} &middot;
bootstrap {{ m.n_boot }} resamples of users, seed {{ m.seed }} &middot; 95% percentile CIs.</p>

<h2>Data</h2>
<table>
<tr><th>Join</th><td>{{ d.join_note }}</td></tr>
<tr><th>Questionnaires (rows / users)</th><td>{{ d.label_rows }} / {{ d.label_users }}</td></tr>
<tr><th>Prediction rows</th><td>{{ d.prediction_rows }}</td></tr>
<tr><th>Matched / scored</th><td>{{ d.matched }} / {{ d.scored }} (coverage {{ coverage }})</td></tr>
<tr><th>Abstained (excluded)</th><td>{{ d.abstained.count }}</td></tr>
<tr><th>Labels without a prediction</th><td>{{ d.missing_predictions.count }}</td></tr>
<tr><th>Predictions without a label</th><td>{{ d.missing_labels.count }}</td></tr>
{% for k, v in inputs %}<tr><th>Input: {{ k }}</th><td><code>{{ v }}</code></td></tr>{% endfor %}
</table>
{% for n in d.notes %}<p class="muted">{{ n }}</p>{% endfor %}

<h2>Headline metrics</h2>
<table><tr><th>Metric</th><th>Value</th><th>95% CI</th><th>Reference paper (842 users)</th></tr>
{% for label, val, ci, ref in headline %}<tr><td>{{ label }}</td><td class="num">{{ val }}</td>
<td class="num">{{ ci }}</td><td class="num">{{ ref }}</td></tr>{% endfor %}
</table>
<p class="muted">Reference: {{ m.reference.source }}. Its numbers come from a different population and model;
compare with care.</p>

<h2>AUC by threshold</h2>
{% if figures.auc %}<img alt="AUC against threshold" src="data:image/png;base64,{{ figures.auc }}">{% endif %}
<table><tr><th>t (administered &ge; t)</th><th>AUC</th><th>95% CI</th><th>positives</th><th>negatives</th></tr>
{% for t, e in auc_rows %}<tr><td>{{ t }}</td><td class="num">{{ e.value | fmt }}</td>
<td class="num">[{{ e.ci[0] | fmt }}, {{ e.ci[1] | fmt }}]</td>
<td class="num">{{ e.n_pos }}</td><td class="num">{{ e.n_neg }}</td></tr>
{% endfor %}</table>
{% if skipped %}<p class="muted">Skipped thresholds (minimum {{ m.auc_min_per_class }} positives and negatives):
{% for t, r in skipped %}{{ t }}: {{ r }}{% if not loop.last %}; {% endif %}{% endfor %}</p>{% endif %}

<h2>Figures</h2>
{% for key, alt in figure_list %}{% if figures[key] %}
<img alt="{{ alt }}" src="data:image/png;base64,{{ figures[key] }}">{% endif %}{% endfor %}

<h2>By words of user text available</h2>
{{ breakdown_table(words_rows, "Words") }}

{% for col, block in meta_blocks %}
<h2>By {{ col }} (fairness review)</h2>
{% if block.skipped %}<p class="muted">Skipped: {{ block.skipped }}</p>{% else %}
{{ breakdown_table(block.rows, col) }}{% endif %}
{% endfor %}

<h2>Missing and excluded users</h2>
{% for title, ids in missing %}
<details><summary>{{ title }}: {{ ids.count }}</summary>
<p class="muted">{% for i in ids.ids[:ids_shown] %}<code>{{ i }}</code> {% endfor %}
{% if ids.count > ids_shown %}&hellip; and {{ ids.count - ids_shown }} more (all ids up to 10,000 are in
metrics.json){% endif %}</p></details>
{% endfor %}

<h2>Definitions</h2>
<table>{% for k, v in definitions %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>
<p class="note">{{ decision_support }}</p>
</body></html>
"""

_BREAKDOWN = """{% macro breakdown_table(rows, head) %}
<table><tr><th>{{ head }}</th><th>n</th><th>MAE</th><th>RMSE</th><th>Pearson r</th><th>AUC &ge; 10</th>
<th>Band acc.</th><th>Coverage</th></tr>
{% for r in rows %}<tr><td>{{ r.name }}</td><td class="num">{{ r.n }}</td>{% for c in r.cells %}
<td class="num">{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>
{% endmacro %}"""

_BD_KEYS = ("mae", "rmse", "pearson", "auc_ge_10", "band_accuracy", "interval_coverage")


def _cell(e: dict[str, Any] | None) -> str:
    if not e or e.get("value") is None:
        return "n/a"
    ci = e.get("ci") or [None, None]
    if ci[0] is None:
        return _fmt(e["value"], 2)
    return f"{_fmt(e['value'], 2)} [{_fmt(ci[0], 2)}, {_fmt(ci[1], 2)}]"


def _bd_rows(groups: Sequence[dict[str, Any]], name_key: str) -> list[dict[str, Any]]:
    return [{"name": g[name_key], "n": g.get("n", 0), "cells": [_cell(g.get(k)) for k in _BD_KEYS]} for g in groups]


def render_figures(metrics: dict[str, Any], j: Joined) -> dict[str, str]:
    """Base64 PNGs of every figure, keyed by name."""
    from phqwatch.evaluation import plots

    auc10 = metrics.get("auc_by_threshold", {}).get("10", {}).get("value")
    edges = metrics.get("breakdowns", {}).get("word_edges") or [0, 100, 250, 500, 1000, 2000]
    cov_groups = [("all", metrics.get("interval_coverage"))] + [
        (g["bin"], g.get("interval_coverage")) for g in metrics.get("breakdowns", {}).get("words", []) if g.get("n")
    ]
    figs = {
        "scatter": plots.predicted_vs_administered(j.y, j.pred),
        "roc": plots.roc_at(j.y, j.pred, 10, auc10),
        "auc": plots.auc_by_threshold(metrics),
        "words": plots.error_vs_words(j.words, np.abs(j.pred - j.y), edges),
        "coverage": plots.interval_coverage(cov_groups, metrics.get("interval_nominal")),
    }
    return {k: base64.b64encode(v).decode("ascii") for k, v in figs.items()}


def render_html(metrics: dict[str, Any], j: Joined | None = None, *, figures: bool = True) -> str:
    """The self-contained HTML report. Every user-supplied string is escaped (Jinja autoescape)."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
    env.filters["fmt"] = _fmt  # metrics.json keeps full precision; the report rounds what it shows
    # Jinja exports a template's macros as attributes its TemplateModule type does not declare.
    macro = env.from_string(_BREAKDOWN).module.breakdown_table  # type: ignore[attr-defined]
    tmpl = env.from_string(_TEMPLATE)
    d = metrics.get("data", {})
    bd = metrics.get("breakdowns", {})
    meta_blocks = []
    for col, block in (bd.get("metadata", {}) or {}).get("columns", {}).items():
        if "skipped" in block:
            meta_blocks.append((col, {"skipped": block["skipped"]}))
        else:
            meta_blocks.append((col, {"rows": _bd_rows(block["groups"], "group")}))
    figs = render_figures(metrics, j) if (figures and j is not None) else {}
    inputs = []
    for k, v in (metrics.get("inputs") or {}).items():
        inputs.append((k, f"{v['path']} (sha256 {v['sha256'][:12]})" if isinstance(v, dict) else str(v)))
    coverage = d.get("coverage")
    return tmpl.render(
        m=metrics,
        d=d,
        coverage="n/a" if coverage is None else f"{coverage:.1%}",
        inputs=inputs,
        decision_support=DECISION_SUPPORT,
        headline=headline_rows(metrics),
        auc_rows=sorted(metrics.get("auc_by_threshold", {}).items(), key=lambda x: int(x[0])),
        skipped=sorted(metrics.get("auc_skipped", {}).items(), key=lambda x: int(x[0])),
        figures=figs,
        figure_list=[
            ("scatter", "Estimated against administered PHQ-9 with bands shaded"),
            ("roc", "ROC at administered PHQ-9 >= 10"),
            ("words", "Absolute error against words available"),
            ("coverage", "Interval coverage"),
        ],
        breakdown_table=macro,
        words_rows=_bd_rows(bd.get("words", []), "bin"),
        meta_blocks=meta_blocks,
        missing=[
            ("Labels without a prediction", d.get("missing_predictions", {"count": 0, "ids": []})),
            ("Predictions without a label", d.get("missing_labels", {"count": 0, "ids": []})),
            ("Abstained (too little text)", d.get("abstained", {"count": 0, "ids": []})),
        ],
        ids_shown=_IDS_SHOWN,
        definitions=sorted((metrics.get("definitions") or {}).items()),
    )
