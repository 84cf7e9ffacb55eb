"""Bootstrap over users: reproducible, percentile CIs, clusters resampled together."""

import numpy as np
import pytest

from phqwatch.evaluation.bootstrap import bootstrap_counts, percentile_ci, run_bootstrap, summarize
from phqwatch.evaluation.metrics import phq9_metrics


def test_counts_resample_n_units_each_and_are_seeded():
    a = np.concatenate(list(bootstrap_counts(50, 450, seed=4)))
    b = np.concatenate(list(bootstrap_counts(50, 450, seed=4)))
    assert a.shape == (450, 50) and (a.sum(axis=1) == 50).all() and np.array_equal(a, b)
    assert not np.array_equal(a, np.concatenate(list(bootstrap_counts(50, 450, seed=5))))


def test_percentile_ci_matches_numpy_and_ignores_nan():
    s = np.arange(1000, dtype=float)
    lo, hi, n = percentile_ci(s[:, None])
    assert lo[0] == pytest.approx(np.percentile(s, 2.5)) and hi[0] == pytest.approx(np.percentile(s, 97.5))
    s[:10] = np.nan
    out = summarize(5.0, s)
    assert "10 of 1000" in out["ci_note"] and out["ci"][0] == pytest.approx(np.percentile(s[10:], 2.5), abs=1e-3)


def test_mean_ci_covers_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 28, 100)
    large = rng.integers(0, 28, 2000)
    ms = phq9_metrics(small, np.clip(small + rng.normal(0, 3, 100), 0, 27), n_boot=300)
    ml = phq9_metrics(large, np.clip(large + rng.normal(0, 3, 2000), 0, 27), n_boot=300)
    ws = ms["mae"]["ci"][1] - ms["mae"]["ci"][0]
    wl = ml["mae"]["ci"][1] - ml["mae"]["ci"][0]
    assert ms["mae"]["ci"][0] <= ms["mae"]["value"] <= ms["mae"]["ci"][1]
    assert wl < ws / 2  # CI width ~ 1/sqrt(n)


def test_same_seed_same_ci_different_seed_differs():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 28, 300)
    x = np.clip(y + rng.normal(0, 4, 300), 0, 27)
    a, b = phq9_metrics(y, x, n_boot=200, seed=1), phq9_metrics(y, x, n_boot=200, seed=1)
    c = phq9_metrics(y, x, n_boot=200, seed=2)
    assert a == b and a["rmse"]["ci"] != c["rmse"]["ci"] and a["rmse"]["value"] == c["rmse"]["value"]


def test_units_resample_users_with_all_their_rows():
    def fn(W):
        return {"total": W.sum(axis=1)}

    units = np.array([0, 0, 0, 1, 2])  # user 0 has three rows
    point, reps = run_bootstrap(fn, 5, units=units, n_boot=200, seed=0)
    assert point["total"] == 5
    # a resample of 3 users holds 3..9 rows, always a multiple pattern of 3*k0 + k1 + k2 with k0+k1+k2 = 3
    assert set(np.unique(reps["total"])) <= {3.0, 5.0, 7.0, 9.0} and len(np.unique(reps["total"])) > 1
