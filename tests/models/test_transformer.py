"""TransformerEstimator on tiny random backbones built from configs (no download, a few seconds on CPU)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
pytest.importorskip("accelerate")

import torch  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

from phqwatch.errors import InputError, ModelFormatError  # noqa: E402
from phqwatch.models import load_model  # noqa: E402
from phqwatch.models.transformer import TransformerEstimator  # noqa: E402
from phqwatch.models.transformer.chunking import chunks, head_tail  # noqa: E402
from phqwatch.models.transformer.pooling import last_token_pool, mean_pool, pool_chunks  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from tiny_backbones import build_tiny_bert, build_tiny_qwen3  # noqa: E402

SAD = "tired sad hopeless empty worthless crying alone cannot sleep".split()
OK = "fine good happy calm okay friends family work".split()


def make_data(n: int, seed: int = 0) -> tuple[list[str], list[float], list[list[int]]]:
    """Texts whose share of low-mood words tracks the label (so a model can learn it)."""
    rng = random.Random(seed)
    X, y, items = [], [], []
    for _ in range(n):
        s = rng.random()
        words = [rng.choice(SAD) if rng.random() < s else rng.choice(OK) for _ in range(rng.randint(20, 70))]
        X.append(" ".join(words))
        y.append(round(27 * s, 1))
        items.append([min(3, round(3 * s + rng.uniform(-0.4, 0.4))) for _ in range(9)])
    return X, y, items


@pytest.fixture(scope="module")
def qwen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen3(tmp_path_factory.mktemp("qwen3") / "tiny-qwen3")


@pytest.fixture(scope="module")
def data() -> tuple[list[str], list[float], list[list[int]]]:
    return make_data(48)


@pytest.fixture(scope="module")
def fitted(qwen_dir: Path, data) -> TransformerEstimator:
    X, y, _ = data
    model = TransformerEstimator(
        str(qwen_dir), epochs=8, batch_size=8, learning_rate=3e-3, head_learning_rate=1e-2, max_length=64, min_words=5
    )
    return model.fit(X, y)


# ---- pure parts -------------------------------------------------------------------------------
def test_import_does_not_load_torch() -> None:
    code = "import sys, phqwatch.models, phqwatch.models.transformer; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_last_token_pool_right_and_left_padding() -> None:
    hidden = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)
    right = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    left = torch.tensor([[0, 0, 1, 1, 1], [0, 1, 1, 1, 1]])
    assert torch.equal(last_token_pool(hidden, right), torch.stack([hidden[0, 2], hidden[1, 4]]))
    assert torch.equal(last_token_pool(hidden, left), torch.stack([hidden[0, 4], hidden[1, 4]]))


def test_mean_pool_ignores_padding_and_chunks_average_per_document() -> None:
    hidden = torch.tensor([[[1.0], [3.0], [100.0]], [[2.0], [2.0], [2.0]]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert mean_pool(hidden, mask).flatten().tolist() == [2.0, 2.0]
    vecs = torch.tensor([[1.0], [3.0], [10.0]])
    assert pool_chunks(vecs, torch.tensor([0, 0, 1]), 2).flatten().tolist() == [2.0, 10.0]


def test_head_tail_keeps_start_and_most_recent_end() -> None:
    ids = list(range(100))
    assert head_tail(ids[:10], 20, 0.25) == ids[:10]
    kept = head_tail(ids, 20, 0.25)
    assert kept == ids[:5] + ids[-15:]


def test_chunks_cover_the_text_and_cap_evenly() -> None:
    ids = list(range(50))
    parts = chunks(ids, 10, 2, max_chunks=100)
    assert all(len(p) <= 10 for p in parts)
    assert parts[0][0] == 0 and parts[-1][-1] == 49
    assert sorted({i for p in parts for i in p}) == ids
    capped = chunks(ids, 10, 0, max_chunks=3)
    assert len(capped) == 3 and capped[0] == ids[:10] and capped[-1] == ids[40:]


# ---- the estimator on a tiny Qwen3 ---------------------------------------------------------------
def test_training_lowers_the_loss(fitted: TransformerEstimator, data) -> None:
    X, y, _ = data
    hist = fitted.loss_history_
    assert len(hist) == 8 and hist[-1] < 0.5 * hist[0]
    mse = float(np.mean((fitted.predict(X) - np.asarray(y)) ** 2))
    assert mse < 0.5 * float(np.var(y)), "fitted model should beat predicting the mean"
    assert fitted.kind_ == "decoder" and fitted.pooling_ == "last"


def test_save_load_gives_identical_predictions(fitted: TransformerEstimator, data, tmp_path: Path) -> None:
    X, _, _ = data
    folder = fitted.save(tmp_path / "m", metadata={"version": "test"})
    assert {"config.json", "README.md", "weights.safetensors", "tokenizer", "backbone"} <= {
        p.name for p in folder.iterdir()
    }
    arrays = load_file(str(folder / "weights.safetensors"))
    assert any(k.startswith("head.") for k in arrays) and any(k.startswith("lora.") for k in arrays)
    assert not list((folder / "backbone").glob("*.safetensors")), "LoRA folders reference the frozen base"
    config = json.loads((folder / "config.json").read_text())
    assert config["estimator"] == "transformer" and config["state"]["lora_config_"]["r"] == 16
    loaded = load_model(folder)
    assert isinstance(loaded, TransformerEstimator)
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    assert loaded.model_id == "transformer@test"


def test_left_and_right_padding_give_the_same_predictions(fitted: TransformerEstimator, data) -> None:
    X, _, _ = data
    assert fitted.padding_side_ == "left"  # the tiny tokenizer pads left, like Qwen's chat tokenizers
    left = fitted.predict(X)
    try:
        fitted.padding_side_, fitted._cache = "right", None
        right = fitted.predict(X)
    finally:
        fitted.padding_side_, fitted._cache = "left", None
    np.testing.assert_allclose(left, right, atol=1e-4)


def test_estimate_gives_clipped_estimates_with_intervals(fitted: TransformerEstimator, data) -> None:
    pytest.importorskip("phqwatch.models.evidence")  # evidence sentences come from the CPU model's lexicon
    X, y, _ = data
    fitted.calibrate_interval(X[:24], y[:24])
    out = fitted.estimate(X[24:30] + ["too short"])
    assert [e.status for e in out] == ["ok"] * 6 + ["abstained"]
    for e in out[:6]:
        assert 0 <= e.interval_low <= e.phq9_estimate <= e.interval_high <= 27


def test_hub_id_without_local_files_is_a_clear_error(data) -> None:
    X, y, _ = data
    with pytest.raises(ModelFormatError, match="hub id") as err:
        TransformerEstimator("Qwen/Qwen3-0.6B").fit(X, y)
    assert "local" in str(err.value) and "huggingface-cli download" in str(err.value)


def test_moved_backbone_is_a_clear_error(data, tmp_path: Path) -> None:
    X, y, _ = data
    backbone = build_tiny_qwen3(tmp_path / "bb")
    model = TransformerEstimator(str(backbone), epochs=1, max_length=32, finetune="head").fit(X[:8], y[:8])
    folder = model.save(tmp_path / "m")
    shutil.rmtree(backbone)
    with pytest.raises(ModelFormatError, match="not a local folder"):
        load_model(folder)


def test_item_heads_need_item_labels(qwen_dir: Path, data) -> None:
    X, y, _ = data
    with pytest.raises(InputError, match="item labels"):
        TransformerEstimator(str(qwen_dir), item_heads=True, epochs=1).fit(X[:4], y[:4])


# ---- an encoder, multi-task items, chunk-and-pool, full fine-tuning -------------------------------
def test_encoder_full_finetune_with_items_and_chunks_is_self_contained(data, tmp_path: Path) -> None:
    X, y, items = data
    backbone = build_tiny_bert(tmp_path / "bert")
    long_X = [" ".join([t] * 3) for t in X]  # ~60-210 words -> several 32-token chunks each
    model = TransformerEstimator(
        str(backbone),
        finetune="full",
        item_heads=True,
        long_text="chunk",
        max_length=32,
        chunk_overlap=4,
        max_chunks=4,
        epochs=6,
        batch_size=8,
        learning_rate=1e-3,
        head_learning_rate=1e-2,
        loss="mse",
    )
    items[0] = [None] * 9  # unknown items are masked out of the loss
    model.fit(long_X, y, items=items)
    assert model.kind_ == "encoder" and model.pooling_ == "mean"
    docs = model._encode_texts(long_X[:3])
    assert all(1 < len(d) <= 4 and all(len(s) <= 32 for s in d) for d in docs)
    assert model.loss_history_[-1] < model.loss_history_[0]
    pred_items = model.predict_items(long_X)
    assert pred_items.shape == (len(X), 9) and pred_items.min() >= 0 and pred_items.max() <= 3
    folder = model.save(tmp_path / "m")
    assert list((folder / "backbone").glob("*.safetensors")), "full fine-tuning stores the whole backbone"
    shutil.rmtree(backbone)  # the folder must load without the original backbone
    loaded = load_model(folder)
    np.testing.assert_array_equal(loaded.predict(long_X), model.predict(long_X))
    np.testing.assert_array_equal(loaded.predict_items(long_X), pred_items)
    assert loaded.predict(["happy calm fine " * 4])[0] >= 0
