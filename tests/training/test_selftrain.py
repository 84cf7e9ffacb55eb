"""Self-training rounds on small synthetic users with a small real estimator (and lexical-ridge to reload)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from phqwatch.errors import ConfigError, InputError
from phqwatch.models import load_model
from phqwatch.training.ensemble import MeanEnsemble, load_ensemble
from phqwatch.training.pseudolabels import REASONS
from phqwatch.training.selftrain import PSEUDO_COLUMNS, LabelScale, SelfTrainer, self_train

from .conftest import RateEstimator, WeightedRateEstimator


def _run(split_users, **kw):
    (lt, ly), (u, _), (ht, hy) = split_users["L"], split_users["U"], split_users["H"]
    kw.setdefault("n_boot", 50)
    kw.setdefault("estimator_factory", RateEstimator)
    return self_train(lt, ly, u, heldout=(ht, hy), **kw)


def test_round0_equals_a_plain_fit(split_users):
    (lt, ly), (ht, _) = split_users["L"], split_users["H"]
    res = _run(split_users, max_rounds=2, filter="none", patience=5)
    plain = RateEstimator().fit(lt, ly)
    assert np.allclose(res.baseline_model.predict(ht), plain.predict(ht))
    assert res.rounds[0].n_pseudo_accepted == 0 and res.rounds[0].pseudo_source is None
    # later rounds trained on more rows: labeled + accepted pseudolabels
    assert res.rounds[1].n_pseudo_accepted == 30
    assert len(res.rounds) == 3


def test_true_teacher_improves_then_stops_when_the_metric_stops_improving(split_users):
    (u, u_true) = split_users["U"]
    truth = dict(zip(u, u_true.astype(float), strict=True))
    res = _run(split_users, teacher=lambda texts: {k: truth[k] for k in texts}, max_rounds=5, metric="mae")
    # round 1 adds 30 correct labels (improves); round 2 sees the same labels again (no improvement) -> stop
    assert res.rounds[1].improved and res.rounds[1].metric < res.rounds[0].metric
    assert len(res.rounds) == 3 and not res.rounds[2].improved
    assert res.best_round == 1 and "did not improve" in res.stopped


def test_harmful_teacher_is_never_chosen_and_patience_counts_rounds(split_users):
    (u, u_true) = split_users["U"]
    inverted = dict(zip(u, (27 - u_true).astype(float), strict=True))
    res = _run(split_users, teacher=lambda texts: inverted, max_rounds=5, filter="none", patience=2)
    assert [r.improved for r in res.rounds] == [True, False, False]
    assert res.best_round == 0 and res.best_model is res.baseline_model
    assert res.rounds[1].metric < res.rounds[0].metric  # Spearman fell


def test_teacher_gaps_and_filter_reasons_are_recorded(split_users):
    (u, _) = split_users["U"]
    ids = list(u)

    def teacher(texts):  # the pluggable teacher interface: user_id -> text in, scores out
        return [np.nan if i % 3 == 0 else 5.0 + (i % 5) for i in range(len(texts))]

    res = _run(split_users, teacher=teacher, max_rounds=1, filter="agreement", agreement_tol=2.0)
    reasons = res.rounds[1].reasons
    assert set(reasons) == set(REASONS)
    assert reasons["teacher_abstained"] == len([i for i in range(len(ids)) if i % 3 == 0])
    assert sum(reasons.values()) == len(ids)
    assert reasons["accepted"] == res.rounds[1].n_pseudo_accepted
    assert reasons["disagreement"] > 0


def test_agreement_without_teacher_and_bad_labels_are_errors(split_users):
    with pytest.raises(ConfigError, match="no teacher"):
        SelfTrainer(estimator_factory=RateEstimator, filter="agreement")
    (lt, ly), (u, _), (ht, hy) = split_users["L"], split_users["U"], split_users["H"]
    with pytest.raises(InputError, match="integer PHQ-9 totals"):
        self_train(lt, ly, u, estimator_factory=RateEstimator, heldout=(ht, hy + 0.5))
    with pytest.raises(InputError, match="codes 0..3"):
        self_train(
            lt,
            ly,
            u,
            estimator_factory=RateEstimator,
            heldout=(ht, hy),
            scale=LabelScale(source="x", boundaries=(4.5, 9.5, 14.5)),
        )


def test_pseudo_weight_uses_sample_weight_when_the_estimator_takes_it(split_users):
    res = _run(split_users, max_rounds=1, filter="none", pseudo_weight=0.5, estimator_factory=WeightedRateEstimator)
    assert res.rounds[1].pseudo_stats["weighting"] == "sample_weight 0.5"
    w = res.models[1].seen_weights_
    assert (w == 1.0).sum() == 8 and (w == 0.5).sum() == 30


def test_pseudo_weight_replicates_labeled_rows_otherwise(split_users):
    res = _run(split_users, max_rounds=1, filter="none", pseudo_weight=0.25, patience=3)
    assert "replicated x4" in res.rounds[1].pseudo_stats["weighting"]
    assert res.models[0].n_train_ == 8 and res.models[1].n_train_ == 8 * 4 + 30


def test_ensemble_of_ground_truth_and_best_round_is_their_mean(split_users):
    (u, u_true), (ht, _) = split_users["U"], split_users["H"]
    truth = dict(zip(u, u_true.astype(float), strict=True))
    res = _run(split_users, teacher=lambda texts: truth, max_rounds=1, metric="mae", ensemble=True)
    assert res.best_round == 1
    both = (res.models[0].predict(ht) + res.models[1].predict(ht)) / 2
    assert np.allclose(res.ensemble_model.predict(ht), np.clip(both, 0, 27))
    ens = res.summary["ensemble"]
    assert ens["members"] == [0, 1] and "mae" in ens["heldout"]


def test_growing_quota_and_class_balance(split_users):
    res = _run(split_users, max_rounds=2, min_confidence=0.0, accept_frac=0.2, balance_classes=True, patience=5)
    assert res.rounds[1].n_pseudo_accepted <= 6 and res.rounds[2].n_pseudo_accepted <= 12
    assert res.rounds[1].reasons["over_cap"] >= 24


def test_artifacts_per_round_exist_and_reload(split_users, tmp_path):
    from phqwatch.models.cpu import CpuEstimator

    (ht, _) = split_users["H"]
    lines: list[str] = []
    res = _run(
        split_users,
        estimator_factory=lambda: CpuEstimator(min_words=5, n_folds=2, min_df=1),
        max_rounds=1,
        filter="confidence",
        min_confidence=0.0,
        out_dir=tmp_path,
        progress=lines.append,
    )
    for r in (0, 1):
        folder = tmp_path / f"round_{r}"
        model = load_model(folder / "model")
        assert np.allclose(model.predict(ht), res.models[r].predict(ht))
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["round"] == r and "spearman" in metrics["heldout"]
        assert metrics["heldout"]["spearman"]["ci"][0] is not None
    assert not (tmp_path / "round_0" / "pseudolabels.csv").exists()
    with open(tmp_path / "round_1" / "pseudolabels.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == PSEUDO_COLUMNS and len(rows) == 30
    assert sum(int(r["accepted"]) for r in rows) == res.rounds[1].n_pseudo_accepted
    texts = set(split_users["U"][0].values())
    assert not any(v in texts for r in rows for v in r.values())  # ids and numbers only, never text
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [r["round"] for r in summary["rounds"]] == [0, 1] and summary["best_round"] == res.best_round
    assert (tmp_path / "heldout_by_round.png").read_bytes()[:4] == b"\x89PNG"
    assert any(line.startswith("round 1:") for line in lines)


def test_mean_ensemble_averages_and_round_trips(split_users, tmp_path):
    from phqwatch.models.cpu import CpuEstimator

    (lt, ly), (ht, hy) = split_users["L"], split_users["H"]
    a = CpuEstimator(min_words=5, n_folds=2, min_df=1).fit(lt, ly)
    b = CpuEstimator(min_words=5, n_folds=2, min_df=1).fit(ht, hy)
    ens = MeanEnsemble([a, b], weights=[3, 1])
    assert np.allclose(ens.predict(lt), np.clip(0.75 * a.predict(lt) + 0.25 * b.predict(lt), 0, 27))
    ens.calibrate_interval(ht, hy)
    back = load_ensemble(ens.save(tmp_path / "ens"))
    assert np.allclose(back.predict(lt), ens.predict(lt)) and back.conformal_q_ == ens.conformal_q_


def test_ordinal_scale_trains_codes_and_evaluates_with_ordinal_metrics(split_users):
    (lt, ly), (u, _), (ht, hy) = split_users["L"], split_users["U"], split_users["H"]
    scale = LabelScale(source="bands", boundaries=(4.5, 9.5, 14.5))
    codes = lambda y: np.searchsorted([4.5, 9.5, 14.5], y)  # noqa: E731
    seen = {}

    class CodeRate(RateEstimator):
        def _fit(self, texts, y, sources):
            seen.setdefault("y", []).append(set(np.unique(y).tolist()))
            seen.setdefault("sources", []).append(set(sources))
            super()._fit(texts, y * 6.0, sources)  # codes -> a rough 0-27 scale

    res = self_train(
        lt,
        codes(ly),
        u,
        estimator_factory=CodeRate,
        heldout=(ht, codes(hy)),
        scale=scale,
        max_rounds=1,
        filter="none",
        n_boot=50,
    )
    assert all(s <= {0.0, 1.0, 2.0, 3.0} for s in seen["y"])  # pseudolabels became codes, not totals
    assert seen["sources"] == [{"bands"}, {"bands"}]
    assert "auc_by_cut" in res.rounds[0].heldout and "qwk" in res.rounds[1].heldout


def test_an_undefined_metric_is_recorded_as_null_and_never_chosen(split_users, tmp_path):
    class Constant(RateEstimator):
        def _predict(self, texts):
            return np.full(len(texts), 9.0)

    res = _run(split_users, estimator_factory=Constant, max_rounds=1, filter="none", out_dir=tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rounds"][0]["metric"] is None and summary["best_round"] == 0
    assert not res.rounds[1].improved
