"""The checks of :func:`knnoise.dnn.train`'s arguments, before anything is trained.

Each bad value is a ``TypeError`` (wrong kind) or ``ValueError`` (not allowed) naming the parameter, in the
project's format (:mod:`knnoise._checks`). The checked values come back canonical (Python ints and floats,
int64 labels), so equal settings hash equally in the training cache.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from knnoise._checks import check_choice, check_int, check_int_array, check_number, fail
from knnoise.data import Dataset
from knnoise.dnn.models import MODELS

__all__: list[str] = []

NORMALIZATIONS = ("auto", "unit", "per_pixel")
_SEED_MAX = 2**32 - 1  # scikit-learn's random_state (the stratified split) takes at most 32 bits


def _validated(dataset: Any, noisy_train_labels: Any, **p: Any) -> dict[str, Any]:
    """Check every parameter; return the canonical keyword arguments of the training loop."""
    _check_dataset(dataset)
    labels = _check_labels(noisy_train_labels, dataset)
    model = check_choice("model", p["model"], MODELS)
    schedule = _check_schedule(p)
    val_fraction = _check_val_fraction(p["val_fraction"], dataset)
    if not isinstance(p["train_outputs"], bool | np.bool_):
        raise fail("train_outputs", "True or False", p["train_outputs"], TypeError)
    norm = check_choice("normalization", p["normalization"], NORMALIZATIONS)
    if norm == "auto":
        norm = "per_pixel" if len(dataset.x_train.shape) == 4 else "unit"
    return {
        "dataset": dataset,
        "labels": np.ascontiguousarray(labels, dtype=np.int64),
        "model": str(model),
        **schedule,
        "val_fraction": val_fraction,
        "normalization": norm,
        "train_outputs": bool(p["train_outputs"]),
    }


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


def _check_schedule(p: dict[str, Any]) -> dict[str, Any]:
    """The optimisation parameters: sizes, seed, learning rate, width, weight decay, patience, threads
    (None resolved to torch's current count)."""
    return {
        "epochs": check_int("epochs", p["epochs"]),
        "batch_size": check_int("batch_size", p["batch_size"], minimum=2),
        "lr": check_number("lr", p["lr"], low=0.0, low_open=True),
        "lr_halving_every": check_int("lr_halving_every", p["lr_halving_every"], allow_none=True),
        "seed": check_int("seed", p["seed"], minimum=0, maximum=_SEED_MAX),
        "width": check_number("width", p["width"], low=0.0, low_open=True),
        "weight_decay": check_number("weight_decay", p["weight_decay"], low=0.0),
        "patience": check_int("patience", p["patience"], allow_none=True),
        "num_threads": _check_threads(p["num_threads"]),
    }


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
