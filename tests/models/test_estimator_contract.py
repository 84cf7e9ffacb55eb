"""The estimator contract, checked for every registered estimator (in the spirit of scikit-learn's
`check_estimator`): fit returns self and learns only `*_` attributes, predictions are clipped to 0-27,
a saved folder loads with `load_model` and scores identically, and unfitted use, a single string and
empty text are refused with clear errors.

Parametrised over `ESTIMATORS`, so a newly registered estimator is covered automatically. One that
cannot be built with its defaults (it needs a backbone or members) gets a factory in `FACTORIES`.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from phqwatch.errors import InputError, NotFittedError
from phqwatch.models import ESTIMATORS, PHQ9Estimator, estimator_class, load_model
from phqwatch.transcripts.writers import jsonable

sys.path.insert(0, str(Path(__file__).parent))
from tiny_backbones import WORDS, build_tiny_bert  # noqa: E402

SAD = [w for w in "tired sad hopeless empty worthless crying alone cannot sleep".split() if w in WORDS]
OK = [w for w in "fine good happy calm okay friends family work".split() if w in WORDS]


def _texts(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Texts whose share of low-mood words tracks a PHQ-9 total, in the tiny backbones' vocabulary."""
    rng = random.Random(seed)
    X, y = [], []
    for _ in range(n):
        s = rng.random()
        X.append(" ".join(rng.choice(SAD) if rng.random() < s else rng.choice(OK) for _ in range(rng.randint(20, 40))))
        y.append(round(27 * s))
    return X, np.asarray(y, dtype=float)


@pytest.fixture(scope="module")
def backbone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    return build_tiny_bert(tmp_path_factory.mktemp("contract") / "tiny-bert")


def _cpu() -> PHQ9Estimator:
    return estimator_class("lexical-ridge")(n_folds=2, min_df=1, min_words=5)


def _transformer(backbone: Path) -> PHQ9Estimator:
    return estimator_class("transformer")(
        str(backbone), epochs=1, batch_size=8, max_length=24, lora_r=2, min_words=5, device="cpu"
    )


#: name -> factory(backbone folder) for estimators that need more than their defaults.
FACTORIES: dict[str, Callable[[Path], PHQ9Estimator]] = {
    "lexical-ridge": lambda b: _cpu(),
    "transformer": _transformer,
    "mean-ensemble": lambda b: estimator_class("mean-ensemble")([_cpu(), _cpu().set_params(emb_alpha=5.0)]),
}


def _make(name: str, request: pytest.FixtureRequest) -> PHQ9Estimator:
    factory = FACTORIES.get(name)
    if name == "transformer":
        return factory(request.getfixturevalue("backbone"))  # type: ignore[misc]
    return factory(Path()) if factory else estimator_class(name)()


@pytest.fixture(params=sorted(ESTIMATORS))
def name(request: pytest.FixtureRequest) -> str:
    return request.param


def test_every_registered_name_maps_to_its_class(name: str) -> None:
    cls = estimator_class(name)
    assert issubclass(cls, PHQ9Estimator) and cls.name == name


def test_unfitted_use_is_refused(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    model = _make(name, request)
    assert not model.is_fitted
    for call in (lambda: model.predict(["a text"]), lambda: model.estimate(["a text"]), lambda: model.save(tmp_path)):
        with pytest.raises(NotFittedError, match="not fitted"):
            call()
    assert not any(tmp_path.iterdir()), "a refused save writes nothing"


def test_fit_save_load_scores_identically(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    X, y = _texts(24, seed=1)
    Xt, _ = _texts(8, seed=2)
    model = _make(name, request)
    public_before = {k for k in vars(model) if not k.startswith("_")}
    assert model.fit(X, y) is model and model.is_fitted
    learned = {k for k in vars(model) if not k.startswith("_")} - public_before
    assert learned and all(k.endswith("_") for k in learned), f"learned state must end in '_': {learned}"
    pred = model.predict(Xt)
    assert pred.shape == (len(Xt),) and np.all((pred >= 0) & (pred <= 27))
    folder = model.save(tmp_path / "m", metadata={"version": "contract"})
    assert (folder / "README.md").is_file() and (folder / "weights.safetensors").is_file()
    assert json.loads((folder / "config.json").read_text())["estimator"] == name
    loaded = load_model(folder)
    assert type(loaded) is type(model)
    assert jsonable(loaded.get_params()) == jsonable(model.get_params())  # JSON keeps tuples as lists
    np.testing.assert_allclose(loaded.predict(Xt), pred, rtol=0, atol=1e-6)
    assert loaded.model_id == f"{loaded.metadata_.get('name', name)}@contract"


def test_empty_text_and_bad_input_are_clear_errors(name: str, request: pytest.FixtureRequest) -> None:
    X, y = _texts(24, seed=3)
    model = _make(name, request)
    with pytest.raises(InputError, match="empty"):
        model.fit([*X[:-1], "   "], y)
    model.fit(X, y)
    with pytest.raises(InputError, match=r"empty \(first at index 1\)"):
        model.predict([X[0], ""])
    with pytest.raises(InputError, match="single string"):
        model.predict(X[0])
    assert model.predict([]).shape == (0,)
    est = model.estimate([""])  # the per-user path abstains instead of raising
    assert est[0].status == "abstained" and est[0].phq9_estimate is None


def test_per_source_fit_round_trips(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Estimators that learn one head per source take each source's own codes."""
    model = _make(name, request)
    if not model.supports_sources:
        pytest.skip(f"{name} learns PHQ-9 totals only (training maps proxy codes to midpoints)")
    X, y = _texts(40, seed=4)
    codes = np.where(np.arange(40) < 20, np.digitize(y, [7, 14, 20]), np.digitize(y, [12]))
    sources = ["four"] * 20 + ["two"] * 20
    model.fit(X, codes, sources=sources)
    pred = model.predict(X)
    assert np.all((pred >= 0) & (pred <= 27))
    np.testing.assert_allclose(load_model(model.save(tmp_path / "m")).predict(X), pred, rtol=0, atol=1e-6)
