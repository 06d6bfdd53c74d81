"""Corruption matrices of the paper's noise models (Section 3).

Convention (DESIGN.md): a corruption matrix ``P`` is row-stochastic and ``P[y, y_noisy]`` is the
probability that an example of true label ``y`` that was *selected for corruption* receives
``y_noisy``. With :func:`uniform` (1/L everywhere, the paper's definition) a selected label stays the
same with probability 1/L, so only ``gamma * (L - 1) / L`` of the labels actually change.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["flip", "from_confusion", "general", "symmetric", "uniform"]


def _check_n_labels(n_labels, minimum: int = 1) -> int:
    if isinstance(n_labels, bool) or not isinstance(n_labels, (int, np.integer)) or n_labels < minimum:
        raise ValueError(f"n_labels must be an integer >= {minimum}, got {n_labels!r}")
    return int(n_labels)


def uniform(n_labels: int) -> np.ndarray:
    """Uniform noise: a selected example's new label is uniform over all L labels (``P = 1/L``)."""
    n = _check_n_labels(n_labels)
    return np.full((n, n), 1.0 / n)


def symmetric(n_labels: int) -> np.ndarray:
    """Symmetric noise: a selected example's new label is uniform over the L - 1 *other* labels."""
    n = _check_n_labels(n_labels, minimum=2)
    P = np.full((n, n), 1.0 / (n - 1))
    np.fill_diagonal(P, 0.0)
    return P


def flip(n_labels: int, mapping: Sequence[int] | None = None) -> np.ndarray:
    """Flip noise: each label has one counterpart, ``c -> (c + 1) mod L`` unless ``mapping`` is given."""
    n = _check_n_labels(n_labels, minimum=2)
    target = np.arange(1, n + 1) % n if mapping is None else np.asarray(mapping)
    if target.shape != (n,) or target.dtype.kind not in "iu":
        raise ValueError(f"mapping must be {n} integer labels (one target per label), got {mapping!r}")
    if np.any((target < 0) | (target >= n)):
        raise ValueError(f"mapping targets must be in 0..{n - 1}, got {target.tolist()}")
    if np.any(target == np.arange(n)):
        fixed = np.flatnonzero(target == np.arange(n)).tolist()
        raise ValueError(f"mapping must have no fixed points (a label flipped to itself), got fixed {fixed}")
    P = np.zeros((n, n))
    P[np.arange(n), target] = 1.0
    return P


def general(n_labels: int, seed: int | np.random.Generator = 0, sharpness: float = 4.0) -> np.ndarray:
    """A random "general corruption matrix": uniform random rows raised to ``sharpness`` and renormalised.

    Larger ``sharpness`` concentrates each row on fewer labels (the authors' construction).
    """
    n = _check_n_labels(n_labels)
    if not np.isfinite(sharpness) or sharpness <= 0:
        raise ValueError(f"sharpness must be a positive number, got {sharpness!r}")
    rng = np.random.default_rng(seed)
    P = rng.random((n, n)) ** float(sharpness)
    return P / P.sum(axis=1, keepdims=True)


def from_confusion(confusion) -> np.ndarray:
    """Rows of a real confusion matrix (counts or rates), normalised to a corruption matrix."""
    C = np.asarray(confusion, dtype=float)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"confusion must be a square (L, L) matrix, got shape {C.shape}")
    if not np.all(np.isfinite(C)) or np.any(C < 0):
        raise ValueError("confusion must be finite and non-negative")
    sums = C.sum(axis=1, keepdims=True)
    if np.any(sums == 0):
        raise ValueError(f"confusion has empty rows {np.flatnonzero(sums.ravel() == 0).tolist()}")
    return C / sums
