"""User-grouped, label-stratified train / calib / test splits with a fixed seed.

Rows that share a group (near-duplicate posts) always land in the same split, so no duplicate leaks
from training into evaluation.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from phqwatch.errors import InputError


class _Splittable(Protocol):
    labels: np.ndarray
    groups: np.ndarray


def split(
    dataset: _Splittable, seed: int = 0, test_size: float = 0.2, calib_size: float = 0.1
) -> dict[str, np.ndarray]:
    """Indices for ``train``, ``calib`` and ``test`` (sorted), grouped by `dataset.groups`, stratified by label.

    A group's stratum is the label of its first row. Within each stratum the groups are shuffled with
    `seed` and the first ``round(test_size * n)`` go to test, the next ``round(calib_size * n)`` to calib.
    """
    if not 0 < test_size < 1 or not 0 <= calib_size < 1 or test_size + calib_size >= 1:
        raise InputError(
            f"test_size={test_size}, calib_size={calib_size}; expected 0 < test, 0 <= calib, test + calib < 1",
            fix="e.g. test_size=0.2, calib_size=0.1.",
        )
    labels = np.asarray(dataset.labels)
    groups = np.asarray(dataset.groups)
    uniq, first = np.unique(groups, return_index=True)
    group_label = labels[first]
    rng = np.random.default_rng(seed)
    assign: dict[int, str] = {}
    for lab in np.unique(group_label):
        g = uniq[group_label == lab]
        g = g[rng.permutation(len(g))]
        n_test = int(round(test_size * len(g)))
        n_cal = int(round(calib_size * len(g)))
        for gi in g[:n_test]:
            assign[int(gi)] = "test"
        for gi in g[n_test : n_test + n_cal]:
            assign[int(gi)] = "calib"
        for gi in g[n_test + n_cal :]:
            assign[int(gi)] = "train"
    part = np.array([assign[int(g)] for g in groups])
    return {name: np.flatnonzero(part == name) for name in ("train", "calib", "test")}
