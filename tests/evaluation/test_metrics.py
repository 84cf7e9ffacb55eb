"""PHQ-9 metrics against scipy / scikit-learn, hand-computed tiny cases and edge cases."""

import json
import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score, mean_absolute_error, mean_squared_error, roc_auc_score

from phqwatch import phq9
from phqwatch.errors import InputError
from phqwatch.evaluation import metrics as M


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 28, 600)
    x = np.clip(y + rng.normal(0, 4, 600), 0, 27).round(1)  # rounding makes ties in the estimate
    return y, x


def lin_ccc(y, x):
    y, x = np.asarray(y, float), np.asarray(x, float)
    cov = np.mean((x - x.mean()) * (y - y.mean()))
    return 2 * cov / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)


def test_against_scipy_and_sklearn(data):
    y, x = data
    assert M.mae(y, x) == pytest.approx(mean_absolute_error(y, x), abs=1e-12)
    assert M.rmse(y, x) == pytest.approx(math.sqrt(mean_squared_error(y, x)), abs=1e-12)
    assert M.pearson(y, x) == pytest.approx(stats.pearsonr(y, x)[0], abs=1e-10)
    assert M.spearman(y, x) == pytest.approx(stats.spearmanr(y, x)[0], abs=1e-10)
    assert M.ccc(y, x) == pytest.approx(lin_ccc(y, x), abs=1e-10)
    rounded = np.clip(np.round(x), 0, 27).astype(int)
    expected = cohen_kappa_score(y, rounded, weights="quadratic", labels=np.arange(28))
    assert M.qwk(y, x) == pytest.approx(expected, abs=1e-10)
    bands_y = [phq9.band_index(v) for v in y]
    bands_x = [phq9.band_index(v) for v in x]
    assert M.qwk(y, x, on="bands") == pytest.approx(
        cohen_kappa_score(bands_y, bands_x, weights="quadratic", labels=np.arange(5)), abs=1e-10
    )
    assert M.band_accuracy(y, x) == pytest.approx(np.mean(np.array(bands_y) == np.array(bands_x)))
    for t in (1, 3, 10, 20, 27):
        assert M.auc_at(y, x, t) == pytest.approx(roc_auc_score(y >= t, x), abs=1e-12)
    sens, spec = M.sensitivity_specificity(y, x)
    screen_x = np.array([phq9.is_positive_screen(v) for v in x])
    assert sens == pytest.approx(screen_x[y >= 10].mean()) and spec == pytest.approx((~screen_x)[y < 10].mean())


def test_bands_of_matches_phq9_band_rounding():
    vals = np.array([0, 4.4, 4.5, 4.6, 9.5, 10.5, 14.49, 19.5, 20, 27])
    assert M.bands_of(vals).tolist() == [phq9.band_index(v) for v in vals]


