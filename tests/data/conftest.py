"""Shared fixtures of the knnoise.data tests: a tiny image dataset, and no network for the downloaders."""

from __future__ import annotations

import numpy as np
import pytest

from knnoise.data import Dataset, cifar10, mnist


def _no_network(*args, **kwargs) -> bool:
    return False


@pytest.fixture
def no_network(monkeypatch):
    """Both downloaders see the internet as unreachable (patched where they look it up)."""
    monkeypatch.setattr(mnist, "_internet_reachable", _no_network)
    monkeypatch.setattr(cifar10, "_internet_reachable", _no_network)


@pytest.fixture
def tiny():
    """A factory of small uint8 image datasets ``(N, 4, 5)`` with cycling labels."""

    def make(n_train: int = 6, n_test: int = 3, n_classes: int = 3) -> Dataset:
        rng = np.random.default_rng(0)
        return Dataset(
            x_train=rng.integers(0, 256, (n_train, 4, 5), dtype=np.uint8),
            y_train=np.arange(n_train) % n_classes,
            x_test=rng.integers(0, 256, (n_test, 4, 5), dtype=np.uint8),
            y_test=np.arange(n_test) % n_classes,
            class_names=[f"c{i}" for i in range(n_classes)],
            name="tiny",
        )

    return make
