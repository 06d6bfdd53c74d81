"""The paper's noise models (Section 3): corruption matrices and label corruption.

Randomly spread noise (:func:`corrupt`) selects exactly ``round(gamma * N)`` training examples uniformly
without replacement and redraws each selected label from its row of a corruption matrix. Locally
concentrated noise (:func:`concentrated`, Sec. 4) relabels one k-means cluster per class to one
alternative class; :func:`partially_concentrated` interpolates between the two at a fixed gamma.

Convention (DESIGN.md): a corruption matrix ``P`` is row-stochastic and ``P[y, y_noisy]`` is the
probability that an example of true label ``y`` that was *selected for corruption* receives
``y_noisy``. With :func:`uniform` (1/L everywhere, the paper's definition) a selected label stays the
same with probability 1/L, so only ``gamma * (L - 1) / L`` of the labels actually change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from sklearn.cluster import KMeans

from knnoise.analytic import check_corruption, check_fraction

__all__ = [
    "Corruption",
    "concentrated",
    "corrupt",
    "flip",
    "from_confusion",
    "general",
    "partially_concentrated",
    "symmetric",
    "uniform",
]


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


# ----------------------------------------------------------------------------------------------------
# Label corruption
# ----------------------------------------------------------------------------------------------------
class Corruption(NamedTuple):
    """Noisy labels and which examples were selected for corruption (``noisy, selected = corrupt(...)``)."""

    labels: np.ndarray
    selected: np.ndarray
    clean: np.ndarray

    @property
    def selected_fraction(self) -> float:
        """gamma as realised: the fraction of examples selected for corruption."""
        return float(self.selected.mean()) if self.selected.size else 0.0

    @property
    def changed_fraction(self) -> float:
        """The fraction whose label actually changed (``gamma (L-1)/L`` on average for uniform noise)."""
        return float((self.labels != self.clean).mean()) if self.labels.size else 0.0


def _check_labels(labels, n_labels: int | None = None) -> tuple[np.ndarray, int]:
    y = np.asarray(labels)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"labels must be a 1-D integer array, got dtype {y.dtype} and shape {y.shape}")
    if y.size and y.min() < 0:
        raise ValueError(f"labels must be >= 0, got {int(y.min())}")
    n = int(y.max()) + 1 if n_labels is None and y.size else n_labels
    if n is None:
        n = 1
    if y.size and y.max() >= n:
        raise ValueError(f"labels must be in 0..{n - 1} (L = {n}), got {int(y.max())}")
    return y.astype(np.int64), n


def corrupt(labels, gamma: float, corruption, seed: int | np.random.Generator = 0) -> Corruption:
    """Randomly spread noise: select exactly ``round(gamma * N)`` examples, redraw each from ``P[y]``.

    Parameters
    ----------
    labels : array_like of int, shape (N,)
        Clean labels in ``0..L-1``.
    gamma : float in [0, 1]
        Fraction of examples selected for corruption (the paper's noise level).
    corruption : array_like, shape (L, L)
        Row-stochastic ``P[y, y_noisy]``, e.g. :func:`uniform` or :func:`flip`.
    seed : int or numpy Generator
        Same seed, same noisy labels.

    Returns
    -------
    Corruption
        ``(labels, selected, clean)``, with ``selected_fraction`` and ``changed_fraction``.
    """
    P = check_corruption(corruption)
    y, n_labels = _check_labels(labels, P.shape[0])
    g = check_fraction("gamma", gamma)
    rng = np.random.default_rng(seed)
    n_selected = int(round(g * y.size))
    chosen = rng.choice(y.size, size=n_selected, replace=False)
    selected = np.zeros(y.size, dtype=bool)
    selected[chosen] = True
    noisy = y.copy()
    # Inverse-CDF draw from each selected example's row of P.
    cdf = np.cumsum(P[y[chosen]], axis=1)
    u = rng.random(n_selected)[:, None] * cdf[:, -1:]
    noisy[chosen] = np.minimum((u >= cdf).sum(axis=1), n_labels - 1)
    return Corruption(noisy, selected, y)


def _alternatives(alternative, n_labels: int) -> np.ndarray:
    if alternative is None:
        target = (np.arange(n_labels) + n_labels // 2) % n_labels
    else:
        target = np.asarray(alternative)
        if target.shape != (n_labels,) or target.dtype.kind not in "iu":
            raise ValueError(
                f"alternative must hold one integer target per class ({n_labels}), got {alternative!r}"
            )
        if np.any((target < 0) | (target >= n_labels)):
            raise ValueError(f"alternative targets must be in 0..{n_labels - 1}, got {target.tolist()}")
    if n_labels > 1 and np.any(target == np.arange(n_labels)):
        raise ValueError(f"alternative must send every class to another class, got {target.tolist()}")
    return target.astype(np.int64)


def _check_embedding(embedding, n: int) -> np.ndarray:
    x = np.asarray(embedding, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] != n:
        raise ValueError(
            f"embedding must have shape ({n}, D) to match the {n} labels, got {np.shape(embedding)}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("embedding must be finite")
    return x.reshape(n, -1)


def concentrated(
    embedding,
    labels,
    gamma: float,
    seed: int = 0,
    alternative: Sequence[int] | None = None,
    n_labels: int | None = None,
) -> Corruption:
    """Locally concentrated noise (Sec. 4): per class, k-means with ``k = round(1/gamma)`` on the
    embedding; the cluster whose size is closest to ``gamma`` of the class is relabelled to the class's
    alternative (``(c + L//2) mod L`` by default). The achieved gamma is ``result.selected_fraction``.
    """
    y, n_labels = _check_labels(labels, n_labels)
    x = _check_embedding(embedding, y.size)
    g = check_fraction("gamma", gamma)
    target = _alternatives(alternative, n_labels)
    selected = np.zeros(y.size, dtype=bool)
    if g > 0:
        k = max(1, int(round(1.0 / g)))
        for c in range(n_labels):
            members = np.flatnonzero(y == c)
            if members.size == 0:
                continue
            n_clusters = min(k, members.size)
            km = KMeans(n_clusters=n_clusters, n_init=3, random_state=seed).fit(x[members])
            sizes = np.bincount(km.labels_, minlength=n_clusters)
            best = int(np.argmin(np.abs(sizes - g * members.size)))
            selected[members[km.labels_ == best]] = True
    noisy = y.copy()
    noisy[selected] = target[y[selected]]
    return Corruption(noisy, selected, y)


def partially_concentrated(
    embedding,
    labels,
    gamma: float,
    concentration: float,
    seed: int = 0,
    alternative: Sequence[int] | None = None,
    n_labels: int | None = None,
) -> Corruption:
    """A continuous noise-concentration knob at a fixed gamma (beyond the paper).

    For each class ``c`` with ``n_c`` examples, ``m_c = round(gamma * n_c)`` examples are relabelled to the
    alternative class, as in :func:`concentrated`. A random member of the class is the anchor; its
    ``m_c`` nearest class-mates (in the embedding) form one compact region. ``round(concentration * m_c)``
    of the relabelled examples are the region's core (those nearest the anchor); the rest are drawn
    uniformly at random from the other members of the class. ``concentration = 0`` is randomly spread
    flip noise; ``concentration = 1`` is one compact corrupted region per class.
    """
    y, n_labels = _check_labels(labels, n_labels)
    x = _check_embedding(embedding, y.size)
    g = check_fraction("gamma", gamma)
    kappa = check_fraction("concentration", concentration)
    target = _alternatives(alternative, n_labels)
    rng = np.random.default_rng(seed)
    selected = np.zeros(y.size, dtype=bool)
    for c in range(n_labels):
        members = np.flatnonzero(y == c)
        m = int(round(g * members.size))
        if m == 0:
            continue
        anchor = x[members[rng.integers(members.size)]]
        order = members[np.argsort(((x[members] - anchor) ** 2).sum(axis=1), kind="stable")]
        n_core = int(round(kappa * m))
        rest = order[n_core:]
        spread = rng.choice(rest, size=m - n_core, replace=False)
        selected[order[:n_core]] = True
        selected[spread] = True
    noisy = y.copy()
    noisy[selected] = target[y[selected]]
    return Corruption(noisy, selected, y)
