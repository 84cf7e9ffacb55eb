"""The proxy-set report: one self-contained HTML file (figures as base64 PNG), and its figures.

Figures (matplotlib, Agg): AUC per ordinal cut per set with 95% CIs; the estimate's distribution per
ordinal class (violin + box) per set; ROC at each cut per set. Every string is escaped (Jinja autoescape).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np

from phqwatch.evaluation.plots import png_bytes, pyplot
from phqwatch.evaluation.proxy import OUTPUT_DESCRIPTIONS, ProxyEvaluation, SetScores, headline

_OUTPUT_COLOURS = {"phq9_output": "#1565c0", "head": "#ef6c00"}
_CUT_COLOURS = ("#1565c0", "#2e7d32", "#c62828", "#6a1b9a", "#ef6c00")


def _cut_label(names: list[str], cut: int) -> str:
    return f">= {names[cut]}" if cut < len(names) else f"cut {cut}"


def auc_per_cut(metrics: dict[str, Any]) -> bytes:
    """Grouped bars: AUC at each ordinal cut of each set, per output, with 95% CI whiskers; 0.5 = chance."""
    plt = pyplot()
    sets = metrics["sets"]
    fig, axes = plt.subplots(1, max(1, len(sets)), figsize=(4.2 * max(1, len(sets)), 3.8), squeeze=False)
    for ax, (name, s) in zip(axes[0], sets.items(), strict=False):
        outputs = list(s["outputs"])
        cuts = [str(c) for c in range(1, len(s["class_names"]))]
        w = 0.8 / max(1, len(outputs))
        for j, key in enumerate(outputs):
            aucs = s["outputs"][key]["auc_by_cut"]
            xs, vs, lo, hi = [], [], [], []
            for i, c in enumerate(cuts):
                e = aucs.get(c)
                if e and e.get("value") is not None:
                    xs.append(i + j * w)
                    vs.append(e["value"])
                    lo.append(e["value"] - (e["ci"][0] if e["ci"][0] is not None else e["value"]))
                    hi.append((e["ci"][1] if e["ci"][1] is not None else e["value"]) - e["value"])
            ax.bar(xs, vs, w, yerr=[lo, hi], capsize=3, color=_OUTPUT_COLOURS.get(key, "#777"), label=key)
            for x, v in zip(xs, vs, strict=True):
                ax.text(x, 0.51, f"{v:.2f}", ha="center", va="bottom", fontsize=7, color="white", rotation=90)
        ax.axhline(0.5, color="#999", ls=":", lw=1)
        ax.set_xticks(
            np.arange(len(cuts)) + w * (len(outputs) - 1) / 2,
            [_cut_label(s["class_names"], int(c)) for c in cuts],
            fontsize=8,
            rotation=15,
        )
        ax.set(ylim=(0.5, 1.0), title=f"{name} (n={s['n']})")
        ax.set_ylabel("AUC (95% CI)")
        ax.legend(fontsize=7, loc="upper right")
    fig.suptitle("AUC at each ordinal cut (label >= class is positive), held-out test split", fontsize=10)
    fig.tight_layout()
    return png_bytes(fig)


def distribution_by_class(metrics: dict[str, Any], scores: dict[str, dict[str, SetScores]], output: str) -> bytes:
    """Violin + box plot of one output's score per true ordinal class, one panel per set; the PHQ-9
    output's panels shade each class's weak PHQ-9 range."""
    plt = pyplot()
    names = [n for n in metrics["sets"] if output in scores.get(n, {})]
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(4.2 * max(1, len(names)), 4.0), squeeze=False)
    for ax, name in zip(axes[0], names, strict=False):
        s, sc = metrics["sets"][name], scores[name][output]
        k = len(s["class_names"])
        groups = [sc.test_scores[sc.test_labels == c] for c in range(k)]
        pos = [i + 1 for i, g in enumerate(groups) if len(g) > 1]
        if pos:
            vp = ax.violinplot([groups[p - 1] for p in pos], positions=pos, showextrema=False, widths=0.8)
            for body in vp["bodies"]:
                body.set_facecolor(_OUTPUT_COLOURS.get(output, "#777"))
                body.set_alpha(0.3)
        ax.boxplot(
            [g if len(g) else [np.nan] for g in groups],
            positions=range(1, k + 1),
            widths=0.25,
            showfliers=False,
            medianprops={"color": "#c62828"},
        )
        if output == "phq9_output":
            for i, (lo, hi) in enumerate(s["weak_phq9_ranges"]):
                ax.fill_between([i + 0.6, i + 1.4], lo, hi, color="#ffe082", alpha=0.35, lw=0, zorder=0)
            ax.set_ylim(-0.5, 27.5)
            ax.set_ylabel("Estimated PHQ-9 (shaded: weak range of the label)")
        else:
            ax.set_ylabel("Head score (latent)")
        ax.set_xticks(range(1, k + 1), [f"{c}\n(n={len(g)})" for c, g in zip(s["class_names"], groups, strict=True)])
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(name, fontsize=10)
    title = "PHQ-9 estimate" if output == "phq9_output" else "Own-head score"
    fig.suptitle(f"{title} by true ordinal class, held-out test split", fontsize=10)
    fig.tight_layout()
    return png_bytes(fig)


def _roc(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    tpr = np.r_[0.0, np.cumsum(y_sorted)[last] / max(y.sum(), 1)]
    fpr = np.r_[0.0, np.cumsum(~y_sorted)[last] / max((~y).sum(), 1)]
    return fpr, tpr


def roc_per_cut(metrics: dict[str, Any], scores: dict[str, dict[str, SetScores]], output: str) -> bytes:
    """ROC curves of one output at each ordinal cut, one panel per set (AUC in the legend)."""
    plt = pyplot()
    names = [n for n in metrics["sets"] if output in scores.get(n, {})]
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(4.0 * max(1, len(names)), 4.0), squeeze=False)
    for ax, name in zip(axes[0], names, strict=False):
        s, sc = metrics["sets"][name], scores[name][output]
        aucs = s["outputs"][output]["auc_by_cut"]
        ok = np.isfinite(sc.test_scores)
        for cut in range(1, len(s["class_names"])):
            pos = sc.test_labels[ok] >= cut
            if pos.all() or (~pos).all():
                continue
            fpr, tpr = _roc(pos, sc.test_scores[ok])
            e = aucs.get(str(cut))
            lab = _cut_label(s["class_names"], cut) + (f" (AUC {e['value']:.3f})" if e else " (too few)")
            ax.plot(fpr, tpr, lw=1.8, color=_CUT_COLOURS[(cut - 1) % len(_CUT_COLOURS)], label=lab)
        ax.plot([0, 1], [0, 1], color="#999", ls=":", lw=1)
        ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="1 - specificity", ylabel="Sensitivity", title=name)
        ax.legend(loc="lower right", fontsize=7)
    title = "PHQ-9 estimate" if output == "phq9_output" else "own head"
    fig.suptitle(f"ROC at each ordinal cut ({title}), held-out test split", fontsize=10)
    fig.tight_layout()
    return png_bytes(fig)


def render_proxy_figures(metrics: dict[str, Any], scores: dict[str, dict[str, SetScores]]) -> dict[str, bytes]:
    """PNG bytes of every figure, keyed by name."""
    figs = {"auc_per_cut": auc_per_cut(metrics)}
    outputs = [o for o in OUTPUT_DESCRIPTIONS if any(o in v for v in scores.values())]
    for o in outputs:
        figs[f"distribution_{o}"] = distribution_by_class(metrics, scores, o)
        figs[f"roc_{o}"] = roc_per_cut(metrics, scores, o)
    return figs


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>phqwatch evaluation on public proxy sets: {{ m.model.id }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f5f5f5}.num{text-align:right;font-variant-numeric:tabular-nums}
.note{background:#fff8e1;border-left:4px solid #ffb300;padding:.6em 1em}.muted{color:#666;font-size:13px}
img{max-width:100%;display:block;margin:1em 0}
</style></head><body>
<h1>Evaluation on public proxy sets (ordinal labels)</h1>
<p class="note"><b>Research use only.</b> {{ research_use }}</p>
<p class="note"><b>Weak labels.</b> {{ weak_labels }}</p>
<p>Model <code>{{ m.model.id }}</code> ({{ m.model.estimator }}, {{ m.model.path }}).
Split: {{ m.split }}. Bootstrap: {{ m.n_boot }} resamples, seed {{ m.seed }}; AUC needs at least
{{ m.min_per_class }} positives and negatives. Generated {{ m.generated_at }} in {{ m.seconds }} s.</p>
{% if m.model_training_data %}<p class="muted">Model training data: {{ m.model_training_data }}</p>{% endif %}

<h2>Headline (held-out test split)</h2>
<table><tr><th>Set</th><th>Output</th><th>n</th><th>Spearman [95% CI]</th><th>AUC per cut</th>
<th>QWK [95% CI]</th><th>macro-F1 [95% CI]</th></tr>
{% for r in rows %}<tr>{% for c in r %}<td{% if loop.index > 2 %} class="num"{% endif %}>{{ c }}</td>
{% endfor %}</tr>{% endfor %}
</table>
<p class="muted">Outputs: {% for k, v in outputs %}<b>{{ k }}</b> = {{ v }}{% if not loop.last %}; {% endif %}
{% endfor %}.</p>

{% if forms %}<h2>Post form vs dialogue form</h2>
<p>The same test posts scored as posts and as dialogues (verbatim user turns after assistant prompts,
assistant turns included in the scored text). A model whose ranking holds keeps its Spearman.</p>
<table><tr><th>Set</th><th>Spearman, post</th><th>Spearman, dialogue</th><th>Difference</th>
<th>Dialogue inside the post 95% CI</th></tr>
{% for name, f in forms %}<tr><td>{{ name }}</td><td class="num">{{ "%.3f"|format(f.spearman_post) }}</td>
<td class="num">{{ "%.3f"|format(f.spearman_dialogue) }}</td><td class="num">{{ "%+.3f"|format(f.difference) }}</td>
<td>{{ "yes" if f.dialogue_within_post_ci else "no" }}</td></tr>{% endfor %}</table>{% endif %}

{% for name, s in sets %}
<h2>{{ name }}</h2>
<p>{{ s.n }} test posts (train {{ s.n_train }}, calib {{ s.n_calib }}); test classes:
{% for c, k in s.counts %}{{ c }} {{ k }}{% if not loop.last %}, {% endif %}{% endfor %}.
{{ s.n_duplicates_dropped }} duplicate posts dropped on loading.</p>
<p class="muted">Weak PHQ-9 mapping (not a PHQ-9 score): {{ s.weak_phq9_mapping }}</p>
<table><tr><th>Output</th><th>Spearman</th>{% for c in s.cut_heads %}<th>AUC {{ c }}</th>{% endfor %}<th>QWK</th>
<th>macro-F1</th><th>Accuracy</th><th>Cut-points (chosen on)</th></tr>
{% for key, o in s.outputs %}<tr><td>{{ key }}</td><td class="num">{{ o.spearman }}</td>
{% for a in o.aucs %}<td class="num">{{ a }}</td>{% endfor %}<td class="num">{{ o.qwk }}</td>
<td class="num">{{ o.macro_f1 }}</td><td class="num">{{ o.accuracy }}</td><td>{{ o.cuts }} ({{ o.source }})</td></tr>
{% endfor %}</table>
{% for key, o in s.outputs %}{% for c, r in o.skipped %}
<p class="muted">{{ key }}: AUC cut {{ c }} skipped: {{ r }}</p>{% endfor %}{% endfor %}
{% endfor %}

<h2>Figures</h2>
{% for alt, b64 in figures %}<img alt="{{ alt }}" src="data:image/png;base64,{{ b64 }}">
{% else %}<p class="muted">Figures were not rendered.</p>{% endfor %}

<h2>Definitions</h2>
<table>
<tr><th>Spearman</th><td>Rank correlation between the score and the ordinal label.</td></tr>
<tr><th>AUC at cut k</th><td>Label &ge; class k is positive: the chance a random positive post scores above a
random negative one.</td></tr>
<tr><th>QWK, macro-F1, accuracy</th><td>After classifying the score with macro-F1-optimal cut-points chosen on
training-side scores only (never the test split): out-of-fold training scores, else the calib split, else
cross-fitting on the test split, as stated per row. CIs resample posts with the classes fixed.</td></tr>
</table>
<p class="note">{{ research_use }} {{ weak_labels }}</p>
</body></html>
"""

