"""The learned risk model as a folder: shipped inside the package, no pickle, small, reloadable, rebuildable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from phqwatch.errors import ModelFormatError, NotFittedError
from phqwatch.safety.context import Turn
from phqwatch.safety.model import DEFAULT_MODEL_DIR, RiskModel

PROBES = [
    "I already took everything in the medicine cabinet",
    "we had pizza and watched a film",
    "yeah every night",
    "我现在就在天台上",
    "this boss fight is killing me lol",
]
PROBE_CONTEXT = [(), (), (Turn("assistant", "Are you thinking about hurting yourself?"),), (), ()]


def _tiny() -> RiskModel:
    texts = [
        "i want to die",
        "i will kill myself tonight",
        "lovely walk today",
        "dinner with mum",
        "我想死",
        "今天很开心",
    ]
    sev = ["urgent", "imminent", "none", "none", "high", "none"]
    cats = [["suicide"], ["suicide"], [], [], ["suicide"], []]
    return RiskModel().fit(texts, [()] * len(texts), sev, cats)


def test_shipped_folder_is_complete_small_and_pickle_free() -> None:
    folder = DEFAULT_MODEL_DIR()
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "weights.safetensors", "README.md"} <= names
    assert not any(p.suffix in (".pkl", ".pickle", ".joblib", ".pt", ".bin") for p in folder.iterdir())
    assert sum(p.stat().st_size for p in folder.iterdir()) < 50 * 1024 * 1024
    cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert cfg["name"] == "risk-ngram" and 0 < cfg["flag_threshold"] < 1
    card = (folder / "README.md").read_text(encoding="utf-8")
    for needed in ("Training data", "C-SSRS", "Leave-one-writer-out", "Known failure modes", "research use"):
        assert needed in card, needed


def test_save_and_load_give_identical_scores(tmp_path: Path) -> None:
    model = _tiny()
    model.flag_threshold = 0.4
    folder = model.save(tmp_path / "risk")
    again = RiskModel.load(folder)
    texts = ["i want to die", "lovely walk"]
    # float16 weights on disk: scores agree to a few decimals
    assert np.allclose(model.score(texts), again.score(texts), atol=2e-3)
    assert again.flag_threshold == 0.4
    assert [o.severity for o in again.predict(texts)] == [o.severity for o in model.predict(texts)]


def test_clear_errors_for_unfitted_and_bad_folders(tmp_path: Path) -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        RiskModel().score(["hello"])
    with pytest.raises(ModelFormatError, match="not a risk-model folder"):
        RiskModel.load(tmp_path)
    folder = _tiny().save(tmp_path / "m")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["name"] = "something-else"
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelFormatError, match="expected 'risk-ngram'"):
        RiskModel.load(folder)


def test_empty_input_scores_nothing() -> None:
    model = _tiny()
    assert model.score([]).shape == (0,) and model.predict([]) == []


@pytest.mark.slow
def test_a_rebuild_scores_like_the_shipped_model(tmp_path: Path) -> None:
    """`phqwatch safety train` with the defaults (seed 0) rebuilds the shipped model."""
    from phqwatch.datasets.proxy import data_root
    from phqwatch.errors import DatasetUnavailableError
    from phqwatch.safety.train import TrainConfig, save_with_card, train_risk_model

    try:
        data_root()
    except DatasetUnavailableError:
        pytest.skip("the shared data (../shared/data) is not here: the shipped model was trained with it")
    # The defaults with the leave-one-writer-out evaluation off (it only reports; the threshold is fixed).
    model, report = train_risk_model(config=TrainConfig(lowo=False))
    rebuilt = RiskModel.load(save_with_card(model, report, tmp_path / "rebuilt"))
    shipped = RiskModel.load(DEFAULT_MODEL_DIR())
    assert rebuilt.flag_threshold == shipped.flag_threshold
    assert np.allclose(rebuilt.score(PROBES, PROBE_CONTEXT), shipped.score(PROBES, PROBE_CONTEXT), atol=1e-3)
