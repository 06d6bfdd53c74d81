"""Votes through a neighbour graph: K-NN predictions and accuracy for many K and label vectors, and the
clean neighbourhood distribution ``C_s`` of Eq. 3.

The neighbours do not depend on the labels, so :func:`knn_predict` / :func:`knn_accuracy` re-read any
number of label vectors (noise draws, noise levels) through one :class:`~knnoise.knn.graph.NeighborGraph`
and vote for every requested K in one pass. Three tie modes, as in the analytic solver: ``lowest``
(scikit-learn's ``KNeighborsClassifier``), ``random`` (uniform among the tied labels; a counter-based hash
of ``(seed, draw, test example, K)``, so a prediction does not depend on the other ks asked for or on
threads) and ``strict`` (the paper's Eq. 2: a tie for first place predicts ``-1``, i.e. counts as wrong).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from knnoise._checks import check_int, check_int_array, check_ks, check_seed, check_ties, fail
from knnoise.knn._vote_kernels import (
    _ACC_BLOCK,
    _RANDOM,
    _accuracy_kernel,
    _histogram_kernel,
    _predict_kernel,
)
from knnoise.knn.graph import NeighborGraph

__all__ = ["clean_distribution", "knn_accuracy", "knn_predict"]


class _Votes(NamedTuple):
    """Checked inputs of a vote: labels ``(R, N)`` int64, ks in the given and in increasing order."""

    graph: NeighborGraph
    tie: int
    ks: np.ndarray  # (n_k,) as given
    ks_sorted: np.ndarray  # (n_k,) increasing
    order: np.ndarray  # (n_k,) int64: the output column of each sorted K
    single_k: bool
    labels: np.ndarray  # (R, N)
    single_r: bool
    n_labels: int
    seed: int  # the kernels' 63-bit seed (0 unless ties="random")
    test_labels: np.ndarray | None  # (M,)


def _check_graph(graph: Any) -> NeighborGraph:
    if not isinstance(graph, NeighborGraph):
        raise fail(
            "graph", "a NeighborGraph (from neighbor_graph)", type(graph).__name__, TypeError, raw=True
        )
    return graph


def _check_ks(name: str, ks: Any, graph: NeighborGraph) -> tuple[np.ndarray, bool]:
    return check_ks(name, ks, maximum=graph.k_max, what=f" (K <= k_max = {graph.k_max} of the graph)")


def _check_labels(
    name: str, value: Any, length: int, length_what: str, n_labels: int | None, batch: bool
) -> tuple[np.ndarray, bool]:
    """Labels as a C-contiguous int64 array of shape (R, length), and whether one vector was given."""
    arr = np.asarray(value)
    shapes = f"({length},) or (R, {length})" if batch else f"({length},)"
    if arr.ndim not in ((1, 2) if batch else (1,)) or arr.shape[-1] != length:
        raise fail(name, f"an array of shape {shapes} ({length_what})", f"shape {arr.shape}")
    if arr.ndim == 2 and arr.shape[0] < 1:
        raise fail(name, "an array of at least one label vector (R >= 1)", f"shape {arr.shape}")
    labels = check_int_array(name, arr, n_labels=n_labels)
    return np.ascontiguousarray(labels.reshape(-1, length)), arr.ndim == 1


def _seed_int(seed: int | np.random.Generator) -> int:
    """The kernels' 63-bit seed: a Generator's next integer, or the (checked) integer modulo 2**63."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    return seed & (2**63 - 1)


def _prepare_votes(graph, train_labels, ks, n_labels, ties, seed, test_labels=None) -> _Votes:
    """Check every input of a vote (before any numba code runs)."""
    graph = _check_graph(graph)
    tie = check_ties(ties)
    ks_arr, single_k = _check_ks("ks", ks, graph)
    n_lab = check_int("n_labels", n_labels, allow_none=True)
    seed = check_seed(seed, allow_sequence=False)
    train_what = f"n_train = {graph.n_train} of the graph"
    labels, single_r = _check_labels("train_labels", train_labels, graph.n_train, train_what, n_lab, True)
    tl = None
    if test_labels is not None:
        test_what = f"n_test = {graph.n_test} of the graph"
        tl = _check_labels("test_labels", test_labels, graph.n_test, test_what, n_lab, False)[0][0]
    if n_lab is None:
        n_lab = max(int(a.max()) for a in (labels, *([] if tl is None else [tl]))) + 1
    # One pass over the neighbours in increasing K: sort the ks, remember where each one goes.
    order = np.argsort(ks_arr, kind="stable")
    seed_v = _seed_int(seed) if tie == _RANDOM else 0
    return _Votes(
        graph, tie, ks_arr, ks_arr[order], order.astype(np.int64), single_k, labels, single_r, n_lab,
        seed_v, tl,
    )  # fmt: skip