def test_hand_computed_tiny_cases():
    assert M.mae([0, 10, 20], [2, 10, 17]) == pytest.approx(5 / 3)
    assert M.rmse([0, 10, 20], [2, 10, 17]) == pytest.approx(math.sqrt(13 / 3))
    # positives score 5 and 9, negatives 1 and 5: pairs 1 + 0.5 + 1 + 1 = 3.5 of 4
    assert M.auc_at([0, 0, 10, 10], [1, 5, 5, 9], 10) == pytest.approx(0.875)
    assert M.ccc([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert M.ccc([1, 2, 3], [2, 3, 4]) == pytest.approx(4 / 7)  # 2*(2/3) / (2/3 + 2/3 + 1)
    assert M.qwk([0, 1, 2], [0, 2, 2]) == pytest.approx(0.8)  # 1 - 1 / (8 + 5 - 8)
    assert M.band_accuracy([3, 7, 12], [4.4, 4.6, 12]) == 1.0
    assert M.band_accuracy([5], [4.5]) == 0.0  # 4.5 rounds half to even -> 4 -> minimal
    assert M.sensitivity_specificity([12, 15, 3, 8], [10, 9.9, 2, 11]) == (0.5, 0.5)
    assert M.interval_coverage([5, 10, 20], [4, 11, np.nan], [6, 12, np.nan]) == 0.5


def test_one_class_threshold_is_skipped_with_reason():
    y = np.array([2] * 20 + [12] * 20)
    x = y + 0.5
    ok, skipped = M.auc_threshold_status(y, 10)
    assert ok == list(range(3, 13)) and skipped["13"].startswith("one class only")
    assert skipped["1"].startswith("one class only (40 positives, 0 negatives")
    m = M.phq9_metrics(y, x, n_boot=50)
    assert "13" not in m["auc_by_threshold"] and "one class only" in m["auc_skipped"]["13"]
    assert m["auc_by_threshold"]["10"]["value"] == 1.0
    few = M.phq9_metrics(np.array([0] * 30 + [15] * 5), np.full(35, 3.0), n_boot=20)
    assert "too few" in few["auc_skipped"]["10"]


def test_constant_predictions_give_null_with_reason_and_no_nan_in_json():
    y = np.arange(0, 28)
    m = M.phq9_metrics(y, np.full(28, 8.0), n_boot=100)
    assert m["pearson"]["value"] is None and "constant predictions" in m["pearson"]["reason"]
    assert m["pearson"]["ci"] == [None, None] and m["spearman"]["value"] is None
    assert m["mae"]["value"] == pytest.approx(np.abs(y - 8).mean(), abs=1e-4)
    assert m["interval_coverage"]["value"] is None and m["interval_coverage"]["reason"]
    json.dumps(m, allow_nan=False)  # raises if any NaN leaked


def test_nans_are_dropped_and_counted():
    y = np.array([1, 5, np.nan, 12, 20, 7])
    x = np.array([2, np.nan, 3, 11, 19, 6])
    m = M.phq9_metrics(y, x, n_boot=10)
    assert m["n"]["value"] == 4 and m["n_dropped_nan"] == 2
    assert m["mae"]["value"] == pytest.approx(1.0)


def test_out_of_range_and_misaligned_inputs_are_errors():
    with pytest.raises(InputError, match="0-27"):
        M.mae([1, 2], [1, 28])
    with pytest.raises(InputError, match="integer PHQ-9"):
        M.mae([1.5, 2], [1, 2])
    with pytest.raises(InputError, match="rows"):
        M.mae([1, 2, 3], [1, 2])


def test_weighted_engine_equals_explicit_resampling(data):
    """A bootstrap replicate (as counts) gives the same metrics as the explicitly resampled rows."""
    y, x = data
    p = M.prepare(y, x, x - 3, x + 3)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, len(y), len(y))
    W = np.bincount(idx, minlength=len(y))[None, :].astype(float)
    got = M.weighted_metrics(p, W)
    ys, xs = y[idx], x[idx]
    assert got["spearman"][0] == pytest.approx(stats.spearmanr(ys, xs)[0], abs=1e-10)
    assert got["pearson"][0] == pytest.approx(stats.pearsonr(ys, xs)[0], abs=1e-10)
    assert got["auc"][0, 9] == pytest.approx(roc_auc_score(ys >= 10, xs), abs=1e-12)
    assert got["ccc"][0] == pytest.approx(lin_ccc(ys, xs), abs=1e-10)
    assert got["mae"][0] == pytest.approx(np.abs(ys - xs).mean(), abs=1e-12)
    assert got["interval_coverage"][0] == pytest.approx(((xs - 3 <= ys) & (ys <= xs + 3)).mean(), abs=1e-12)


def test_binary_auc_matches_sklearn():
    rng = np.random.default_rng(1)
    lab = rng.integers(0, 2, 200)
    s = rng.integers(0, 5, 200) + lab
    assert M.binary_auc(lab, s) == pytest.approx(roc_auc_score(lab, s), abs=1e-12)
