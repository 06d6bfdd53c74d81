"""Trained networks on disk: :func:`train_cached` loads a :class:`~knnoise.dnn.TrainResult` instead of
training when the same run was done before (by any notebook, on any device).

The cache is :func:`knnoise._store.memory` (``joblib.Memory`` under ``$KNNOISE_CACHE/joblib``), keyed by a
hash of the dataset's arrays and name, the labels and every training parameter, the torch thread count
included (it changes the CPU arithmetic), plus a code version, but not by the device or the progress bar;
joblib writes each entry through a temporary file and a rename, so a killed run leaves no partial entry.
A network trained on a GPU is thus reused by CPU runs with the same thread count.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from knnoise._store import memory
from knnoise.data import Dataset
from knnoise.dnn._options import _validated
from knnoise.dnn.result import TrainResult
from knnoise.dnn.training import _train, train

__all__ = ["is_cached", "train_cached"]

_CACHE_VERSION = 2  # bump when a change to the training code changes results of unchanged parameters
_NOT_IN_KEY = ["device", "progress"]


def train_cached(dataset: Dataset, noisy_train_labels: np.ndarray, **kwargs: Any) -> TrainResult:
    """:func:`~knnoise.dnn.train` with ``cache=True``: a rerun with the same parameters loads instead of
    training (same arguments as :func:`~knnoise.dnn.train`)."""
    return train(dataset, noisy_train_labels, **{**kwargs, "cache": True})


def is_cached(dataset: Dataset, noisy_train_labels: np.ndarray, **kwargs: Any) -> bool:
    """Whether :func:`train_cached` with these arguments would load from the cache (nothing is trained)."""
    bound = inspect.signature(train).bind(dataset, noisy_train_labels, **kwargs)
    bound.apply_defaults()
    params = {k: v for k, v in bound.arguments.items() if k not in ("device", "progress", "cache")}
    args = _validated(params.pop("dataset"), params.pop("noisy_train_labels"), **params)
    key_args = {**args, "cache_version": _CACHE_VERSION, "device": "cpu", "progress": False}
    return bool(_cached_train().check_call_in_cache(**key_args))


def _train_through_cache(args: dict[str, Any], *, device: str, progress: bool) -> TrainResult:
    """Load the run of the validated ``args`` from the cache, or train it and store it."""
    return _cached_train()(**args, cache_version=_CACHE_VERSION, device=device, progress=progress)


def _cached_train() -> Any:
    """The joblib-cached training function under the current cache folder (re-read every call)."""
    return memory().cache(_train_for_cache, ignore=_NOT_IN_KEY)


def _train_for_cache(
    dataset: Dataset,
    labels: np.ndarray,
    model: str,
    epochs: int,
    batch_size: int,
    lr: float,
    lr_halving_every: int | None,
    seed: int,
    val_fraction: float,
    width: float,
    weight_decay: float,
    patience: int | None,
    normalization: str,
    train_outputs: bool,
    cache_version: int,
    device: str,
    progress: bool,
    num_threads: int | None,
) -> TrainResult:
    """The function joblib caches: its hashed arguments are the cache key (``cache_version`` included)."""
    options = dict(locals())
    del options["dataset"], options["labels"], options["cache_version"]
    return _train(dataset, labels, **options)
