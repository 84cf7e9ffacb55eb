"""Ordinal proxy-label metrics: vs scipy/sklearn, cut-points chosen on training data only."""

import json

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, roc_auc_score

from phqwatch.errors import InputError
from phqwatch.evaluation.ordinal import apply_cutpoints, choose_cutpoints, crossfit_classes, ordinal_metrics


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    y = rng.choice(4, 800, p=[0.55, 0.2, 0.15, 0.1])
    s = y + rng.normal(0, 1.0, 800)
    return y, s


def test_against_scipy_and_sklearn_with_training_cutpoints(data):
    y, s = data
    rng = np.random.default_rng(5)
    ty = rng.choice(4, 500, p=[0.55, 0.2, 0.15, 0.1])
    ts = ty + rng.normal(0, 1.0, 500)
    m = ordinal_metrics(y, s, n_classes=4, train_scores=ts, train_labels=ty, n_boot=100)
    cuts = choose_cutpoints(ts, ty, 4)
    pred = apply_cutpoints(s, cuts)
    assert m["cutpoints"] == pytest.approx(cuts.tolist(), abs=1e-6)
    assert m["spearman"]["value"] == pytest.approx(stats.spearmanr(y, s)[0], abs=1e-4)
    assert m["qwk"]["value"] == pytest.approx(cohen_kappa_score(y, pred, weights="quadratic"), abs=1e-4)
    assert m["macro_f1"]["value"] == pytest.approx(f1_score(y, pred, average="macro"), abs=1e-4)
    assert m["accuracy"]["value"] == pytest.approx(accuracy_score(y, pred), abs=1e-4)
    for cut in (1, 2, 3):
        assert m["auc_by_cut"][str(cut)]["value"] == pytest.approx(roc_auc_score(y >= cut, s), abs=1e-4)
    json.dumps(m, allow_nan=False)


def test_cutpoints_improve_macro_f1_over_quantile_start(data):
    y, s = data
    cuts = choose_cutpoints(s, y, 4)
    assert np.all(np.diff(cuts) >= 0)
    start = np.quantile(s, np.cumsum(np.bincount(y, minlength=4))[:-1] / len(y))
    assert f1_score(y, apply_cutpoints(s, cuts), average="macro") >= f1_score(
        y, apply_cutpoints(s, start), average="macro"
    )


def test_crossfitting_classifies_each_fold_with_cutpoints_from_the_other_folds(data):
    y, s = data
    pred, cuts = crossfit_classes(s, y, 4, n_folds=5, seed=0)
    from phqwatch.evaluation.ordinal import stratified_folds

    folds = stratified_folds(y, 5, 0)
    assert len(cuts) == 5 and np.bincount(folds).min() >= len(y) // 5 - 1
    for f in range(5):
        own = folds == f
        other_cuts = choose_cutpoints(s[~own], y[~own], 4)  # never sees fold f's labels
        assert cuts[f] == pytest.approx(other_cuts.tolist(), abs=1e-6)
        assert np.array_equal(pred[own], apply_cutpoints(s[own], other_cuts))


def test_skips_cuts_with_too_few_and_reports_reason():
    y = np.array([0] * 40 + [1] * 30 + [2] * 3)
    s = y + np.linspace(0, 0.5, len(y))
    m = ordinal_metrics(y, s, n_classes=4, n_boot=20)
    assert "1" in m["auc_by_cut"] and "too few" in m["auc_skipped"]["2"] and "one class only" in m["auc_skipped"]["3"]
    assert m["class_counts"] == [40, 30, 3, 0]


def test_bad_codes_are_errors():
    with pytest.raises(InputError, match="integer codes"):
        ordinal_metrics([0, 1, 4], [0.1, 0.2, 0.3], n_classes=3)
    with pytest.raises(InputError, match="too few"):
        ordinal_metrics([0, 1, 1], [0.1, 0.2, 0.3], n_classes=2)
