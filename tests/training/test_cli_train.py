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
    params = cfg["params"]  # one object per config group
    assert params["lora"]["r"] == 2 and params["chunking"]["max_length"] == 16 and params["optim"]["epochs"] == 1
    assert params["chunking"]["long_text"] == "chunk" and params["chunking"]["max_chunks"] == 4
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


def test_train_on_administered_transcripts_writes_a_card_with_test_metrics(tmp_path: Path) -> None:
    from phqwatch.datasets.synthetic import write_examples

    t, q = write_examples(tmp_path / "admin", n_users=30, seed=5)
    out = tmp_path / "m"
    res = CliRunner().invoke(cli, ["train", "--transcripts", str(t), "--labels", str(q), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "[test] administered" in res.output and "administered PHQ-9 totals" in res.output
    meta = json.loads((out / "config.json").read_text(encoding="utf-8"))["metadata"]
    m = meta["metrics"]["administered"]
    assert m["n_test"] > 0 and 0 <= m["mae"] <= 27 and round(m["mae"], 4) != m["mae"]  # full precision
    assert "## Metrics" in (out / "README.md").read_text(encoding="utf-8")
    assert load_model(out).predict(["i feel tired and hopeless most days " * 10])[0] >= 0


def test_selftrain_ensemble_folder_loads_as_a_model(tmp_path: Path) -> None:
    """`selftrain --ensemble` wrote a folder load_model could not read (MeanEnsemble was not registered)."""
    from phqwatch.datasets.synthetic import write_examples
    from phqwatch.models.ensemble import MeanEnsemble

    t, q = write_examples(tmp_path / "admin", n_users=24, seed=5)
    u, _ = write_examples(tmp_path / "unl", n_users=10, seed=9)
    out = tmp_path / "st"
    args = ["selftrain", "--transcripts", t, "--labels", q, "--unlabeled", u, "--out", out, "--no-teacher"]
    args += ["--rounds", "1", "--min-confidence", "0", "--n-boot", "20", "--patience", "2", "--ensemble"]
    args += ["--metric", "mae"]
    res = CliRunner().invoke(cli, [str(a) for a in args], env={"PHQWATCH_TEACHER_BASE_URL": ""})
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "skipped" not in summary["ensemble"], summary["ensemble"]
    model = load_model(out / "ensemble")
    assert isinstance(model, MeanEnsemble) and len(model.members) == 2
    assert 0 <= model.predict(["i feel tired and hopeless most days " * 10])[0] <= 27
