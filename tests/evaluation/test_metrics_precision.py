"""metrics.json keeps full precision; only what is displayed (report, CLI table) is rounded."""

from __future__ import annotations

import json

import numpy as np
from scipy.stats import spearmanr

from phqwatch.evaluation.bootstrap import summarize
from phqwatch.evaluation.metrics import phq9_metrics
from phqwatch.evaluation.ordinal import ordinal_metrics
from phqwatch.evaluation.pipeline import to_json
from phqwatch.evaluation.report import render_html


def _data(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 28, n)
    return y, np.clip(y + rng.normal(0, 5, n), 0, 27)


def test_metrics_json_keeps_full_precision() -> None:
    y, pred = _data()
    m = phq9_metrics(y, pred, n_boot=50)
    exact = float(spearmanr(y, pred)[0])
    assert abs(m["spearman"]["value"] - exact) < 1e-12  # was rounded to 4 digits
    back = json.loads(to_json(m))
    assert back["spearman"]["value"] == m["spearman"]["value"]
    assert back["spearman"]["ci"] == m["spearman"]["ci"] and round(back["mae"]["value"], 4) != back["mae"]["value"]
    o = ordinal_metrics(y // 7, pred, n_classes=4, train_scores=pred, train_labels=y // 7, n_boot=20)
    assert abs(o["spearman"]["value"] - float(spearmanr(y // 7, pred)[0])) < 1e-12
    assert any(round(c, 6) != c for c in o["cutpoints"]), "cut-points are not rounded either"


def test_summarize_rounds_only_when_asked() -> None:
    assert summarize(0.123456789, None)["value"] == 0.123456789
    assert summarize(0.123456789, None, digits=3)["value"] == 0.123


def test_report_rounds_what_it_shows() -> None:
    y, pred = _data()
    m = phq9_metrics(y, pred, n_boot=50)
    html = render_html({**m, "data": {}}, None, figures=False)
    auc = m["auc_by_threshold"]["10"]["value"]
    assert f"{auc:.3f}" in html and repr(auc) not in html
