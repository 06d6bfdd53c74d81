"""The chapters' datasets: :func:`load_dataset` (:func:`knnoise.data.load` with the ``data_path``
convention, then a subset) and :class:`DataSpec`, the chapter parameters that name one (``p.data``).

Sweep cells receive a :class:`DataSpec` and load it in whatever process runs them; the loaders cache what
they read, so every call after the first is fast.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from knnoise import data
from knnoise._checks import check_choice, check_int, check_seed

__all__ = ["DataSpec", "load_dataset"]

_FEATURES_NEED_A_PATH = 'dataset="features" needs data_path: an .npz with x_train, y_train, x_test, y_test'


def load_dataset(
    dataset: str,
    *,
    data_path: str | None = None,
    train_subset: int | None = None,
    test_subset: int | None = None,
    seed: int = 0,
) -> data.Dataset:
    """Load ``dataset`` (``data_path``: the features' ``.npz``, or CIFAR-10's folder), then subset it.

    Parameters
    ----------
    dataset : str
        One of :data:`knnoise.data.DATASETS`.
    data_path : str, optional
        ``features``: the ``.npz`` file (required); ``cifar10``: the folder above ``cifar-10-batches-py``.
    train_subset, test_subset : int, optional
        Stratified random subsets of that many training / test examples (None: all of them).
    seed : int
        Seeds the subsets.
    """
    check_seed(seed)  # any seed the subsets take; the other values are checked by DataSpec
    return DataSpec(dataset, data_path, train_subset, test_subset)._load(seed)


@dataclass(frozen=True)
class DataSpec:
    """Which data a chapter runs on: its ``dataset``, ``data_path``, ``train_subset``, ``test_subset`` and
    ``seed`` parameters as one value (``p.data``; see :func:`load_dataset` for each one's meaning)."""

    dataset: str
    data_path: str | None = None
    train_subset: int | None = None
    test_subset: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        """Checked and stored canonical (Python ints, a str path): equal data hash equally in a sweep key."""
        checked = {
            "dataset": str(check_choice("dataset", self.dataset, data.DATASETS)),
            "data_path": None if self.data_path is None else os.fspath(self.data_path),
            "train_subset": check_int("train_subset", self.train_subset, allow_none=True),
            "test_subset": check_int("test_subset", self.test_subset, allow_none=True),
            "seed": check_int("seed", self.seed, minimum=0),
        }
        if checked["dataset"] == "features" and checked["data_path"] is None:
            raise ValueError(_FEATURES_NEED_A_PATH)
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def load(self) -> data.Dataset:
        """The dataset, subset as specified (its values were checked when it was made)."""
        return self._load(self.seed)

    def _load(self, seed: Any) -> data.Dataset:
        options = {"features": {"path": self.data_path}, "cifar10": {"root": self.data_path}}
        paths = {k: v for k, v in options.get(self.dataset, {}).items() if v is not None}
        full = data.load(self.dataset, **paths)
        if self.train_subset is None and self.test_subset is None:
            return full
        return full.subset(n_train=self.train_subset, n_test=self.test_subset, seed=seed)

    def with_subsets(self, train: int | None, test: int | None) -> DataSpec:
        """The same data with other subset sizes (None: all), e.g. a K-NN's larger training set."""
        return dataclasses.replace(self, train_subset=train, test_subset=test)
