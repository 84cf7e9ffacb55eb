"""The learned risk model: hashed n-gram TF-IDF features and three linear heads, stored as a model folder.

Heads: ``risk`` (probability that the message voices crisis risk: severity high or above), ``severity``
(softmax over the severity ladder, used only to grade a flagged message) and ``category`` (one logistic
output per category). A folder holds ``config.json`` (feature spec, thresholds, metadata),
``weights.safetensors`` (never pickle) and a model card ``README.md``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from phqwatch.errors import ModelFormatError, NotFittedError
from phqwatch.safety.context import Turn
from phqwatch.safety.features import FeatureSpec, Featuriser
from phqwatch.safety.types import CATEGORIES, SEVERITIES, Category, RuleResult, Severity

__all__ = ["RiskModel", "ModelOutput", "load_risk_model", "DEFAULT_MODEL_DIR"]

MODEL_NAME = "risk-ngram"
FORMAT_VERSION = 1
_HEADS = ("idf", "risk_w", "risk_b", "severity_w", "severity_b", "category_w", "category_b")


def DEFAULT_MODEL_DIR() -> Path:  # noqa: N802 - reads like the constant it stands for
    """The model folder shipped inside the package."""
    return Path(str(resources.files("phqwatch.safety") / "default"))


@dataclass(frozen=True)
class ModelOutput:
    """The learned model's view of one message."""

    score: float  # probability of crisis risk (severity high or above)
    severity: Severity  # graded only when the score passes a threshold, else "none"
    categories: tuple[Category, ...]


