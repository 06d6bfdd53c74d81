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
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from sklearn.cluster import KMeans

from knnoise._checks import (
    check_corruption,
    check_fraction,
    check_int,
    check_int_array,
    check_number,
    check_points,
    check_seed,
    fail,
)

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


def uniform(n_labels: int) -> np.ndarray:
    """Uniform noise: a selected example's new label is uniform over all L labels (``P = 1/L``, (L, L))."""
    n = check_int("n_labels", n_labels)
    return np.full((n, n), 1.0 / n)


def symmetric(n_labels: int) -> np.ndarray:
    """Symmetric noise: a selected example's new label is uniform over the L - 1 *other* labels."""
    n = check_int("n_labels", n_labels, minimum=2)
    P = np.full((n, n), 1.0 / (n - 1))
    np.fill_diagonal(P, 0.0)
    return P


def flip(n_labels: int, mapping: Sequence[int] | None = None) -> np.ndarray:
    """Flip noise: each label has one counterpart, ``c -> (c + 1) mod L`` unless ``mapping`` is given."""
    n = check_int("n_labels", n_labels, minimum=2)
    target = np.arange(1, n + 1) % n if mapping is None else _check_targets("mapping", mapping, n)
    if np.any(target == np.arange(n)):
        raise fail("mapping", "free of fixed points (a label flipped to itself)", target.tolist())
    P = np.zeros((n, n))
    P[np.arange(n), target] = 1.0
    return P


def general(n_labels: int, seed: int | np.random.Generator = 0, sharpness: float = 4.0) -> np.ndarray:
    """A random "general corruption matrix": uniform random rows raised to ``sharpness`` and renormalised.

    Larger ``sharpness`` concentrates each row on fewer labels (the authors' construction).
    """
    n = check_int("n_labels", n_labels)
    sharpness = check_number("sharpness", sharpness, low=0.0, low_open=True)
    rng = np.random.default_rng(check_seed(seed))
    P = rng.random((n, n)) ** sharpness
    return P / P.sum(axis=1, keepdims=True)


def from_confusion(confusion: ArrayLike) -> np.ndarray:
    """Rows of a real confusion matrix (counts or rates), normalised to a corruption matrix."""
    C = np.asarray(confusion, dtype=float)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise fail("confusion", "a square (L, L) matrix", f"shape {C.shape}")
    if not np.all(np.isfinite(C)) or np.any(C < 0):
        bad = tuple(int(b) for b in np.argwhere(~np.isfinite(C) | (C < 0))[0])
        raise fail(f"confusion{list(bad)}", "finite and non-negative", float(C[bad]))
    sums = C.sum(axis=1, keepdims=True)
    if np.any(sums == 0):
        row = int(np.flatnonzero(sums.ravel() == 0)[0])
        raise fail(f"confusion row {row}", "non-empty (a positive total)", 0.0)
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


def _check_labels(labels: Any, n_labels: Any = None) -> tuple[np.ndarray, int]:
    """Labels as a 1-D int64 array in ``0..L-1`` and ``L`` (default ``max(labels) + 1``, 1 when empty)."""
    n_labels = check_int("n_labels", n_labels, allow_none=True)
    y = check_int_array("labels", labels, n_labels=n_labels)
    if y.ndim != 1:
        raise fail("labels", "a 1-D array of shape (N,)", f"shape {y.shape}")
    if n_labels is None:
        n_labels = int(y.max()) + 1 if y.size else 1
    return y, n_labels


def _check_targets(name: str, targets: Any, n_labels: int) -> np.ndarray:
    """One target label per class: int64 of shape ``(L,)`` in ``0..L-1``."""
    target = check_int_array(name, targets, n_labels=n_labels)
    if target.shape != (n_labels,):
        raise fail(name, f"one target label per class, shape ({n_labels},)", f"shape {target.shape}")
    return target


