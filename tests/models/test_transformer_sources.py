"""Per-source heads and long-text chunking of the transformer estimator (pure parts + a tiny BERT)."""

from __future__ import annotations

import dataclasses
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from phqwatch.errors import InputError
from phqwatch.models.cpu import CpuEstimator
from phqwatch.models.transformer.chunking import chunk_spans, coverage
from phqwatch.models.transformer.sources import phq9_knots, source_targets

sys.path.insert(0, str(Path(__file__).parent))
from tiny_backbones import build_tiny_bert  # noqa: E402


def test_targets_are_standardised_within_each_source_and_never_mixed() -> None:
    y = np.array([0, 1, 2, 3, 0, 1, 0, 2.0])
    names, z, stats = source_targets(y, ["a"] * 4 + ["b"] * 4)
    assert names == ["a", "b"] and z.shape == (8, 2)
    assert np.isnan(z[:4, 1]).all() and np.isnan(z[4:, 0]).all()  # loss only on a row's own source
    assert np.allclose(np.nanmean(z, axis=0), 0) and np.allclose(np.nanstd(z, axis=0), 1)
    assert stats["a"]["n_classes"] == 4 and stats["b"]["n_classes"] == 3
    with pytest.raises(InputError, match="single label"):
        source_targets(np.array([1.0, 1.0]), ["a", "a"])
    with pytest.raises(InputError, match="not ordinal codes"):
        source_targets(np.array([0.5, 1.0]), ["a", "a"])


def test_phq9_knots_are_the_cpu_defaults_map() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 300)
    latent = labels + rng.normal(0, 0.8, 300)
    ours = phq9_knots(latent, labels, (4.5, 9.5, 14.5))
    cpu = CpuEstimator._phq9_scale(latent, labels, "depseverity")
    assert ours == cpu


def test_chunk_coverage_counts_what_is_read() -> None:
    assert chunk_spans(30, 10, 2, 100) == [(0, 10), (8, 18), (16, 26), (24, 30)]
    assert coverage(30, 10, mode="chunk", overlap=2, max_chunks=100) == 30
    assert coverage(30, 10, mode="chunk", overlap=0, max_chunks=2) == 20  # first and last chunk only
    assert coverage(30, 10, mode="head_tail", overlap=0, max_chunks=1) == 10


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    from phqwatch.models.transformer import TransformerEstimator

    backbone = build_tiny_bert(tmp_path_factory.mktemp("src") / "bert")
    rng = random.Random(0)
    sad, ok = "tired sad hopeless empty worthless".split(), "fine good happy calm okay".split()
    X, codes, sources = [], [], []
    for i in range(48):
        k = rng.randint(0, 3) if i < 24 else rng.randint(0, 1)
        share = k / 3 if i < 24 else 0.2 + 0.6 * k
        X.append(" ".join(rng.choice(sad) if rng.random() < share else rng.choice(ok) for _ in range(30)))
        codes.append(k)
        sources.append("depseverity" if i < 24 else "reddit_dr")
    model = TransformerEstimator(
        str(backbone), finetune="head", epochs=30, batch_size=8, head_learning_rate=5e-2, max_length=16, min_words=5
    )
    return model.fit(X, codes, sources=sources), X, np.array(codes), np.array(sources)


def test_source_heads_rank_their_own_labels_and_map_onto_phq9(fitted) -> None:
    from scipy.stats import spearmanr

    model, X, codes, sources = fitted
    assert model.sources_ == ["depseverity", "reddit_dr"] and model.anchor_ == "depseverity"
    assert tuple(model.model_.head.total.weight.shape) == (2, model.hidden_size_)
    for name in model.sources_:
        rows = sources == name
        own = model.predict_latent([x for x, r in zip(X, rows, strict=True) if r], name)
        assert spearmanr(codes[rows], own)[0] > 0.5
    latent = model.predict_latent(X)
    pred = model.predict(X)
    order = np.argsort(latent)
    assert np.all(np.diff(pred[order]) >= -1e-9), "the PHQ-9 output is non-decreasing in the combined latent"
    assert pred.min() >= 0 and pred.max() <= 27 and pred.max() - pred.min() > 5
    with pytest.raises(InputError, match="no head named"):
        model.predict_latent(X[:2], "lt_edi")


def test_long_texts_are_chunked_not_truncated(fitted) -> None:
    model, X, _, _ = fitted
    long_text = " ".join(X)  # 1,440 tokens against a 16-token window
    budget = model._wrap()[2]
    assert model.chunking.long_text == "chunk"
    model.set_params(chunk_overlap=0)  # the flat keyword replaces that field of model.chunking
    try:
        use = model.token_usage([long_text, X[0]])
        assert use[0]["n_tokens"] == 1440 and use[1]["n_used"] == use[1]["n_tokens"]
        assert use[0]["n_used"] == 16 * budget  # capped at max_chunks, and reported
        model.set_params(chunking=dataclasses.replace(model.chunking, max_chunks=128))
        assert model.token_usage([long_text])[0]["n_used"] == 1440
        assert len(model._encode_texts([long_text])[0]) == -(-1440 // budget)  # every chunk, pooled
    finally:
        model.set_params(max_chunks=16, chunk_overlap=32)
