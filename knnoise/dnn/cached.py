"""Trained networks on disk: :func:`train_cached` loads a :class:`~knnoise.dnn.TrainResult` instead of
training when the same run was done before (by any notebook, on any device, alone or in a group).

The store (:mod:`knnoise.dnn._cache`: ``joblib.Memory`` under ``$KNNOISE_CACHE/joblib``, through joblib's
public API) holds one entry per network, keyed by :func:`cache_key`: a hash of the dataset's arrays and
name, the labels, the seed and every :class:`~knnoise.dnn.TrainOptions` value, the torch thread count
included (it changes the CPU arithmetic), plus a code version, but not the device or the progress bar;
joblib writes each entry through a temporary file and a rename, so a killed run leaves no partial entry.
A network trained on a GPU is thus reused by CPU runs with the same thread count.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from knnoise.data import Dataset
from knnoise.dnn._cache import CACHE_VERSION, _in_cache, cache_key
from knnoise.dnn._options import _check_run
from knnoise.dnn.options import TrainOptions
from knnoise.dnn.result import TrainResult
from knnoise.dnn.training import train

__all__ = ["CACHE_VERSION", "cache_key", "is_cached", "train_cached"]


def train_cached(dataset: Dataset, noisy_train_labels: np.ndarray, **kwargs: Any) -> TrainResult:
    """:func:`~knnoise.dnn.train` with ``cache=True``: a rerun with the same parameters loads instead of
    training (same arguments as :func:`~knnoise.dnn.train`)."""
    return train(dataset, noisy_train_labels, **{**kwargs, "cache": True})


def is_cached(
    dataset: Dataset,
    noisy_train_labels: np.ndarray,
    *,
    seed: int,
    device: str | torch.device = "auto",
    progress: bool = True,
    cache: bool = True,
    **options: Any,
) -> bool:
    """Whether :func:`train_cached` with these arguments (those of :func:`~knnoise.dnn.train`) would load
    from the cache; nothing is loaded or trained. ``device``, ``progress`` and ``cache`` are accepted and
    ignored: they are not part of the key."""
    del device, progress, cache
    resolved = TrainOptions(**options)
    labels, seed = _check_run(dataset, noisy_train_labels, seed)
    return _in_cache(cache_key(dataset, labels, seed, resolved.for_dataset(dataset)))