def corrupt(
    labels: ArrayLike, gamma: float, corruption: ArrayLike, seed: int | np.random.Generator = 0
) -> Corruption:
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
    n_labels = check_corruption(corruption).shape[0]
    # The draw reads the matrix as given (the check's renormalised copy could move a cdf by one ulp).
    P = np.asarray(corruption, dtype=np.float64)
    y, n_labels = _check_labels(labels, n_labels)
    g = check_fraction("gamma", gamma)
    rng = np.random.default_rng(check_seed(seed))
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


def _alternatives(alternative: Any, n_labels: int) -> np.ndarray:
    if alternative is None:
        target = (np.arange(n_labels) + n_labels // 2) % n_labels
    else:
        target = _check_targets("alternative", alternative, n_labels)
    if n_labels > 1 and np.any(target == np.arange(n_labels)):
        raise fail("alternative", "a map sending every class to another class", target.tolist())
    return target.astype(np.int64)


def _check_embedding(embedding: Any, n: int) -> np.ndarray:
    """The embedding as float32 ``(n, D)``; a 1-D embedding is one feature."""
    x = np.asarray(embedding)
    x = check_points("embedding", x[:, None] if x.ndim == 1 else x)
    if x.shape[0] != n:
        raise fail("embedding", f"an array of shape ({n}, D) to match the {n} labels", f"shape {x.shape}")
    with np.errstate(over="ignore"):  # values beyond float32 are reported below
        x32 = np.asarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x32)):
        bad = tuple(int(b) for b in np.argwhere(~np.isfinite(x32))[0])
        raise fail(f"embedding{list(bad)}", "within the float32 range", float(x[bad]))
    return x32


def _kmeans_seed(seed: Any) -> int:
    """An integer ``random_state`` for scikit-learn's k-means (a Generator gives its next integer)."""
    seed = check_seed(seed)
    return int(seed.integers(2**32)) if isinstance(seed, np.random.Generator) else seed


def concentrated(
    embedding: ArrayLike,
    labels: ArrayLike,
    gamma: float,
    seed: int | np.random.Generator = 0,
    alternative: Sequence[int] | None = None,
    n_labels: int | None = None,
) -> Corruption:
    """Locally concentrated noise (Sec. 4): per class, k-means with ``k = round(1/gamma)`` on the
    embedding; the cluster whose size is closest to ``gamma`` of the class is relabelled to the class's
    alternative (``(c + L//2) mod L`` by default). The achieved gamma is ``result.selected_fraction``.

    Parameters
    ----------
    embedding : array_like, shape (N, D) or (N,)
        Where the examples lie (pixels or network features); 1-D is one feature.
    labels : array_like of int, shape (N,)
        Clean labels in ``0..L-1``.
    gamma : float in [0, 1]
        Target fraction of each class to relabel.
    seed : int or numpy Generator
        k-means' ``random_state`` (a Generator gives one integer); same seed, same noisy labels.
    alternative : sequence of int, shape (L,), optional
        The class each class's cluster is relabelled to (never the class itself).
    n_labels : int, optional
        ``L``; default ``max(labels) + 1``.

    Returns
    -------
    Corruption
        ``(labels, selected, clean)``, each of shape (N,).
    """
    y, n_labels = _check_labels(labels, n_labels)
    x = _check_embedding(embedding, y.size)
    g = check_fraction("gamma", gamma)
    target = _alternatives(alternative, n_labels)
    seed = _kmeans_seed(seed)
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
    embedding: ArrayLike,
    labels: ArrayLike,
    gamma: float,
    concentration: float,
    seed: int | np.random.Generator = 0,
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

    Parameters
    ----------
    embedding, labels, gamma, alternative, n_labels
        As in :func:`concentrated`.
    concentration : float in [0, 1]
        The share ``kappa`` of each class's relabelled examples taken from the compact region.
    seed : int or numpy Generator
        Draws the anchors and the spread examples; same seed, same noisy labels.

    Returns
    -------
    Corruption
        ``(labels, selected, clean)``, each of shape (N,).
    """
    y, n_labels = _check_labels(labels, n_labels)
    x = _check_embedding(embedding, y.size)
    g = check_fraction("gamma", gamma)
    kappa = check_fraction("concentration", concentration)
    target = _alternatives(alternative, n_labels)
    rng = np.random.default_rng(check_seed(seed))
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
