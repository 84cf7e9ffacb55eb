"""The estimator contract (scikit-learn style) and the model-folder format shared by every backbone.

A model is a folder: `config.json` (estimator name, hyperparameters, JSON state, metadata), weights in
`weights.safetensors` (never pickle) and a model card `README.md`. Subclasses implement four hooks:
`_fit`, `_predict`, `_state` and `_restore`; everything else (clipping, abstention, intervals, item
evidence, save/load) lives here so all backbones behave the same.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from phqwatch import phq9
from phqwatch.config import DEFAULT_MIN_WORDS
from phqwatch.errors import InputError, ModelFormatError, NotFittedError
from phqwatch.transcripts.schema import UserText, count_words
from phqwatch.transcripts.writers import jsonable

FORMAT_VERSION = 1
#: Training and calibration labels: PHQ-9 totals or ordinal codes, as a sequence or a 1-d array.
Labels = Sequence[float] | np.ndarray


@dataclass(slots=True)
class UserEstimate:
    """One user's estimated PHQ-9: decision support, never a diagnosis."""

    user_id: str
    phq9_estimate: float | None
    band: str | None
    interval_low: float | None
    interval_high: float | None
    n_user_words: int
    model: str
    status: str = "ok"  # "ok" or "abstained"
    reason: str | None = None
    items: list[float] | None = None
    #: item number (1-9) -> the sentences that drove that item, strongest first.
    evidence: dict[int, list[str]] = field(default_factory=dict)

    def to_row(self, *, evidence: bool = False) -> dict[str, Any]:
        """A row of the scores contract (DESIGN.md); `evidence=True` adds {"1": [sentences], ...} (JSONL)."""
        row: dict[str, Any] = {
            "user_id": self.user_id,
            "phq9_estimate": None if self.phq9_estimate is None else round(self.phq9_estimate, 2),
            "band": self.band,
            "interval_low": None if self.interval_low is None else round(self.interval_low, 2),
            "interval_high": None if self.interval_high is None else round(self.interval_high, 2),
            "n_user_words": self.n_user_words,
            "model": self.model,
            "status": self.status,
            "reason": self.reason,
        }
        for i, col in enumerate(phq9.ITEM_COLUMNS):
            row[col] = None if self.items is None else round(float(self.items[i]), 2)
        if evidence:
            row["evidence"] = {str(k): list(v) for k, v in sorted(self.evidence.items())}
        return row


def as_texts(X: Any) -> list[str]:
    """The texts of `X` (strings or UserText, one per user); an InputError names the first bad row."""
    if isinstance(X, str):
        raise InputError(
            "expected a sequence of texts (one per user), got a single string",
            fix="Wrap it in a list: model.predict([text]).",
        )
    texts = [x.text if isinstance(x, UserText) else x for x in X]
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise InputError(f"element {i} is {type(t).__name__}; expected a string", fix="Pass texts or UserText.")
    return texts


def _check_nonempty(texts: list[str], where: str) -> None:
    """Refuse empty or whitespace-only texts: there is nothing to estimate from."""
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty:
        raise InputError(
            f"{where}: {len(empty)} text(s) are empty (first at index {empty[0]})",
            fix="Drop users without text first; estimate() abstains on them instead of guessing.",
        )


