"""The transformer estimator's config objects: checked groups, the flat keywords of earlier versions,
get_params/set_params/clone, and config.json round trips (new folders, and folders saved with flat keys)."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from phqwatch.errors import InputError
from phqwatch.models.transformer import (
    ChunkingConfig,
    HeadConfig,
    LoraConfig,
    OptimConfig,
    RuntimeConfig,
    TransformerEstimator,
)
from phqwatch.models.transformer.config import FLAT_PARAMS, GROUPS

sys.path.insert(0, str(Path(__file__).parent))
from tiny_backbones import WORDS, build_tiny_bert  # noqa: E402

#: The hyperparameters as the flat config.json of earlier versions wrote them (every key, old defaults).
OLD_FLAT_PARAMS = {
    "backbone": "",
    "pooling": "auto",
    "max_length": 512,
    "long_text": "chunk",
    "head_fraction": 0.25,
    "chunk_overlap": 32,
    "max_chunks": 16,
    "item_heads": False,
    "item_weight": 0.5,
    "loss": "huber",
    "huber_delta": 1.0,
    "finetune": "lora",
    "lora_r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.05,
    "lora_target_modules": "all-linear",
    "learning_rate": 2e-4,
    "head_learning_rate": 1e-3,
    "weight_decay": 0.01,
    "epochs": 3,
    "batch_size": 8,
    "grad_accum_steps": 1,
    "warmup_ratio": 0.1,
    "max_grad_norm": 1.0,
    "dropout": 0.1,
    "bf16": "auto",
    "gradient_checkpointing": "auto",
    "attn_implementation": "sdpa",
    "padding_side": "auto",
    "device": "auto",
    "predict_batch_size": 16,
    "embed_backbone": False,
    "seed": 0,
    "progress": False,
    "min_words": 50,
    "coverage": 0.8,
}


def test_every_old_flat_keyword_has_a_home_and_the_same_default() -> None:
    model = TransformerEstimator()
    for key, value in OLD_FLAT_PARAMS.items():
        if key in FLAT_PARAMS:
            group, field = FLAT_PARAMS[key]
            assert getattr(getattr(model, group), field) == value, key
        elif key != "min_words":  # the package-wide default lives in config.DEFAULT_MIN_WORDS
            assert getattr(model, key) == value, key
    assert set(model.get_params()) == {"backbone", "finetune", *GROUPS, "seed", "min_words", "coverage"}


def test_groups_are_checked_when_built() -> None:
    with pytest.raises(InputError, match="long_text must be one of"):
        ChunkingConfig(long_text="truncate")
    with pytest.raises(InputError, match="max_length must be >= 8"):
        ChunkingConfig(max_length=4)
    with pytest.raises(InputError, match="pooling"):
        HeadConfig(pooling="cls")
    with pytest.raises(InputError, match="bf16"):
        RuntimeConfig(bf16="yes")
    with pytest.raises(InputError, match="max_chunks"):
        TransformerEstimator(max_chunks=0)  # the flat keyword builds the group, which checks it
    with pytest.raises(TypeError, match="unexpected keyword"):
        TransformerEstimator(max_len=64)
    assert LoraConfig(target_modules=["q_proj", "v_proj"]).target_modules == ("q_proj", "v_proj")
    with pytest.raises(InputError, match="finetune must be one of"):
        TransformerEstimator("x", finetune="prefix").fit(["a b c", "d e f"], [1.0, 2.0])


def test_flat_keywords_and_groups_say_the_same_thing() -> None:
    flat = TransformerEstimator("bb", max_length=64, epochs=2, lora_r=4, device="cpu", item_heads=True)
    grouped = TransformerEstimator(
        "bb",
        chunking=ChunkingConfig(max_length=64),
        optim=OptimConfig(epochs=2),
        lora=LoraConfig(r=4),
        runtime=RuntimeConfig(device="cpu"),
        head=HeadConfig(item_heads=True),
    )
    assert flat.get_params() == grouped.get_params()
    assert TransformerEstimator.accepted_keywords() >= {"chunking", "max_length", "lora_r", "progress"}


def test_set_params_takes_groups_or_flat_keywords_and_clone_round_trips() -> None:
    from sklearn.base import clone

    model = TransformerEstimator("bb", optim=OptimConfig(epochs=5))
    model.set_params(max_chunks=4, learning_rate=1e-5)
    assert model.chunking.max_chunks == 4 and model.optim == OptimConfig(epochs=5, learning_rate=1e-5)
    model.set_params(head=HeadConfig(loss="mse"), seed=3)
    assert model.head.loss == "mse" and model.seed == 3
    with pytest.raises(ValueError, match="Unknown parameter"):
        model.set_params(max_chunk=4)
    twin = clone(model)
    assert twin is not model and twin.get_params() == model.get_params()


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[TransformerEstimator, list[str]]:
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    backbone = build_tiny_bert(tmp_path_factory.mktemp("cfg") / "bert")
    rng = np.random.default_rng(0)
    words = sorted(WORDS)
    X = [" ".join(rng.choice(words, size=20)) for _ in range(16)]
    y = rng.integers(0, 28, size=16).astype(float)
    model = TransformerEstimator(
        str(backbone),
        chunking=ChunkingConfig(max_length=24),
        optim=OptimConfig(epochs=1),
        lora=LoraConfig(r=2, target_modules=["query", "value"]),
        runtime=RuntimeConfig(device="cpu"),
        min_words=5,
    )
    return model.fit(X, y), X


def test_config_json_keeps_one_object_per_group_and_loads_back(fitted, tmp_path: Path) -> None:
    from phqwatch.models import load_model

    model, X = fitted
    folder = model.save(tmp_path / "m")
    params = json.loads((folder / "config.json").read_text())["params"]
    assert params["chunking"]["max_length"] == 24 and params["lora"]["target_modules"] == ["query", "value"]
    loaded = load_model(folder)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=0, atol=1e-6)


def test_a_folder_saved_with_flat_keys_still_loads(fitted, tmp_path: Path) -> None:
    """Folders written before the config groups hold every hyperparameter flat; they load unchanged."""
    from phqwatch.models import load_model

    model, X = fitted
    folder = model.save(tmp_path / "old")
    config = json.loads((folder / "config.json").read_text())
    old = {**OLD_FLAT_PARAMS, "backbone": model.backbone, "max_length": 24, "epochs": 1, "lora_r": 2}
    old.update({"lora_target_modules": ["query", "value"], "device": "cpu", "min_words": 5})
    config["params"] = old
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    loaded = load_model(folder)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=0, atol=1e-6)
    assert dataclasses.asdict(loaded.lora) == {
        "r": 2,
        "alpha": 32,
        "dropout": 0.05,
        "target_modules": ("query", "value"),
    }
