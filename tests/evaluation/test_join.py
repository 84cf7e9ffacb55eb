"""Joining scores with questionnaires: missing users reported, bad inputs are clear errors."""

import numpy as np
import pytest

from phqwatch.errors import InputError
from phqwatch.evaluation.join import join, read_predictions
from phqwatch.transcripts import read_questionnaires


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def labels(tmp_path):
    return write(
        tmp_path / "phq9.csv",
        "user_id,date,phq9_total\na,2024-01-01,3\na,2024-02-01,12\nb,2024-02-01,20\nc,2024-02-01,7\n",
    )


def test_latest_questionnaire_and_missing_users_on_both_sides(tmp_path, labels):
    preds = write(
        tmp_path / "s.csv",
        "user_id,phq9_estimate,interval_low,interval_high,n_user_words,status\n"
        "a,10.5,7,14,800,ok\nb,,,,20,abstained\nz,4,1,7,300,ok\n",
    )
    j = join(read_predictions(preds), read_questionnaires(labels))
    assert j.join_on == "user_id" and "latest questionnaire" in j.join_note
    assert j.keys == ["a"] and j.y.tolist() == [12.0] and j.pred.tolist() == [10.5]
    s = j.summary()
    assert s["missing_predictions"] == {"count": 1, "ids": ["c"]}
    assert s["missing_labels"] == {"count": 1, "ids": ["z"]}
    assert s["abstained"] == {"count": 1, "ids": ["b"]} and s["coverage"] == 0.5
    assert s["older_questionnaires_ignored"] == 1


def test_dated_predictions_join_on_user_and_date(tmp_path, labels):
    preds = write(
        tmp_path / "s.jsonl",
        '{"user_id": "a", "date": "2024-01-01", "phq9_estimate": 4, "n_user_words": 100}\n'
        '{"user_id": "a", "date": "2024-02-01", "phq9_estimate": 11}\n'
        '{"user_id": "b", "date": "2024-02-01", "phq9_estimate": 18.5}\n',
    )
    j = join(read_predictions(preds), read_questionnaires(labels))
    assert j.join_on == "user_id+date"
    assert j.keys == ["a@2024-01-01", "a@2024-02-01", "b@2024-02-01"]
    assert j.y.tolist() == [3, 12, 20] and j.units.tolist() == [0, 0, 1]
    assert np.isnan(j.words[1]) and j.words[0] == 100
    assert j.summary()["missing_predictions"]["ids"] == ["c@2024-02-01"]


def test_no_shared_users_is_an_error(tmp_path, labels):
    preds = write(tmp_path / "s.csv", "user_id,phq9_estimate\nx,3\ny,4\n")
    with pytest.raises(InputError, match="share no users"):
        join(read_predictions(preds), read_questionnaires(labels))


def test_duplicate_user_rows_are_an_error(tmp_path, labels):
    preds = write(tmp_path / "s.csv", "user_id,phq9_estimate\na,3\nb,4\na,5\n")
    with pytest.raises(InputError, match="duplicate prediction rows") as exc:
        join(read_predictions(preds), read_questionnaires(labels), predictions_name=str(preds))
    assert "[2, 4]" in str(exc.value)


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ("a,28", "out of range"),
        ("a,-1", "out of range"),
        ("a,high", "not a number"),
        ("a,5,9,3", "interval_low 9 > interval_high 3"),
    ],
)
def test_bad_prediction_values_name_the_line(tmp_path, row, match):
    preds = write(tmp_path / "s.csv", "user_id,phq9_estimate,interval_low,interval_high\nb,3,,\n" + row + "\n")
    with pytest.raises(InputError, match=match) as exc:
        read_predictions(preds)
    assert "line 3" in str(exc.value)


def test_out_of_range_label_is_an_error(tmp_path):
    bad = write(tmp_path / "l.csv", "user_id,date,phq9_total\na,2024-01-01,30\n")
    with pytest.raises(InputError, match="out of range"):
        read_questionnaires(bad)


def test_all_abstained_is_an_error(tmp_path, labels):
    preds = write(tmp_path / "s.csv", "user_id,phq9_estimate,status\na,,abstained\nb,nan,ok\n")
    with pytest.raises(InputError, match="abstained"):
        join(read_predictions(preds), read_questionnaires(labels))
