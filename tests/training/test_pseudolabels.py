"""Pseudolabel filters, confidence and teacher adapters on hand-made numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from phqwatch.errors import ConfigError, InputError
from phqwatch.training.pseudolabels import (
    BAND_BOUNDARIES,
    class_midpoints,
    filter_pseudolabels,
    interval_confidence,
    teacher_scores,
)


def test_interval_confidence_is_the_share_of_the_interval_inside_the_class():
    conf = interval_confidence(np.array([2.0, 4.0, 7.0, 0.0, 26.0]), 1.0, BAND_BOUNDARIES)
    # [1,3] in 0-4.5 -> 1; [3,5] -> 1.5 of 2 inside; [6,8] in 4.5-9.5 -> 1; [0,1] (clipped) -> 1; [25,27] -> 1
    assert conf.tolist() == pytest.approx([1.0, 0.75, 1.0, 1.0, 1.0])
    assert interval_confidence(np.array([4.4]), 0.0, BAND_BOUNDARIES).tolist() == [1.0]


def test_class_midpoints_of_the_phq9_bands():
    assert class_midpoints(BAND_BOUNDARIES).tolist() == [2.0, 7.0, 12.0, 17.0, 23.5]


def test_confidence_filter_keeps_confident_rows_and_says_why_others_go():
    score = np.array([2.0, 4.4, 12.0, 20.0])
    conf = np.array([0.9, 0.5, 0.8, 0.79])
    fr = filter_pseudolabels(model_score=score, teacher=None, model_confidence=conf, min_confidence=0.8)
    assert fr.accepted.tolist() == [True, False, True, False]
    assert fr.reason == ["accepted", "low_confidence", "accepted", "low_confidence"]
    assert fr.reasons()["low_confidence"] == 2 and fr.n_accepted == 2
    assert fr.pseudolabel.tolist() == score.tolist()


def test_none_filter_keeps_everything_with_a_score():
    fr = filter_pseudolabels(model_score=np.array([1.0, 30.0]), teacher=None, model_confidence=np.zeros(2), how="none")
    assert fr.accepted.all()
    assert fr.pseudolabel.tolist() == [1.0, 27.0]  # clipped to the scale


def test_cap_keeps_the_most_confident_and_class_shares_split_it():
    score = np.array([1.0, 2.0, 3.0, 12.0, 13.0, 22.0])
    conf = np.array([0.5, 0.9, 0.7, 0.6, 0.95, 0.99])
    fr = filter_pseudolabels(model_score=score, teacher=None, model_confidence=conf, min_confidence=0, max_accept=3)
    assert np.flatnonzero(fr.accepted).tolist() == [1, 4, 5]
    assert fr.reasons()["over_cap"] == 3
    # shares: half minimal, half moderate -> the quota of 4 goes 2 + 2, none to severe
    shares = [0.5, 0.0, 0.5, 0.0, 0.0]
    fr = filter_pseudolabels(
        model_score=score, teacher=None, model_confidence=conf, min_confidence=0, max_accept=4, class_shares=shares
    )
    assert np.flatnonzero(fr.accepted).tolist() == [1, 2, 3, 4]


def test_hard_labels_snap_to_the_class_midpoint():
    fr = filter_pseudolabels(
        model_score=np.array([0.3, 11.0, 26.0]), teacher=None, model_confidence=np.ones(3), hard=True
    )
    assert fr.pseudolabel.tolist() == [2.0, 12.0, 23.5]


def _teacher(scores, status=None, confidence=None):
    ids = [f"u{i}" for i in range(len(scores))]
    frame = pd.DataFrame({"user_id": ids, "phq9_estimate": scores})
    if status is not None:
        frame["status"] = status
    if confidence is not None:
        frame["confidence"] = confidence
    return ids, teacher_scores(frame, ids, ["text"] * len(ids))


def test_agreement_filter_compares_teacher_and_model_and_records_teacher_failures():
    ids, t = _teacher([10.0, 10.0, math.nan, math.nan], status=["ok", "ok", "abstained", "failed"])
    model = np.array([12.0, 16.0, 10.0, 10.0])
    fr = filter_pseudolabels(model_score=model, teacher=t, model_confidence=None, how="agreement", agreement_tol=3)
    assert fr.reason == ["accepted", "disagreement", "teacher_abstained", "teacher_failed"]
    assert fr.pseudolabel[0] == 10.0  # auto source with a teacher: the teacher's total


def test_mean_source_averages_teacher_and_model_with_the_smaller_confidence():
    ids, t = _teacher([10.0, 20.0], confidence=[0.9, 0.4])
    fr = filter_pseudolabels(
        model_score=np.array([12.0, 18.0]), teacher=t, model_confidence=np.array([0.7, 0.9]), source="mean"
    )
    assert fr.pseudolabel.tolist() == [11.0, 19.0]
    assert fr.confidence.tolist() == [0.7, 0.4]
    assert fr.reason == ["low_confidence", "low_confidence"]


def test_agreement_without_teacher_is_a_config_error():
    with pytest.raises(ConfigError, match="agreement"):
        filter_pseudolabels(model_score=np.ones(2), teacher=None, model_confidence=None, how="agreement")


def test_teacher_forms_callable_mapping_sequence_and_recalibrated_column():
    ids = ["a", "b", "c"]
    t = teacher_scores(lambda texts: {k: float(len(v)) for k, v in texts.items() if k != "b"}, ids, ["xx", "y", "zzz"])
    assert t.score[[0, 2]].tolist() == [2.0, 3.0] and math.isnan(t.score[1])
    assert t.status == ["ok", "missing", "ok"]
    t = teacher_scores([1.0, float("nan"), 3.0], ids, ["", "", ""])
    assert t.status == ["ok", "abstained", "ok"]
    frame = pd.DataFrame({"user_id": ids, "phq9_estimate": [1, 2, 3], "phq9_recalibrated": [4, 5, 6]})
    t = teacher_scores(frame, ids, ["", "", ""])
    assert t.column == "phq9_recalibrated" and t.score.tolist() == [4, 5, 6]


def test_teacher_scores_outside_the_scale_or_misaligned_are_input_errors():
    with pytest.raises(InputError, match="outside 0-27"):
        teacher_scores([1.0, 40.0], ["a", "b"], ["", ""])
    with pytest.raises(InputError, match="2 scores for 3 users"):
        teacher_scores([1.0, 2.0], ["a", "b", "c"], ["", "", ""])
