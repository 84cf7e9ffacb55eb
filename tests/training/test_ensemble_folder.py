"""Ensembles are models: `selftrain --ensemble` folders load with `load_model` (they used not to)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from phqwatch.errors import ModelFormatError
from phqwatch.models import load_model
from phqwatch.models.cpu import CpuEstimator
from phqwatch.models.ensemble import MeanEnsemble
from phqwatch.training.ensemble import load_ensemble


@pytest.fixture(scope="module")
def members(users):
    _, texts, y = users
    a = CpuEstimator(min_words=5, n_folds=2, min_df=1).fit(texts[:20], y[:20])
    b = CpuEstimator(min_words=5, n_folds=2, min_df=1).fit(texts[20:40], y[20:40])
    return a, b, texts[40:]


def test_saved_ensemble_loads_with_load_model(members, tmp_path) -> None:
    a, b, probe = members
    ens = MeanEnsemble([a, b], weights=[3, 1])
    ens.calibrate_interval(probe, np.full(len(probe), 10.0))
    folder = ens.save(tmp_path / "ensemble", metadata={"version": "t"})
    cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert cfg["estimator"] == "mean-ensemble" and cfg["state"]["members_"] == ["member_0", "member_1"]
    assert (folder / "README.md").is_file() and (folder / "member_1" / "config.json").is_file()
    back = load_model(folder)
    assert isinstance(back, MeanEnsemble) and back.weights == [3.0, 1.0]
    np.testing.assert_allclose(back.predict(probe), ens.predict(probe), rtol=0, atol=1e-6)  # float32 n-gram weights
    assert back.conformal_q_ == ens.conformal_q_ and back.model_id == "mean-ensemble@t"
    assert isinstance(load_ensemble(folder), MeanEnsemble)


def test_legacy_ensemble_json_folders_still_load(members, tmp_path) -> None:
    a, b, probe = members
    folder = tmp_path / "old"
    a.save(folder / "member_0")
    b.save(folder / "member_1")
    spec = {"estimator": "mean-ensemble", "members": ["member_0", "member_1"], "weights": [0.5, 0.5]}
    spec |= {"min_words": 50, "coverage": 0.8, "conformal_q_": 4.0, "metadata": {}}
    (folder / "ensemble.json").write_text(json.dumps(spec), encoding="utf-8")
    back = load_model(folder)
    np.testing.assert_allclose(back.predict(probe), np.clip((a.predict(probe) + b.predict(probe)) / 2, 0, 27))
    assert back.conformal_q_ == 4.0


def test_missing_member_folder_is_a_clear_error(members, tmp_path) -> None:
    a, b, _ = members
    folder = MeanEnsemble([a, b]).save(tmp_path / "e")
    import shutil

    shutil.rmtree(folder / "member_1")
    with pytest.raises(ModelFormatError, match="lacks the member folder"):
        load_model(folder)
    with pytest.raises(ModelFormatError, match="not a mean-ensemble"):
        load_ensemble(folder / "member_0")
