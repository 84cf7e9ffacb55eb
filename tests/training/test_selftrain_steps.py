"""The steps of `SelfTrainer.run`, one at a time, and the self-training config objects (small real data,
the small real `RateEstimator`; no step is faked)."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from phqwatch.errors import ConfigError, InputError
from phqwatch.models import load_model
from phqwatch.models.cpu import CpuEstimator
from phqwatch.training.pseudolabels import TeacherScores
from phqwatch.training.selftrain import (
    PSEUDO_COLUMNS,
    LabelScale,
    PseudolabelConfig,
    SelfTrainConfig,
    SelfTrainData,
    SelfTrainer,
    metric_value,
)

from .conftest import RateEstimator, WeightedRateEstimator


def _trainer(pseudo: PseudolabelConfig | None = None, **config) -> SelfTrainer:
    config.setdefault("n_boot", 50)
    cfg = SelfTrainConfig(pseudo=pseudo or PseudolabelConfig(), **config)
    return SelfTrainer(estimator_factory=RateEstimator, config=cfg)


def _data(trainer: SelfTrainer, split_users) -> SelfTrainData:
    (lt, ly), (u, _), (ht, hy) = split_users["L"], split_users["U"], split_users["H"]
    return SelfTrainData.build(trainer.scale, (lt, ly), u, heldout=(ht, hy))


# ---- config objects -----------------------------------------------------------------------------
def test_configs_are_frozen_checked_and_spelled_flat_too() -> None:
    cfg = SelfTrainConfig.from_options(max_rounds=2, filter="none", pseudo_weight=0.5, pseudo_source="model")
    assert cfg.max_rounds == 2 and cfg.pseudo == PseudolabelConfig(filter="none", weight=0.5, source="model")
    assert cfg.as_options()["pseudo_weight"] == 0.5 and cfg.as_options()["metric_direction"] == "higher"
    with pytest.raises(AttributeError):
        cfg.max_rounds = 3  # type: ignore[misc]
    with pytest.raises(ConfigError, match="unknown self-training option"):
        SelfTrainConfig.from_options(max_round=2)
    with pytest.raises(ConfigError, match="filter 'x' is unknown"):
        PseudolabelConfig(filter="x")
    with pytest.raises(ConfigError, match="pseudo_weight"):
        PseudolabelConfig(weight=0.0)
    with pytest.raises(ConfigError, match="patience"):
        SelfTrainConfig(patience=0)
    # flat options given to the trainer replace those fields of its config
    t = SelfTrainer(estimator_factory=RateEstimator, config=SelfTrainConfig(metric="mae"), max_rounds=1)
    assert t.config.metric == "mae" and t.config.max_rounds == 1


def test_better_honours_direction_min_delta_and_nan() -> None:
    hi, lo = SelfTrainConfig(metric="spearman", min_delta=0.05), SelfTrainConfig(metric="mae")
    assert hi.better(0.7, 0.6) and not hi.better(0.64, 0.6) and not hi.better(math.nan, 0.1)
    assert lo.better(2.0, 3.0) and not lo.better(3.0, 2.0) and lo.better(9.0, math.nan)
    assert lo.best_of([3.0, math.nan, 2.5]) == 2.5 and hi.best_of([0.1, 0.3]) == 0.3
    assert math.isnan(hi.best_of([math.nan]))


def test_quota_grows_by_round_and_takes_the_smaller_cap() -> None:
    assert PseudolabelConfig().quota(1, 30) is None
    grow = PseudolabelConfig(accept_frac=0.2)
    assert [grow.quota(r, 30) for r in (1, 2, 5, 9)] == [6, 12, 30, 30]
    assert PseudolabelConfig(accept_frac=0.2, max_pseudo=8).quota(2, 30) == 8
    assert PseudolabelConfig(balance_classes=True).quota(1, 30) == 30


# ---- steps --------------------------------------------------------------------------------------
def test_build_aligns_inputs_and_refuses_bad_ones(split_users) -> None:
    (lt, ly), (u, _), (ht, hy) = split_users["L"], split_users["U"], split_users["H"]
    data = _data(_trainer(), split_users)
    assert data.unlabeled_ids == list(u) and data.calib_texts == data.heldout_texts
    assert data.sources is None and data.pseudo_source is None
    codes = np.searchsorted([4.5, 9.5, 14.5], ly)
    scale = LabelScale(source="bands", boundaries=(4.5, 9.5, 14.5))
    odata = SelfTrainData.build(
        scale, (lt, codes), list(u.values()), heldout=(ht, np.searchsorted(scale.boundaries, hy))
    )
    assert odata.sources == ["bands"] * len(lt) and odata.pseudo_source == "bands"
    assert odata.unlabeled_ids[0] == "unlabeled-000000"
    with pytest.raises(InputError, match="labeled texts but"):
        SelfTrainData.build(LabelScale(), (lt, ly[:-1]), u, heldout=(ht, hy))
    with pytest.raises(InputError, match="heldout"):
        SelfTrainData.build(LabelScale(), (lt, ly), u, heldout=(ht[:1], hy[:1]))
    with pytest.raises(InputError, match="integer PHQ-9 totals"):
        SelfTrainData.build(LabelScale(), (lt, ly), u, heldout=(ht, hy + 0.5))


def test_fit_baseline_is_a_plain_fit(split_users) -> None:
    trainer = _trainer()
    data = _data(trainer, split_users)
    plain = RateEstimator().fit(data.texts, data.labels)
    assert np.allclose(trainer.fit_baseline(data).predict(data.heldout_texts), plain.predict(data.heldout_texts))


def test_pseudolabel_round_without_filter_keeps_the_models_scores(split_users) -> None:
    trainer = _trainer(PseudolabelConfig(filter="none"))
    data = _data(trainer, split_users)
    prev = trainer.fit_baseline(data)
    pseudo = trainer.pseudolabel(1, prev, data)
    n = len(data.unlabeled_texts)
    assert pseudo.source == "model" and len(pseudo.accepted) == n and math.isnan(pseudo.halfwidth)
    np.testing.assert_allclose(pseudo.train_label, prev.predict(data.unlabeled_texts))
    stats = pseudo.stats(trainer.scale)
    assert stats["source"] == "model" and stats["accepted_mean"] == pytest.approx(np.mean(pseudo.train_label))


def test_select_confident_keeps_only_intervals_inside_one_class(split_users) -> None:
    trainer = _trainer(PseudolabelConfig(filter="confidence", min_confidence=0.99))
    data = _data(trainer, split_users)
    prev = trainer.fit_baseline(data)
    prev.calibrate_interval(data.heldout_texts, data.heldout_labels)  # a real, non-zero interval
    pseudo = trainer.pseudolabel(1, prev, data)
    fr = pseudo.filtered
    assert pseudo.halfwidth == prev.conformal_q_ > 0
    assert 0 < fr.n_accepted < len(data.unlabeled_texts), "a wide interval straddles a band edge for some users"
    assert np.all(fr.confidence[fr.accepted] >= 0.99)
    assert {fr.reason[i] for i in np.flatnonzero(~fr.accepted)} == {"low_confidence"}
    assert np.isnan(pseudo.train_label[~fr.accepted]).all()


def test_select_confident_applies_the_growing_quota_and_a_teachers_scores(split_users) -> None:
    trainer = _trainer(PseudolabelConfig(filter="none", accept_frac=0.2, source="teacher"))
    data = _data(trainer, split_users)
    n = len(data.unlabeled_texts)
    teacher = TeacherScores(score=np.arange(n) % 27.0, confidence=np.full(n, np.nan), status=["ok"] * n)
    score = np.zeros(n)
    for r, cap in ((1, 6), (2, 12)):
        fr = trainer.select_confident(r, data, score, np.ones(n), teacher)
        assert fr.n_accepted == cap and fr.reasons()["over_cap"] == n - cap
    np.testing.assert_allclose(fr.pseudolabel, teacher.score)


def test_fit_round_weights_pseudolabels_by_replication_or_sample_weight(split_users) -> None:
    trainer = _trainer(PseudolabelConfig(filter="none", weight=0.25))
    data = _data(trainer, split_users)
    pseudo = trainer.pseudolabel(1, trainer.fit_baseline(data), data)
    model, how = trainer.fit_round(data, pseudo)
    assert "replicated x4" in how and model.n_train_ == 4 * len(data.texts) + len(pseudo.accepted)
    weighted = SelfTrainer(estimator_factory=WeightedRateEstimator, config=trainer.config)
    model, how = weighted.fit_round(data, pseudo)
    assert how == "sample_weight 0.25" and (model.seen_weights_ == 0.25).sum() == len(pseudo.accepted)


def test_evaluate_round_judges_against_every_previous_round(split_users) -> None:
    trainer = _trainer(metric="mae")
    data = _data(trainer, split_users)
    good = trainer.fit_baseline(data)
    r0 = trainer.evaluate_round(0, good, data, timings={"fit_s": 0.5})
    assert r0.improved and r0.metric == metric_value(r0.heldout, "mae") and r0.pseudo_source is None
    assert r0.timings_s["total_s"] == pytest.approx(0.5 + r0.timings_s["eval_s"], abs=2e-3)
    inverted = RateEstimator().fit(data.texts, 27 - data.labels)
    r1 = trainer.evaluate_round(1, inverted, data, previous=[r0])
    assert r1.metric > r0.metric and not r1.improved
    assert trainer.evaluate_round(2, good, data, previous=[r1]).improved  # better than the only earlier round
    with pytest.raises(ConfigError, match="selection metric"):
        _trainer(metric="nope").evaluate_round(0, good, data)


def test_save_round_and_pseudolabels_write_reloadable_artifacts(split_users, tmp_path) -> None:
    cfg = SelfTrainConfig(n_boot=50, pseudo=PseudolabelConfig(filter="none"))
    trainer = SelfTrainer(estimator_factory=RateEstimator, config=cfg, out_dir=tmp_path)
    data = _data(trainer, split_users)
    base = trainer.fit_baseline(data)
    assert _trainer().save_round(_trainer().evaluate_round(0, base, data), base) is None  # no out_dir: nothing

    model = CpuEstimator(min_words=5, n_folds=2, min_df=1).fit(data.texts, data.labels)
    res = trainer.evaluate_round(0, model, data)
    rdir = trainer.save_round(res, model)
    assert rdir == tmp_path / "round_0" and res.model_dir == str(rdir / "model")
    assert np.allclose(load_model(rdir / "model").predict(data.heldout_texts), model.predict(data.heldout_texts))
    assert json.loads((rdir / "metrics.json").read_text())["round"] == 0 and "save_s" in res.timings_s
    pseudo = trainer.pseudolabel(1, model, data)
    path = trainer.save_pseudolabels(1, data, pseudo, None)
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == PSEUDO_COLUMNS and [r["user_id"] for r in rows] == data.unlabeled_ids
    assert all(r["teacher_score"] == "" and r["accepted"] == "1" for r in rows)


def test_fit_ensemble_is_skipped_without_a_winning_round_and_averages_otherwise(split_users) -> None:
    trainer = _trainer(ensemble=True)
    data = _data(trainer, split_users)
    a = trainer.fit_baseline(data)
    b = RateEstimator().fit(data.heldout_texts, data.heldout_labels)
    model, info = trainer.fit_ensemble([a, b], 0, data)
    assert model is None and "skipped" in info
    model, info = trainer.fit_ensemble([a, b], 1, data)
    mean = (a.predict(data.texts) + b.predict(data.texts)) / 2
    assert np.allclose(model.predict(data.texts), np.clip(mean, 0, 27)) and info["members"] == [0, 1]
    assert _trainer().fit_ensemble([a, b], 1, data) == (None, None)
