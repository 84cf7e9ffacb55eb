"""All-threshold ordinal logistic regression with one shared linear scorer and per-source cut-points.

Each source (dataset) keeps its own labels: source g with K_g ordered classes has K_g - 1 cut-points
theta_g. For a document with score f = x.w from source g and label y, the loss is
sum_k softplus(-s_k (f - theta_gk)) with s_k = +1 if y > k else -1 (Rennie & Srebro 2005), plus
alpha/2 |w|^2. Labels from different sets never have to mean the same thing; only the ranking direction
is shared. Fitted with L-BFGS on sparse features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit

from phqwatch.errors import InputError


def check_source_codes(labels: np.ndarray, name: str) -> None:
    """Raise InputError unless one source's labels are ordinal class codes 0..K-1 with at least two classes."""
    if (labels != np.round(labels)).any() or labels.min() < 0:
        raise InputError(
            f"labels of source '{name}' are not ordinal codes 0..K-1",
            field="y",
            fix="Pass integer class codes per source (e.g. ProxyDataset.labels), or no sources for PHQ-9 totals.",
        )
    if len(np.unique(labels)) < 2:
        raise InputError(f"source '{name}' has a single label", field="y", fix="Need >= 2 classes per source.")


@dataclass(slots=True)
class OrdinalFit:
    coef: np.ndarray
    #: source name -> increasing cut-points on the latent score.
    cuts: dict[str, np.ndarray]
    n_iter: int
    converged: bool


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def fit_ordinal(
    X: sp.spmatrix | np.ndarray,
    labels: np.ndarray,
    sources: list[str],
    n_classes: dict[str, int],
    *,
    alpha: float = 1.0,
    balance_sources: bool = True,
    max_iter: int = 500,
    tol: float = 1e-6,
) -> OrdinalFit:
    """Fit the shared scorer `w` and per-source cut-points. `labels` are 0..K_g-1 within each source."""
    X = sp.csr_matrix(X) if sp.issparse(X) else np.asarray(X)
    n, d = X.shape
    labels = np.asarray(labels, dtype=int)
    names = list(dict.fromkeys(sources))
    src = np.array([names.index(s) for s in sources])
    offsets, cuts0 = {}, []
    off = 0
    for g, name in enumerate(names):
        k = n_classes[name] - 1
        offsets[name] = off
        yl = labels[src == g]
        # start cut-points at the logits of the cumulative class shares
        cum = np.array([(yl <= c).mean() for c in range(k)]).clip(0.02, 0.98)
        cuts0.append(np.log(cum / (1 - cum)))
        off += k
    n_cuts = off
    # one (doc, cut, sign, weight) row per document and cut of its source
    rows, tidx, sign, wts = [], [], [], []
    for g, name in enumerate(names):
        idx = np.flatnonzero(src == g)
        k = n_classes[name] - 1
        w_g = (n / len(names) / len(idx)) if balance_sources else 1.0
        for c in range(k):
            rows.append(idx)
            tidx.append(np.full(len(idx), offsets[name] + c))
            sign.append(np.where(labels[idx] > c, 1.0, -1.0))
            wts.append(np.full(len(idx), w_g))
    r = np.concatenate(rows)
    t = np.concatenate(tidx)
    s = np.concatenate(sign)
    sw = np.concatenate(wts) / n

    def loss_grad(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, theta = params[:d], params[d:]
        f = X @ w
        z = s * (f[r] - theta[t])
        loss = float(np.sum(sw * _softplus(-z))) + 0.5 * alpha * float(w @ w) / n
        dz = -sw * expit(-z) * s
        df = np.bincount(r, weights=dz, minlength=n)
        gw = X.T @ df + alpha * w / n
        gt = -np.bincount(t, weights=dz, minlength=n_cuts)
        return loss, np.concatenate([np.asarray(gw).ravel(), gt])

    x0 = np.concatenate([np.zeros(d), np.concatenate(cuts0)])
    res = minimize(loss_grad, x0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter, "gtol": tol})
    w, theta = res.x[:d], res.x[d:]
    cuts = {name: np.sort(theta[offsets[name] : offsets[name] + n_classes[name] - 1]) for name in names}
    return OrdinalFit(coef=w, cuts=cuts, n_iter=int(res.nit), converged=bool(res.success))
