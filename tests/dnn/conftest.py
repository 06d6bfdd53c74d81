"""Shared fixtures of the knnoise.dnn tests: the digits data, a fast schedule, a trained run, label noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from knnoise.data import Dataset, load
from knnoise.dnn import TrainResult, train


@pytest.fixture(scope="session")
def digits() -> Dataset:
    return load("digits")


@pytest.fixture
def fast() -> dict:
    """A two-epoch schedule, no progress bar (pass ``seed`` and anything else)."""
    return {"epochs": 2, "batch_size": 128, "lr": 0.003, "lr_halving_every": None, "progress": False}


@pytest.fixture(scope="session")
def uniform_noise():
    def corrupt(y: np.ndarray, gamma: float, n_classes: int, seed: int) -> np.ndarray:
        """Exactly round(gamma * N) labels redrawn uniformly (a local stand-in for knnoise.noise)."""
        rng = np.random.default_rng(seed)
        noisy = y.copy()
        picked = rng.choice(len(y), size=round(gamma * len(y)), replace=False)
        noisy[picked] = rng.integers(0, n_classes, size=len(picked))
        return noisy

    return corrupt


@pytest.fixture(scope="session")
def clean_run(digits) -> TrainResult:
    """Five epochs on the clean digits labels, the learning rate halved after three."""
    return train(
        digits, digits.y_train, epochs=5, batch_size=128, lr=0.003, lr_halving_every=3, seed=0, progress=False
    )


@pytest.fixture
def shapes():
    """``shapes(model, x)``: the (features, logits) shapes of a model, checking features_and_logits agrees."""

    def _shapes(model, x):
        model.eval()
        with torch.no_grad():
            feats, logits = model.features(x), model(x)
            both = model.features_and_logits(x)
        torch.testing.assert_close(both[0], feats)
        torch.testing.assert_close(both[1], logits)
        return tuple(feats.shape), tuple(logits.shape)

    return _shapes
