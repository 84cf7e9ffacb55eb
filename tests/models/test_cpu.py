"""lexical-ridge (the default estimator, class CpuEstimator): estimator contract, per-source ordinal heads,
conformal intervals, items, the folder format and the shipped model. Small project-written synthetic texts only."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from phqwatch.datasets.synthetic import EXAMPLES_DIR
from phqwatch.errors import InputError, NotFittedError
from phqwatch.models import DEFAULT_MODEL_DIR, load_model
from phqwatch.models.cpu import CpuEstimator, spread_items

NEUTRAL = [
    "We went to the market on Saturday.",
    "The weather was mild and the bus was on time.",
    "I watched a documentary about whales.",
    "My sister visited and we cooked soup.",
    "Work had a few meetings this week.",
    "I tidied the garage and fixed a shelf.",
]
SYMPTOM = [
    "I feel hopeless and empty most days.",
    "I can't sleep and lie awake until 4am.",
    "I'm exhausted all the time and have no energy.",
    "Nothing is fun anymore, I lost interest in everything.",
    "I feel worthless, like a burden and a failure.",
    "I can't concentrate on anything at work.",
]


def corpus(n: int, n_classes: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Texts whose share of symptom sentences grows with the label (0..n_classes-1)."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        y = i % n_classes
        p = 0.1 + 0.8 * y / max(n_classes - 1, 1)
        sents = [rng.choice(SYMPTOM) if rng.random() < p else rng.choice(NEUTRAL) for _ in range(14)]
        texts.append(" ".join(sents))
        labels.append(y)
    return texts, np.asarray(labels)


SMALL = {"ngram_alphas": (1.0,), "n_folds": 3}


@pytest.fixture(scope="module")
def fitted() -> tuple[CpuEstimator, list[str], np.ndarray]:
    a_x, a_y = corpus(60, 4, seed=1)
    b_x, b_y = corpus(40, 2, seed=2)
    model = CpuEstimator(**SMALL, anchor_source="alpha")
    model.fit(a_x + b_x, np.concatenate([a_y, b_y]), sources=["alpha"] * 60 + ["beta"] * 40)
    return model, a_x, a_y


def test_contract_fit_returns_self_unfitted_raises_and_params() -> None:
    m = CpuEstimator(**SMALL)
    with pytest.raises(NotFittedError):
        m.predict(["text"])
    x, y = corpus(30, 3, seed=3)
    assert m.fit(x, y * 9) is m
    assert m.get_params()["n_folds"] == 3
    assert m.set_params(min_words=10) is m and m.min_words == 10
    with pytest.raises(ValueError):
        m.set_params(nonsense=1)
    pred = m.predict(x + ["x " * 5])
    assert pred.min() >= 0 and pred.max() <= 27
    with pytest.raises(InputError, match="empty"):  # the estimator contract: no guess from no text
        m.predict(x + [""])


def test_regression_mode_learns_the_ranking() -> None:
    x, y = corpus(90, 4, seed=4)
    totals = y * 7.0
    m = CpuEstimator(**SMALL).fit(x, totals)
    tx, ty = corpus(40, 4, seed=5)
    assert m.mode_ == "regression"
    assert spearmanr(ty, m.predict(tx))[0] > 0.6
    with pytest.raises(InputError):
        CpuEstimator(**SMALL).fit(x, totals + 30)


def test_per_source_heads_keep_their_own_cut_points(fitted) -> None:
    model, a_x, a_y = fitted
    assert set(model.heads_) == {"alpha", "beta"}
    assert len(model.heads_["alpha"]["cuts"]) == 3 and len(model.heads_["beta"]["cuts"]) == 1
    assert np.all(np.diff(model.heads_["alpha"]["cuts"]) > 0)
    tx, ty = corpus(40, 4, seed=6)
    assert spearmanr(ty, model.predict_latent(tx, "alpha"))[0] > 0.6
    cls = model.predict_class(tx, "beta")
    assert set(cls.tolist()) <= {0, 1}
    # the PHQ-9 output is monotone in the ensemble latent behind it
    knots = model.scale_["knots_latent"]
    assert np.all(np.diff(knots) > 0) and model.scale_["knots_phq9"][0] == 0.0
    lat, phq = model.predict_latent(tx), model.predict(tx)
    order = np.argsort(lat)
    assert np.all(np.diff(phq[order]) >= -1e-9)
    with pytest.raises(InputError):
        model.predict_latent(tx, "gamma")


def test_phq9_output_combines_heads_and_is_monotone_in_each(fitted) -> None:
    model, a_x, _ = fitted
    e = model.ensemble_
    assert e["heads"] == ["alpha", "beta"]
    assert all(w >= 0 for w in e["weights"]) and sum(e["weights"]) == pytest.approx(1.0)
    tx, _ = corpus(40, 4, seed=9)
    heads = {h: model.predict_latent(tx, h) for h in model.heads_}
    np.testing.assert_allclose(np.clip(model.combine_head_latents(heads), 0, 27), model.predict(tx), atol=1e-9)
    grid = np.linspace(-6, 6, 121)
    for h in heads:
        base = {k: np.full_like(grid, np.median(v)) for k, v in heads.items()}
        base[h] = grid
        out = model.combine_head_latents(base)
        assert np.all(np.diff(out) >= -1e-12), f"output decreases in head {h}"
        if e["weights"][e["heads"].index(h)] > 0:
            assert out[-1] > out[0]


def test_head_weight_options(fitted) -> None:
    _, a_x, a_y = fitted
    b_x, b_y = corpus(40, 2, seed=2)
    x, y, src = a_x + b_x, np.concatenate([a_y, b_y]), ["alpha"] * 60 + ["beta"] * 40
    eq = CpuEstimator(**SMALL, anchor_source="alpha", head_weights="equal").fit(x, y, sources=src)
    assert eq.ensemble_["weights"] == pytest.approx([0.5, 0.5])
    st = CpuEstimator(**SMALL, anchor_source="alpha", head_weights="stacked").fit(x, y, sources=src)
    assert min(st.ensemble_["weights"]) >= 0 and sum(st.ensemble_["weights"]) == pytest.approx(1.0)
    only = CpuEstimator(**SMALL, anchor_source="alpha", head_weights={"alpha": 2.0}).fit(x, y, sources=src)
    assert only.ensemble_["weights"] == pytest.approx([1.0, 0.0])
    # the map sends the anchor's class boundaries to its weak PHQ-9 band edges (via edges for unknown sources)
    assert len(only.scale_["knots_latent"]) == 5
    with pytest.raises(InputError):
        CpuEstimator(**SMALL, head_weights={"gamma": 1.0}).fit(x, y, sources=src)
    with pytest.raises(InputError):
        CpuEstimator(**SMALL, head_weights="median").fit(x, y, sources=src)


def test_items_sum_to_total_and_stay_in_range(fitted) -> None:
    model, a_x, _ = fitted
    total, items = model.predict_with_items(a_x[:10])
    assert items.shape == (10, 9)
    assert items.min() >= 0 and items.max() <= 3 + 1e-9
    np.testing.assert_allclose(items.sum(axis=1), total, atol=1e-6)
    spread = spread_items(np.array([27.0, 0.0, 20.0]), np.array([[1.0] + [0.0] * 8] * 3), floor=0.05)
    np.testing.assert_allclose(spread.sum(axis=1), [27.0, 0.0, 20.0], atol=1e-6)
    assert spread[2, 0] == pytest.approx(3.0)


def test_conformal_interval_covers_about_80_percent() -> None:
    x, y = corpus(120, 4, seed=7)
    rng = np.random.default_rng(0)
    noisy = np.clip(y * 6 + rng.normal(0, 2, len(y)), 0, 27)
    m = CpuEstimator(**SMALL).fit(x[:80], noisy[:80]).calibrate_interval(x[80:], noisy[80:])
    tx, ty = corpus(200, 4, seed=8)
    ty = np.clip(ty * 6 + rng.normal(0, 2, len(ty)), 0, 27)
    _, lo, hi = m.predict_interval(tx)
    coverage = float(np.mean((ty >= lo) & (ty <= hi)))
    assert 0.65 <= coverage <= 0.97


def test_save_load_identical_and_no_pickle(fitted, tmp_path: Path) -> None:
    model, a_x, _ = fitted
    folder = model.save(tmp_path / "m", metadata={"version": "test"})
    names = {p.name for p in folder.iterdir()}
    assert names == {"config.json", "weights.safetensors", "README.md"}
    for p in folder.iterdir():
        assert not p.read_bytes().startswith(b"\x80"), f"{p.name} looks like a pickle"
    loaded = load_model(folder)
    np.testing.assert_allclose(loaded.predict(a_x), model.predict(a_x), atol=1e-9)
    np.testing.assert_allclose(loaded.predict_items(a_x), model.predict_items(a_x), atol=1e-9)
    assert loaded.ensemble_ == model.ensemble_ and loaded.scale_ == model.scale_
    assert loaded.head_weights == model.head_weights
    assert loaded.model_id == "lexical-ridge@test"


def test_estimate_abstains_and_gives_evidence(fitted) -> None:
    model, a_x, _ = fitted
    long_text = " ".join(a_x[3:8])
    out = model.estimate(["too short", long_text], min_words=50)
    assert out[0].status == "abstained" and "too little text" in out[0].reason
    assert out[1].status == "ok" and out[1].items is not None
    for sents in out[1].evidence.values():
        assert all(s in long_text for s in sents)


def test_shipped_default_scores_the_examples() -> None:
    from phqwatch.models.scoring import score_messages
    from phqwatch.transcripts import iter_messages

    assert (DEFAULT_MODEL_DIR / "weights.safetensors").stat().st_size < 50e6
    model = load_model()
    assert model.name == "lexical-ridge" and model.has_items
    examples = EXAMPLES_DIR / "transcripts.jsonl"
    ests = list(score_messages(iter_messages(examples), model))
    ok = [e for e in ests if e.status == "ok"]
    assert len(ok) >= 30 and any(e.status == "abstained" for e in ests)
    for e in ok:
        assert 0 <= e.phq9_estimate <= 27
        assert e.interval_low <= e.phq9_estimate <= e.interval_high
        assert sum(e.items) == pytest.approx(e.phq9_estimate, abs=1e-6)
    card = (DEFAULT_MODEL_DIR / "README.md").read_text(encoding="utf-8")
    assert "no administered PHQ-9" in card and "research use" in card.lower()
