"""The checks of :func:`knnoise.dnn.train`'s arguments, before anything is trained: a network's own
inputs (dataset, labels, seed) here, its options in :class:`knnoise.dnn.TrainOptions`.

Each bad value is a ``TypeError`` (wrong kind) or ``ValueError`` (not allowed) naming the parameter, in the
project's format (:mod:`knnoise._checks`). The checked values come back canonical (Python ints and floats,
int64 labels), so equal settings hash equally in the training cache.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from knnoise._checks import check_int, check_int_array, check_number, fail
from knnoise.data import Dataset

__all__: list[str] = []

NORMALIZATIONS = ("auto", "unit", "per_pixel")
PRECISIONS = ("float32", "bfloat16")
_SEED_MAX = 2**32 - 1  # scikit-learn's random_state (the stratified split) takes at most 32 bits


def _check_run(dataset: Any, noisy_train_labels: Any, seed: Any) -> tuple[np.ndarray, int]:
    """One network's own inputs on ``dataset``: canonical labels (contiguous int64) and seed."""
    _check_dataset(dataset)
    labels = _check_labels(noisy_train_labels, dataset)
    seed = check_int("seed", seed, minimum=0, maximum=_SEED_MAX)
    return np.ascontiguousarray(labels, dtype=np.int64), seed


def _check_dataset(dataset: Any) -> None:
    """A :class:`~knnoise.data.Dataset` of uint8 images."""
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a knnoise.data.Dataset, got {type(dataset).__name__}")
    if not dataset.is_image:
        raise ValueError(
            f"dataset {dataset.name!r} holds features, not uint8 images; train() needs images "
            "(run K-NN on feature datasets instead)"
        )


def _check_labels(labels: Any, dataset: Dataset) -> np.ndarray:
    """One integer label in ``0..L-1`` per training example, shape ``(N,)``."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise fail("noisy_train_labels", "a 1-D array of labels", f"shape {arr.shape}")
    if len(arr) != dataset.n_train:
        raise ValueError(
            f"noisy_train_labels must be one label per training example ({dataset.n_train}), "
            f"got {len(arr)} labels"
        )
    return check_int_array("noisy_train_labels", arr, n_labels=dataset.n_classes)


def _check_threads(value: Any) -> int:
    """The torch CPU thread count a run uses: ``value``, or this thread's current setting for None.

    It is resolved here, before the cache key is made, because torch's CPU arithmetic (the order of its
    parallel reductions) depends on it: a run keyed by it can be repeated anywhere (a Dask worker whose
    nanny set ``OMP_NUM_THREADS=1`` included), and a run with another count is another cache entry.
    """
    threads = check_int("num_threads", value, allow_none=True)
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    return threads


def _check_val_fraction(value: Any, dataset: Dataset) -> float:
    """A fraction in ``[0, 1)`` that leaves at least one example per class on each side of the split."""
    vf = check_number("val_fraction", value, low=0.0, high=1.0, high_open=True)
    if vf > 0:
        n_val = math.ceil(vf * dataset.n_train)
        if n_val < dataset.n_classes or dataset.n_train - n_val < dataset.n_classes:
            raise ValueError(
                f"val_fraction={vf} leaves {n_val} of {dataset.n_train} examples for validation; a "
                f"stratified split needs at least {dataset.n_classes} (one per class) on each side"
            )
        if np.bincount(dataset.y_train, minlength=dataset.n_classes).min() < 2:
            raise ValueError("val_fraction > 0 needs at least 2 training examples of every class")
    return vf