class PHQ9Estimator:
    """Base of every estimator: text in, PHQ-9 total out, clipped to 0-27.

    Hyperparameters are `__init__` arguments; learned state lives in attributes ending in `_`.
    """

    #: Registry name written to config.json; subclasses set it.
    name: ClassVar[str] = "base"
    #: Whether `predict_items` gives item scores.
    has_items: ClassVar[bool] = False

    @property
    def supports_sources(self) -> bool:
        """Whether `fit(X, codes, sources=...)` learns one head per source (ordinal codes of public proxy sets)
        instead of PHQ-9 totals; training maps proxy codes to PHQ-9 midpoints for the others. Subclasses set
        it as a class attribute, or compute it (a read-only property here, so both type-check)."""
        return False

    def __init__(self, *, min_words: int = DEFAULT_MIN_WORDS, coverage: float = 0.8) -> None:
        self.min_words = min_words
        self.coverage = coverage

    # ---- scikit-learn plumbing ------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        names: list[str] = []
        for klass in cls.__mro__:
            if "__init__" not in klass.__dict__:
                continue
            for p in inspect.signature(klass.__dict__["__init__"]).parameters.values():
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name not in names:
                    names.append(p.name)
        return names

    @classmethod
    def accepted_keywords(cls) -> set[str]:
        """Keywords the constructor takes: the hyperparameters, plus any aliases a subclass still accepts
        (the transformer's flat names of its config fields)."""
        return set(cls._param_names())

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        valid = set(self._param_names())
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"Unknown parameter {k!r} for {type(self).__name__}; valid: {sorted(valid)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def is_fitted(self) -> bool:
        return getattr(self, "fitted_", False) is True

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet.",
                fix="Call fit(X, y) first, or load a trained model with phqwatch.load_model().",
            )

    # ---- the contract ---------------------------------------------------------------------
    def fit(self, X: Sequence[str], y: Labels, *, sources: Sequence[str] | None = None) -> Self:
        """Learn from texts `X` and labels `y` (PHQ-9 totals, or ordinal codes per `sources`)."""
        texts = as_texts(X)
        y_arr = np.asarray(y, dtype=float)
        if len(texts) != len(y_arr):
            raise InputError(f"X has {len(texts)} texts but y has {len(y_arr)} labels", fix="Align X and y.")
        if len(texts) < 2:
            raise InputError("need at least 2 training examples", fix="Provide more labelled users.")
        if np.isnan(y_arr).any():
            raise InputError("y contains NaN", fix="Drop users without a label before fit().")
        _check_nonempty(texts, "fit")
        self._fit(texts, y_arr, None if sources is None else list(sources))
        self.fitted_ = True
        return self

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """PHQ-9 totals (float, clipped to 0-27), one per text."""
        self._check_fitted()
        texts = as_texts(X)
        if not texts:
            return np.zeros(0)
        _check_nonempty(texts, "predict")
        return np.clip(np.asarray(self._predict(texts), dtype=float), phq9.MIN_TOTAL, phq9.MAX_TOTAL)

    def predict_items(self, X: Sequence[str]) -> np.ndarray | None:
        """Item scores (n, 9) in 0-3, or None when this estimator gives no item scores."""
        return None

    def predict_interval(self, X: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(estimate, low, high): split-conformal interval at `coverage`, clipped to 0-27."""
        pred = self.predict(X)
        q = float(getattr(self, "conformal_q_", float("nan")))
        if math.isnan(q):
            return pred, np.full_like(pred, np.nan), np.full_like(pred, np.nan)
        return pred, np.clip(pred - q, 0, 27), np.clip(pred + q, 0, 27)

    def calibrate_interval(self, X: Sequence[str], y: Labels) -> Self:
        """Split-conformal calibration on held-out (X, y): the ceil((n+1)*coverage)/n quantile of |error|."""
        self._check_fitted()
        residuals = np.abs(np.asarray(y, dtype=float) - self.predict(X))
        self.conformal_q_ = conformal_quantile(residuals, self.coverage)
        self.conformal_n_ = int(len(residuals))
        return self

    def evidence(self, text: str, items: Sequence[float] | None = None, k: int = 3) -> dict[int, list[str]]:
        """Item number -> up to k sentences that drove it (symptom-lexicon matches)."""
        from phqwatch.models.evidence import item_evidence

        return item_evidence(text, k=k)

    def estimate(
        self, users: Iterable[UserText | str], *, min_words: int | None = None, evidence: bool = True
    ) -> list[UserEstimate]:
        """Full per-user output: estimate, band, interval, items and evidence; abstains on too little text.

        `evidence=False` skips the evidence sentences (faster, e.g. for evaluation runs).
        """
        self._check_fitted()
        floor = self.min_words if min_words is None else min_words
        batch = [
            u if isinstance(u, UserText) else UserText(f"user-{i}", u, count_words(u)) for i, u in enumerate(users)
        ]
        out: list[UserEstimate | None] = [None] * len(batch)
        keep = []
        for i, u in enumerate(batch):
            if u.n_user_words == 0:
                out[i] = self._abstain(u, "no user-role text to score")
            elif u.n_user_words < floor:
                out[i] = self._abstain(u, f"too little text: {u.n_user_words} user words (minimum {floor})")
            else:
                keep.append(i)
        if keep:
            texts = [batch[i].text for i in keep]
            pred, lo, hi = self.predict_interval(texts)
            items = self.predict_items(texts)
            for j, i in enumerate(keep):
                u = batch[i]
                item_row = None if items is None else [float(v) for v in items[j]]
                out[i] = UserEstimate(
                    user_id=u.user_id,
                    phq9_estimate=float(pred[j]),
                    band=phq9.band(float(pred[j])),
                    interval_low=None if np.isnan(lo[j]) else float(lo[j]),
                    interval_high=None if np.isnan(hi[j]) else float(hi[j]),
                    n_user_words=u.n_user_words,
                    model=self.model_id,
                    items=item_row,
                    evidence=self.evidence(u.text, item_row) if evidence else {},
                )
        return [o for o in out if o is not None]

    def _abstain(self, u: UserText, reason: str) -> UserEstimate:
        return UserEstimate(u.user_id, None, None, None, None, u.n_user_words, self.model_id, "abstained", reason)

    @property
    def model_id(self) -> str:
        meta = getattr(self, "metadata_", {}) or {}
        return f"{meta.get('name', self.name)}@{meta.get('version', 'unversioned')}"

    # ---- hooks for subclasses -------------------------------------------------------------
    def _fit(self, texts: list[str], y: np.ndarray, sources: list[str] | None) -> None:
        raise NotImplementedError

    def _predict(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able learned state, named arrays for safetensors)."""
        raise NotImplementedError

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path) -> None:
        raise NotImplementedError

    def _save_extra(self, folder: Path) -> None:
        """Write extra files (e.g. a transformer's adapter) into the model folder."""

    # ---- folder format --------------------------------------------------------------------
    def save(self, path: str | Path, *, metadata: dict[str, Any] | None = None, card: str | None = None) -> Path:
        """Write the model folder atomically: a failure leaves any previous folder untouched."""
        from safetensors.numpy import save_file

        from phqwatch import __version__
        from phqwatch.models.card import render_card

        self._check_fitted()
        path = Path(path)
        meta = {**(getattr(self, "metadata_", None) or {}), **(metadata or {})}
        meta.setdefault("name", self.name)
        meta["phqwatch_version"] = __version__  # the package that wrote this folder (the card names it)
        self.metadata_ = meta
        state, arrays = self._state()
        state = {
            **state,
            "conformal_q_": getattr(self, "conformal_q_", None),
            "conformal_n_": getattr(self, "conformal_n_", None),
        }
        config = {
            "format_version": FORMAT_VERSION,
            "estimator": self.name,
            "params": jsonable(self.get_params()),
            "state": jsonable(state),
            "metadata": jsonable(meta),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp / "weights.safetensors"))
            self._save_extra(tmp)
            _share_like_umask(tmp)
            (tmp / "README.md").write_text(
                card if card is not None else render_card(self.name, meta, config), encoding="utf-8"
            )
            if path.exists():
                old = path.with_name(f".{path.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path

    @classmethod
    def _from_folder(cls, folder: Path, config: dict[str, Any]) -> PHQ9Estimator:
        from safetensors.numpy import load_file

        weights = folder / "weights.safetensors"
        if not weights.exists():
            raise ModelFormatError(f"{folder} has no weights.safetensors.", fix="Re-save or re-train the model.")
        model = cls._construct(folder, config)
        state = dict(config.get("state", {}))
        q = state.pop("conformal_q_", None)
        n = state.pop("conformal_n_", None)
        if q is not None:
            model.conformal_q_, model.conformal_n_ = float(q), n
        model._restore(state, load_file(str(weights)), folder)
        model.metadata_ = config.get("metadata", {})
        model.fitted_ = True
        return model

    @classmethod
    def _construct(cls, folder: Path, config: dict[str, Any]) -> PHQ9Estimator:
        """A new, unfitted instance with the saved hyperparameters (an ensemble also loads its members)."""
        return cls(**{k: v for k, v in config.get("params", {}).items() if k in cls._param_names()})


def _share_like_umask(folder: Path) -> None:
    """mkdtemp makes owner-only folders; a model folder is not health data, so follow the umask."""
    mask = os.umask(0)
    os.umask(mask)
    for p in [folder, *folder.rglob("*")]:
        os.chmod(p, (0o777 if p.is_dir() else 0o666) & ~mask)


def conformal_quantile(residuals: np.ndarray, coverage: float) -> float:
    """Split-conformal quantile: the ceil((n+1)*coverage)-th smallest absolute residual."""
    r = np.sort(np.abs(np.asarray(residuals, dtype=float)))
    r = r[~np.isnan(r)]
    if len(r) == 0:
        raise InputError("no residuals to calibrate the interval on", fix="Pass held-out labelled data.")
    k = min(len(r), math.ceil((len(r) + 1) * coverage))
    return float(r[k - 1])
