import json

import pytest

from phqwatch.errors import ModelFormatError
from phqwatch.models import conformal_quantile, estimator_class, load_model
from phqwatch.models.registry import read_config


def test_missing_folder_and_config(tmp_path):
    with pytest.raises(ModelFormatError, match="does not exist"):
        load_model(tmp_path / "nope")
    with pytest.raises(ModelFormatError, match="no config.json"):
        load_model(tmp_path)


def test_bad_json_and_format_version(tmp_path):
    (tmp_path / "config.json").write_text("{oops")
    with pytest.raises(ModelFormatError, match="not valid JSON"):
        read_config(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"format_version": 99, "estimator": "lexical-ridge"}))
    with pytest.raises(ModelFormatError, match="format_version 99"):
        read_config(tmp_path)


def test_unknown_estimator_names_cannot_import_arbitrary_code(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"format_version": 1, "estimator": "os:system"}))
    with pytest.raises(ModelFormatError, match="Unknown estimator 'os:system'"):
        load_model(tmp_path)
    with pytest.raises(ModelFormatError):
        estimator_class("pickle")


def test_conformal_quantile_is_the_finite_sample_corrected_rank():
    residuals = list(range(1, 11))  # n=10, coverage 0.8 -> ceil(11*0.8)=9th smallest
    assert conformal_quantile(residuals, 0.8) == 9.0
    assert conformal_quantile([5.0], 0.8) == 5.0
