"""The offline datasets: scikit-learn's bundled 8x8 digits and a seeded Gaussian mixture.

``digits``: 1,797 images, pixels 0..16 scaled to uint8 0..255, a seeded stratified 1,437/360 split;
instant and offline, the test default. ``synthetic``: any number of classes, dimension and size,
``float32`` features.
"""

from __future__ import annotations

import numpy as np

from knnoise._checks import check_int, check_number, check_seed
from knnoise.data.dataset import _DIGIT_NAMES, Dataset, _stratified_indices

__all__: list[str] = []

_N_DIGITS = 1797  # images in scikit-learn's digits


def _load_digits(seed: int | np.random.Generator = 0, n_test: int = 360) -> Dataset:
    """scikit-learn's 8x8 digits, pixels 0..16 scaled to 0..255, a seeded stratified split."""
    n_test = check_int("n_test", n_test, maximum=_N_DIGITS - 1)
    seed = check_seed(seed)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    y = bunch.target.astype(np.int64)
    test = np.zeros(len(y), dtype=bool)
    test[_stratified_indices(y, n_test, np.random.default_rng(seed))] = True
    return Dataset(x[~test], y[~test], x[test], y[test], _DIGIT_NAMES, "digits")


def _load_synthetic(
    n_classes: int = 10,
    dim: int = 32,
    n_train: int = 1000,
    n_test: int = 200,
    separation: float = 1.0,
    seed: int | np.random.Generator = 0,
) -> Dataset:
    """A seeded Gaussian mixture with equal class sizes (up to one example).

    Class means are drawn from ``N(0, separation² I)`` in ``dim`` dimensions; each example is its class
    mean plus ``N(0, I)`` noise. Labels cycle through the classes and are then shuffled, so every class
    has ``n // L`` or ``n // L + 1`` examples. ``float32`` features.
    """
    n_classes, dim, n_train, n_test = (
        check_int(name, value)
        for name, value in (("n_classes", n_classes), ("dim", dim), ("n_train", n_train), ("n_test", n_test))
    )
    separation = check_number("separation", separation, low=0.0)
    rng = np.random.default_rng(check_seed(seed))
    means = rng.normal(0.0, separation, size=(n_classes, dim))

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.permutation(np.arange(n, dtype=np.int64) % n_classes)
        x = means[y] + rng.standard_normal((n, dim))
        return x.astype(np.float32), y

    x_train, y_train = draw(n_train)
    x_test, y_test = draw(n_test)
    return Dataset(x_train, y_train, x_test, y_test, tuple(str(i) for i in range(n_classes)), "synthetic")
