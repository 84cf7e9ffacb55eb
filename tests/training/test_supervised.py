"""fit_supervised: one training path for every estimator, per-set targets, datasets.split splits."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from phqwatch.datasets import load_dataset, split
from phqwatch.errors import InputError
from phqwatch.models.cpu import CpuEstimator
from phqwatch.training.build_default import build
from phqwatch.training.supervised import LabelledSet, fit_supervised

from .conftest import RateEstimator
from .proxy_files import write_proxy_sets

NAMES = ("depseverity", "lt_edi", "reddit_dr")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_proxy_sets(tmp_path_factory.mktemp("proxy"))


@pytest.fixture(scope="module")
def sets(data_dir: Path) -> list[LabelledSet]:
    return [LabelledSet.from_proxy(load_dataset(n, data_dir)) for n in NAMES]


class SeenRate(RateEstimator):
    """Records what fit received (an estimator without per-source heads)."""

    seen: list[tuple[np.ndarray, object]] = []

    def _fit(self, texts, y, sources):
        SeenRate.seen.append((y.copy(), sources))
        super()._fit(texts, y, sources)


def test_estimator_without_heads_gets_each_sets_own_phq9_midpoints(sets, data_dir: Path) -> None:
    SeenRate.seen.clear()
    res = fit_supervised(SeenRate(), sets, n_boot=20, log=lambda _: None)
    y, sources = SeenRate.seen[0]
    assert sources is None
    expected = np.concatenate([s.midpoints()[res.splits[s.name]["train"]] for s in sets])
    np.testing.assert_array_equal(y, expected)
    # never raw codes: DepSeverity "mild" (code 1) = 7, LT-EDI "moderate" (code 1) = 14.5, Reddit DR "depression" = 18.5
    assert set(np.unique(y)) == {2.0, 7.0, 12.0, 21.0, 4.5, 14.5, 23.5, 18.5}
    for s in sets:  # the splits are datasets.split's
        ds = load_dataset(s.name, data_dir)
        for part, idx in split(ds, seed=0).items():
            np.testing.assert_array_equal(res.splits[s.name][part], idx)
        m = res.metrics[s.name]
        assert m["output"] == "PHQ-9 output" and m["n_test"] == len(res.splits[s.name]["test"])
        assert -1 <= m["spearman"] <= 1 and m["cutpoints_from"] == "calib split scores"
    assert "depseverity" in res.metrics and res.anchor == "depseverity"


def test_cpu_gets_codes_with_sources_and_matches_a_direct_fit(sets) -> None:
    res = fit_supervised(CpuEstimator(n_folds=2, min_df=1), sets, n_boot=20, log=lambda _: None)
    texts, codes, srcs = [], [], []
    for s in sets:
        idx = res.splits[s.name]["train"]
        texts += [s.texts[i] for i in idx]
        codes += list(s.labels[idx])
        srcs += [s.name] * len(idx)
    direct = CpuEstimator(n_folds=2, min_df=1).fit(texts, codes, sources=srcs)
    probe = sets[0].texts[:10]
    np.testing.assert_allclose(res.model.predict(probe), direct.predict(probe))
    assert res.metrics["lt_edi"]["output"] == "own head"
    assert res.metrics["lt_edi"]["cutpoints_from"] == "out-of-fold training scores"
    assert res.metrics["depseverity"]["spearman"] > 0.5  # the fixture's words track the labels


def test_limit_train_samples_each_training_split(sets) -> None:
    res = fit_supervised(SeenRate(), sets, limit_train=7, n_boot=0, log=lambda _: None)
    assert all(len(p["train"]) == 7 for p in res.splits.values())
    assert "limited to 7 rows" in res.metrics["split"]


def test_totals_do_not_mix_with_proxy_sets(sets) -> None:
    totals = LabelledSet("administered", ["a b c"] * 4, np.array([1.0, 5, 9, 20]), np.arange(4), np.arange(4))
    with pytest.raises(InputError, match="administered PHQ-9 totals train alone"):
        fit_supervised(SeenRate(), [sets[0], totals], log=lambda _: None)
    with pytest.raises(InputError, match="no training data"):
        fit_supervised(SeenRate(), [], log=lambda _: None)


def test_build_writes_a_card_with_metrics_for_any_estimator(data_dir: Path, tmp_path: Path) -> None:
    """build() used to call CPU-only attributes (anchor_, predict_latent, train_oof_latent_)."""
    model, metrics = build(tmp_path / "m", data_dir, estimator=SeenRate(), n_boot=20, log=lambda _: None)
    card = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    assert "## Metrics" in card and '"reddit_dr"' in card and "weak PHQ-9 midpoint" in card
    cfg = json.loads((tmp_path / "m" / "config.json").read_text(encoding="utf-8"))
    assert cfg["metadata"]["metrics"]["depseverity"]["n_test"] == metrics["depseverity"]["n_test"]
    assert "Item scores are heuristic" not in cfg["metadata"]["limits"]  # a CPU-only statement


def test_administered_windows_split_by_user_and_are_measured_as_totals(users) -> None:
    ids, texts, y = users
    windows = [
        SimpleNamespace(user_id=u, text=t, label=int(v), items=None)
        for u, t, v in zip(ids * 2, texts * 2, np.r_[y, np.clip(y + 1, 0, 27)], strict=True)
    ]
    res = fit_supervised(
        RateEstimator(), [LabelledSet.from_windows(windows)], calib_size=0.2, n_boot=20, log=lambda _: None
    )
    parts = res.splits["administered"]
    owner = np.array([w.user_id for w in windows])
    seen = [set(owner[parts[k]]) for k in ("train", "calib", "test")]
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])
    m = res.metrics["administered"]
    assert m["n_test"] == len(parts["test"]) and m["mae"] >= 0 and "interval_coverage" in m
    assert res.targets.startswith("administered PHQ-9 totals") and res.model.conformal_q_ > 0