def knn_predict(
    graph: NeighborGraph,
    train_labels: ArrayLike,
    ks: int | Sequence[int],
    *,
    n_labels: int | None = None,
    ties: str = "lowest",
    seed: int | np.random.Generator = 0,
) -> np.ndarray:
    """Plurality vote of the first K neighbours, for every K in ``ks`` and every label vector at once.

    The K-NN prediction ``Y(x_s)`` of the paper's Section 4 (the plurality label of the K neighbours'
    observed labels). One pass over the ``max(ks)`` neighbours per (label vector, test example) with
    running counts, reading the vote at each K (numba, parallel).

    Parameters
    ----------
    graph : NeighborGraph
        From :func:`~knnoise.knn.neighbor_graph`.
    train_labels : array_like of int, shape (N,) or (R, N)
        One label vector for the training rows, or R of them (e.g. R noise draws), in ``0..L-1``.
    ks : int or sequence of int
        Neighbourhood sizes, each in ``1..graph.k_max``, in any order.
    n_labels : int, optional
        Number of labels ``L``; default ``max(train_labels) + 1``.
    ties : {"lowest", "random", "strict"}
        ``lowest``: a tie for first place goes to the lowest label index (scikit-learn's
        ``KNeighborsClassifier``). ``random``: uniform among the tied labels, reproducible by ``seed``.
        ``strict``: a tie predicts ``-1`` (counts as wrong, as in the paper's Eq. 2).
    seed : int or numpy.random.Generator, default 0
        For ``ties="random"``. The draw for (label vector r, test example m, K) depends only on those and
        the seed, not on the other ks or on the number of threads.

    Returns
    -------
    numpy.ndarray of int64
        Shape ``(M, len(ks))`` for one label vector, ``(R, M, len(ks))`` for R; the K axis is dropped
        when ``ks`` is a single int.
    """
    v = _prepare_votes(graph, train_labels, ks, n_labels, ties, seed)
    pred = np.empty((v.labels.shape[0], v.graph.n_test, len(v.ks)), dtype=np.int64)
    _predict_kernel(v.graph.indices, v.labels, v.ks_sorted, v.order, v.n_labels, v.tie, v.seed, pred)
    if v.single_k:
        pred = pred[..., 0]
    return pred[0] if v.single_r else pred


def knn_accuracy(
    graph: NeighborGraph,
    train_labels: ArrayLike,
    test_labels: ArrayLike,
    ks: int | Sequence[int],
    *,
    n_labels: int | None = None,
    ties: str = "lowest",
    seed: int | np.random.Generator = 0,
    expected: bool = False,
) -> np.ndarray | float:
    """Mean accuracy of the K-NN vote against ``test_labels``: the empirical counterpart of Eq. 1-2.

    With ``ties="strict"`` it is what Theorem 1 (Eq. 2) models, with ``ties="random", expected=True``
    what :func:`knnoise.expected_accuracy` gives for ``ties="random"``, and with ``ties="lowest"``
    scikit-learn's ``KNeighborsClassifier`` accuracy.

    Parameters
    ----------
    graph, train_labels, ks, n_labels, ties, seed
        As in :func:`knn_predict`.
    test_labels : array_like of int, shape (M,)
        The (clean) test labels.
    expected : bool, default False
        Only with ``ties="random"``: instead of one random draw, the expected accuracy over the tie
        breaking, i.e. credit ``1 / #tied`` when the true label is among the labels tied for first place
        -- what :func:`knnoise.plurality_accuracy` with ``ties="random"`` predicts.

    Returns
    -------
    numpy.ndarray of float64
        Shape ``(len(ks),)`` for one label vector, ``(R, len(ks))`` for R; a float when additionally
        ``ks`` is a single int.
    """
    if not isinstance(expected, bool | np.bool_):
        raise fail("expected", "a bool", expected, TypeError)
    if expected and check_ties(ties) != _RANDOM:
        raise fail("ties", "'random' when expected=True (expected credit 1/#tied)", ties)
    v = _prepare_votes(graph, train_labels, ks, n_labels, ties, seed, test_labels)
    n_blocks = -(-v.graph.n_test // _ACC_BLOCK)
    partial = np.zeros((v.labels.shape[0], n_blocks, len(v.ks)), dtype=np.float64)
    _accuracy_kernel(
        v.graph.indices, v.labels, v.test_labels, v.ks_sorted, v.order, v.n_labels, v.tie, v.seed,
        bool(expected), partial,
    )  # fmt: skip
    acc = partial.sum(axis=1) / v.graph.n_test
    if v.single_k:
        acc = acc[..., 0]
    return acc[0] if v.single_r else acc


def clean_distribution(
    graph: NeighborGraph, train_labels: ArrayLike, k: int | Sequence[int], n_labels: int
) -> np.ndarray:
    """The label histogram of the K nearest training examples of each test example, normalised.

    This is ``C_s`` of the paper's Eq. 3 for K-NN: the distribution of a neighbour's clean label, which
    Eq. 3 turns into the distribution ``q`` of its observed (noisy) label.

    Parameters
    ----------
    graph : NeighborGraph
        From :func:`~knnoise.knn.neighbor_graph`.
    train_labels : array_like of int, shape (N,)
        The clean training labels, in ``0..n_labels-1``.
    k : int or sequence of int
        Neighbourhood size(s), each in ``1..graph.k_max``.
    n_labels : int
        Number of labels ``L``.

    Returns
    -------
    numpy.ndarray of float64
        Shape ``(M, L)`` for one K, ``(len(k), M, L)`` for a sequence; every row sums to 1.
    """
    graph = _check_graph(graph)
    n_lab = check_int("n_labels", n_labels)
    ks_arr, single_k = _check_ks("k", k, graph)
    train_what = f"n_train = {graph.n_train} of the graph"
    labels, _ = _check_labels("train_labels", train_labels, graph.n_train, train_what, n_lab, False)
    order = np.argsort(ks_arr, kind="stable")
    out = np.empty((len(ks_arr), graph.n_test, n_lab), dtype=np.float64)
    _histogram_kernel(graph.indices, labels[0], ks_arr[order], order.astype(np.int64), out)
    return out[0] if single_k else out