class RiskModel:
    """Hashed n-gram logistic heads. Fit with ``phqwatch.safety.train``; load a folder with ``load``."""

    def __init__(self, spec: FeatureSpec | None = None, *, C: float = 8.0) -> None:
        self.spec = spec or FeatureSpec()
        self.C = C
        self.featuriser = Featuriser(self.spec)
        self.metadata: dict[str, Any] = {}
        #: score >= flag_threshold: crisis severity from the severity head; >= review_threshold: "review".
        self.flag_threshold = 0.5
        self.review_threshold = 0.3

    # ---- features ---------------------------------------------------------------------------------
    def _tfidf(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Sublinear TF times IDF, each row scaled to unit length (computed on the CSR arrays directly)."""
        x = counts.astype(np.float32, copy=True)
        x.data = np.log1p(x.data) * self.idf_[x.indices]
        sq = np.add.reduceat(x.data * x.data, x.indptr[:-1]) if x.nnz else np.zeros(x.shape[0], np.float32)
        lengths = np.diff(x.indptr)
        sq[lengths == 0] = 1.0
        x.data /= np.repeat(np.sqrt(sq), lengths).astype(np.float32)
        return x

    def features(
        self,
        texts: Sequence[str],
        contexts: Sequence[Sequence[Turn]] | None = None,
        rules: Sequence[RuleResult] | None = None,
    ) -> sp.csr_matrix:
        """TF-IDF rows; ``rules`` are the pattern rules' results for these texts when the caller has them."""
        self._check_fitted()
        return self._tfidf(self.featuriser.transform(texts, contexts, rules))

    # ---- training ---------------------------------------------------------------------------------
    def fit(
        self,
        texts: Sequence[str],
        contexts: Sequence[Sequence[Turn]],
        severities: Sequence[str],
        categories: Sequence[Sequence[str]],
        *,
        weights: Sequence[float] | None = None,
        seed: int = 0,
        risk_only: bool = False,
    ) -> RiskModel:
        """Fit the three heads (``risk_only``: the risk head alone, for cross-validation). ``severities``
        on the ladder; ``categories`` per message (empty for none)."""
        from sklearn.linear_model import LogisticRegression

        self._stacked: np.ndarray | None = None
        counts = self.featuriser.transform(texts, contexts)
        df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
        n = counts.shape[0]
        self.idf_ = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
        x = self._tfidf(counts)
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
        sev_idx = np.array([SEVERITIES.index(s) for s in severities])
        risk = (sev_idx >= SEVERITIES.index("high")).astype(int)

        head = LogisticRegression(C=self.C, max_iter=2000, solver="liblinear", random_state=seed)
        head.fit(x, risk, sample_weight=w)
        self.risk_w_, self.risk_b_ = head.coef_.astype(np.float32), head.intercept_.astype(np.float32)

        self.severity_w_ = np.zeros((len(SEVERITIES), x.shape[1]), dtype=np.float32)
        self.severity_b_ = np.full(len(SEVERITIES), -1e4, dtype=np.float32)
        self.category_w_ = np.zeros((len(CATEGORIES), x.shape[1]), dtype=np.float32)
        self.category_b_ = np.full(len(CATEGORIES), -1e4, dtype=np.float32)
        if risk_only:
            return self
        # Severity: one-vs-rest among the crisis grades, fitted on crisis messages only (it grades a flag).
        crisis = sev_idx >= SEVERITIES.index("high")
        for cls in range(SEVERITIES.index("high"), len(SEVERITIES)):
            y = (sev_idx[crisis] == cls).astype(int)
            if y.min() == y.max():
                continue
            h = LogisticRegression(C=self.C, max_iter=2000, solver="liblinear", random_state=seed)
            h.fit(x[crisis], y, sample_weight=w[crisis])
            self.severity_w_[cls], self.severity_b_[cls] = h.coef_[0], h.intercept_[0]

        risky = sev_idx >= SEVERITIES.index("review")
        for j, cat in enumerate(CATEGORIES):
            y = np.array([cat in c for c in categories])[risky].astype(int)
            if y.min() == y.max():
                continue
            h = LogisticRegression(C=self.C, max_iter=2000, solver="liblinear", random_state=seed)
            h.fit(x[risky], y, sample_weight=w[risky])
            self.category_w_[j], self.category_b_[j] = h.coef_[0], h.intercept_[0]
        return self

    # ---- inference --------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "idf_"):
            raise NotFittedError(
                "This RiskModel is not fitted.", fix="Call fit(...) or load a model folder with RiskModel.load(path)."
            )

    def _heads(self) -> np.ndarray:
        """All head weights as one C-contiguous (features x heads) matrix: one sparse product per batch."""
        cached = getattr(self, "_stacked", None)
        if cached is None:
            cached = np.ascontiguousarray(np.vstack([self.risk_w_, self.severity_w_, self.category_w_]).T)
            self._stacked = cached
        return cached

    def _logits(
        self,
        texts: Sequence[str],
        contexts: Sequence[Sequence[Turn]] | None,
        rules: Sequence[RuleResult] | None = None,
    ) -> np.ndarray:
        z = np.asarray(self.features(texts, contexts, rules) @ self._heads())
        return z + np.concatenate([self.risk_b_, self.severity_b_, self.category_b_])

    def score(self, texts: Sequence[str], contexts: Sequence[Sequence[Turn]] | None = None) -> np.ndarray:
        """Probability of crisis risk (severity high or above) per message."""
        if not texts:
            return np.zeros(0)
        return 1.0 / (1.0 + np.exp(-self._logits(texts, contexts)[:, 0]))

    def predict(
        self,
        texts: Sequence[str],
        contexts: Sequence[Sequence[Turn]] | None = None,
        rules: Sequence[RuleResult] | None = None,
    ) -> list[ModelOutput]:
        """Score, grade and categorise each message (``rules``: the pattern rules' results, if known)."""
        if not texts:
            return []
        z = self._logits(texts, contexts, rules)
        scores = 1.0 / (1.0 + np.exp(-z[:, 0]))
        sev = z[:, 1 : 1 + len(SEVERITIES)]
        cat = z[:, 1 + len(SEVERITIES) :]
        out: list[ModelOutput] = []
        hi = SEVERITIES.index("high")
        for i, s in enumerate(scores):
            if s >= self.flag_threshold:
                severity: Severity = SEVERITIES[hi + int(np.argmax(sev[i, hi:]))]
            elif s >= self.review_threshold:
                severity = "review"
            else:
                out.append(ModelOutput(float(s), "none", ()))
                continue
            cats = tuple(c for j, c in enumerate(CATEGORIES) if cat[i, j] > 0) or (CATEGORIES[int(np.argmax(cat[i]))],)
            out.append(ModelOutput(float(s), severity, cats))
        return out

    # ---- folder format ----------------------------------------------------------------------------
    def save(self, path: str | Path, *, card: str | None = None) -> Path:
        """Write the model folder atomically (config.json, weights.safetensors, README.md)."""
        from safetensors.numpy import save_file

        self._check_fitted()
        folder = Path(path)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
        try:
            arrays = {
                k: np.ascontiguousarray(getattr(self, k + "_")).astype(np.float16 if k.endswith("_w") else np.float32)
                for k in _HEADS
            }
            save_file(arrays, str(tmp / "weights.safetensors"))
            config = {
                "name": MODEL_NAME,
                "format_version": FORMAT_VERSION,
                "features": self.spec.to_json(),
                "C": self.C,
                "flag_threshold": self.flag_threshold,
                "review_threshold": self.review_threshold,
                "severities": list(SEVERITIES),
                "categories": list(CATEGORIES),
                "metadata": self.metadata,
            }
            (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            (tmp / "README.md").write_text(card or f"# {MODEL_NAME}\n", encoding="utf-8")
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return folder

    @classmethod
    def load(cls, path: str | Path) -> RiskModel:
        """Read a model folder written by ``save``."""
        from safetensors.numpy import load_file

        folder = Path(path)
        cfg_path, weights = folder / "config.json", folder / "weights.safetensors"
        if not cfg_path.is_file() or not weights.is_file():
            raise ModelFormatError(
                f"{folder} is not a risk-model folder (needs config.json and weights.safetensors).",
                fix="Point to a folder written by `phqwatch safety train`, or omit it to use the shipped model.",
            )
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        if cfg.get("name") != MODEL_NAME or cfg.get("format_version") != FORMAT_VERSION:
            raise ModelFormatError(
                f"{folder} holds {cfg.get('name')!r} format {cfg.get('format_version')!r}, "
                f"expected {MODEL_NAME!r} format {FORMAT_VERSION}.",
                fix="Rebuild it with `phqwatch safety train`.",
            )
        model = cls(FeatureSpec.from_json(cfg["features"]), C=float(cfg["C"]))
        model.flag_threshold = float(cfg["flag_threshold"])
        model.review_threshold = float(cfg["review_threshold"])
        model.metadata = dict(cfg.get("metadata", {}))
        arrays = load_file(str(weights))
        for k in _HEADS:
            if k not in arrays:
                raise ModelFormatError(
                    f"{weights} lacks the array {k!r}.", fix="Rebuild it with `phqwatch safety train`."
                )
            setattr(model, k + "_", arrays[k].astype(np.float32))
        if model.idf_.shape[0] != model.spec.n_features:
            raise ModelFormatError(
                f"{weights}: idf has {model.idf_.shape[0]} features, the config says {model.spec.n_features}.",
                fix="Rebuild it with `phqwatch safety train`.",
            )
        return model


@lru_cache(maxsize=4)
def load_risk_model(path: str | None = None) -> RiskModel:
    """The shipped risk model (or the folder at ``path``), loaded once per process."""
    return RiskModel.load(path or DEFAULT_MODEL_DIR())
