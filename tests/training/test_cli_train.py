"""`phqwatch train` end to end: the transformer on project-written proxy files and a tiny local backbone."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from phqwatch.cli import cli
from phqwatch.datasets import load_dataset
from phqwatch.models import load_model

from .proxy_files import write_proxy_sets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_proxy_sets(tmp_path_factory.mktemp("proxy"), per_class=12)


def test_train_transformer_on_all_sets_end_to_end(data_dir: Path, tmp_path: Path) -> None:
    """It used to crash in build_default (anchor_, predict_latent, train_oof_latent_ were CPU-only) and
    trained on raw codes mixed across sets."""
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    from tiny_backbones import build_tiny_bert

    backbone = build_tiny_bert(tmp_path / "tiny-bert")
    out = tmp_path / "model"
    args = ["train", "--dataset", "all", "--estimator", "transformer", "--backbone", str(backbone)]
    args += ["--epochs", "1", "--max-length", "16", "--long-text", "chunk", "--max-chunks", "4"]
    args += ["--batch-size", "8", "--lora-rank", "2", "--limit-train", "12", "--n-boot", "10"]
    args += ["--data-dir", str(data_dir), "--out", str(out), "--no-progress"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "one head per set" in res.output and "[test] reddit_dr" in res.output
    cfg = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert cfg["estimator"] == "transformer"
    assert cfg["params"]["lora_r"] == 2 and cfg["params"]["max_length"] == 16 and cfg["params"]["epochs"] == 1
    assert cfg["params"]["long_text"] == "chunk" and cfg["params"]["max_chunks"] == 4
    assert cfg["state"]["sources_"] == ["depseverity", "lt_edi", "reddit_dr"]
    assert cfg["state"]["anchor_"] == "depseverity"
    rebuild = cfg["metadata"]["rebuild"]
    assert rebuild.startswith("phqwatch train --dataset all") and "--estimator transformer" in rebuild
    assert "--lora-rank 2" in rebuild and "--backbone tiny-bert" in rebuild and str(tmp_path) not in rebuild
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "## Metrics" in card and "own head" in card and "one head per set" in card
    model = load_model(out)
    texts = load_dataset("lt_edi", data_dir).texts[:6]
    pred = model.predict(texts)
    assert np.all((pred >= 0) & (pred <= 27))
    assert model.predict_latent(texts, "lt_edi").shape == (6,)
    assert all(u["n_used"] == u["n_tokens"] for u in model.token_usage(texts))  # posts read whole


def test_transformer_options_are_refused_for_other_estimators(data_dir: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["train", "--dataset", "all", "--epochs", "2", "--data-dir", str(data_dir), "--out", str(tmp_path / "m")]
    )
    assert res.exit_code != 0
    assert "--epochs does not apply to --estimator lexical-ridge" in res.output
    assert not (tmp_path / "m").exists()
