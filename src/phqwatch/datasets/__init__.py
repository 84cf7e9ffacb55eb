"""Datasets: adapters for public proxy sets, user-grouped splits, and synthetic example data."""

from phqwatch.datasets.proxy import (
    DATASETS,
    ProxyDataset,
    available_datasets,
    data_root,
    load_dataset,
    normalise,
)
from phqwatch.datasets.splits import split

__all__ = ["DATASETS", "ProxyDataset", "available_datasets", "data_root", "load_dataset", "normalise", "split"]