_FIGURE_ALTS = {
    "auc_per_cut": "AUC at each ordinal cut per set with 95% CIs",
    "distribution_phq9_output": "PHQ-9 estimate distribution per true ordinal class",
    "roc_phq9_output": "ROC at each ordinal cut of the PHQ-9 estimate",
    "distribution_head": "Own-head score distribution per true ordinal class",
    "roc_head": "ROC at each ordinal cut of the own head",
    "distribution_phq9_output_dialogue": "PHQ-9 estimate distribution per true class, dialogue form",
    "roc_phq9_output_dialogue": "ROC at each ordinal cut of the PHQ-9 estimate, dialogue form",
}


def _v(e: dict[str, Any] | None, ci: bool = True) -> str:
    if not e or e.get("value") is None:
        return "n/a"
    lo, hi = e.get("ci") or [None, None]
    return f"{e['value']:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if ci and lo is not None else "")


def render_proxy_html(metrics: dict[str, Any], scores: dict[str, dict[str, SetScores]] | None = None) -> str:
    """The self-contained HTML report; figures only when `scores` (the test-split scores) are given."""
    import jinja2

    from phqwatch.evaluation.proxy import RESEARCH_USE, WEAK_LABELS

    env = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
    sets = []
    for name, s in metrics["sets"].items():
        cuts = [str(c) for c in range(1, len(s["class_names"]))]
        outs = []
        for key, o in s["outputs"].items():
            outs.append(
                (
                    key,
                    {
                        "spearman": _v(o["spearman"]),
                        "aucs": [_v(o["auc_by_cut"].get(c)) for c in cuts],
                        "qwk": _v(o["qwk"]),
                        "macro_f1": _v(o["macro_f1"]),
                        "accuracy": _v(o["accuracy"]),
                        "cuts": ", ".join(f"{c:.3g}" for c in o["cutpoints"])
                        if o["cutpoint_method"].endswith("passed in")
                        else "per fold",
                        "source": o["cutpoint_source"],
                        "skipped": sorted(o.get("auc_skipped", {}).items()),
                    },
                )
            )
        sets.append(
            (
                name,
                {
                    **s,
                    "counts": list(zip(s["class_names"], s["class_counts_test"], strict=True)),
                    "cut_heads": [_cut_label(s["class_names"], int(c)) for c in cuts],
                    "outputs": outs,
                },
            )
        )
    figs = render_proxy_figures(metrics, scores) if scores else {}
    figures = [(_FIGURE_ALTS.get(k, k), base64.b64encode(v).decode("ascii")) for k, v in figs.items()]
    return env.from_string(_TEMPLATE).render(
        m=metrics,
        rows=headline(metrics),
        outputs=list(OUTPUT_DESCRIPTIONS.items()),
        sets=sets,
        forms=[(n, s["form_robustness"]) for n, s in metrics["sets"].items() if s.get("form_robustness")],
        figures=figures,
        research_use=RESEARCH_USE,
        weak_labels=WEAK_LABELS,
    )


def write_proxy_outputs(ev: ProxyEvaluation, out_dir: str | Path, *, figures: bool = True) -> tuple[Path, Path]:
    """Write out_dir/metrics.json and out_dir/report.html (self-contained) atomically; returns their paths."""
    from phqwatch.evaluation.pipeline import to_json
    from phqwatch.transcripts import atomic_write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mpath, rpath = out / "metrics.json", out / "report.html"
    text = to_json(ev.metrics)
    html = render_proxy_html(ev.metrics, ev.scores if figures else None)
    with atomic_write(mpath, "w", encoding="utf-8") as fh:
        fh.write(text)
    with atomic_write(rpath, "w", encoding="utf-8") as fh:
        fh.write(html)
    return mpath, rpath
