"""Numba kernels of the votes (:mod:`knnoise.knn.votes`): running counts, tie rules, histograms.

Shapes: ``indices`` (M, k_max) int32 from the graph, ``labels`` (R, N) int64 (R label vectors),
``ks_sorted`` (n_k,) int64 in increasing order and ``order`` (n_k,) int64 the output column of each.
One pass over the ``max(ks)`` neighbours per (label vector, test example) reads the vote at every K.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from knnoise._checks import TIE_MODES

__all__: list[str] = []

# The tie rules' codes, as check_ties returns them (compile-time constants for numba).
_STRICT, _RANDOM, _LOWEST = (TIE_MODES.index(t) for t in ("strict", "random", "lowest"))
_ACC_BLOCK = 256  # test examples per partial sum in the accuracy kernel


@njit(cache=True, inline="always")
def _mix(x):  # pragma: no cover - compiled
    """splitmix64 finaliser: a well-mixed 64-bit hash of ``x`` (uint64 arithmetic wraps)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True, inline="always")
def _uniform_index(seed, r, m, k, n):  # pragma: no cover - compiled
    """A uniform integer in ``0..n-1`` determined by (seed, r, m, k) alone."""
    g = np.uint64(0x9E3779B97F4A7C15)
    h = _mix(np.uint64(seed) + g)
    h = _mix(h ^ (np.uint64(r) + g))
    h = _mix(h ^ (np.uint64(m) + g))
    h = _mix(h ^ (np.uint64(k) + g))
    u = np.float64(h >> np.uint64(11)) * (1.0 / 9007199254740992.0)  # [0, 1) with 53 bits
    return min(int(u * n), n - 1)


@njit(cache=True, inline="always")
def _tied_label(counts, best, pick):  # pragma: no cover - compiled
    """The ``pick``-th (0-based) label whose count equals ``best``."""
    seen = 0
    for lab in range(counts.shape[0]):
        if counts[lab] == best:
            if seen == pick:
                return lab
            seen += 1
    return -1


@njit(cache=True, inline="always")
def _add_vote(counts, lab, best, n_best, lowest):  # pragma: no cover - compiled
    """Count one more vote for ``lab``: the top count, how many labels share it, the lowest of them."""
    c = counts[lab] + 1
    counts[lab] = c
    if c > best:
        return c, 1, lab
    if c == best:
        return best, n_best + 1, min(lowest, lab)
    return best, n_best, lowest


@njit(parallel=True, cache=True)
def _predict_kernel(indices, labels, ks_sorted, order, n_labels, tie, seed, out):  # pragma: no cover
    """One pass over the neighbours per (label vector, test example), reading the vote at each K.

    Writes ``out`` (R, M, n_k) int64: the predicted label, ``-1`` for a tie under ``_STRICT``.
    """
    n_r = labels.shape[0]
    n_m = indices.shape[0]
    n_k = ks_sorted.shape[0]
    for t in prange(n_r * n_m):
        r = t // n_m
        m = t - r * n_m
        counts = np.zeros(n_labels, dtype=np.int64)
        best = 0
        n_best = 0
        lowest = -1
        kk = 0
        for j in range(ks_sorted[n_k - 1]):
            best, n_best, lowest = _add_vote(counts, labels[r, indices[m, j]], best, n_best, lowest)
            while kk < n_k and ks_sorted[kk] == j + 1:
                if n_best == 1 or tie == _LOWEST:
                    p = lowest
                elif tie == _STRICT:
                    p = -1
                else:
                    p = _tied_label(counts, best, _uniform_index(seed, r, m, j + 1, n_best))
                out[r, m, order[kk]] = p
                kk += 1


@njit(parallel=True, cache=True)
def _accuracy_kernel(
    indices, labels, test_labels, ks_sorted, order, n_labels, tie, seed, expected, partial
):  # pragma: no cover - compiled
    """Like :func:`_predict_kernel`, summing the credit per block of ``_ACC_BLOCK`` test examples.

    ``test_labels`` (M,) int64; adds into ``partial`` (R, ceil(M / _ACC_BLOCK), n_k) float64.
    """
    n_r = labels.shape[0]
    n_m = indices.shape[0]
    n_k = ks_sorted.shape[0]
    n_blocks = partial.shape[1]
    for t in prange(n_r * n_blocks):
        r = t // n_blocks
        blk = t - r * n_blocks
        counts = np.zeros(n_labels, dtype=np.int64)
        for m in range(blk * _ACC_BLOCK, min((blk + 1) * _ACC_BLOCK, n_m)):
            counts[:] = 0
            truth = test_labels[m]
            best = 0
            n_best = 0
            lowest = -1
            kk = 0
            for j in range(ks_sorted[n_k - 1]):
                best, n_best, lowest = _add_vote(counts, labels[r, indices[m, j]], best, n_best, lowest)
                while kk < n_k and ks_sorted[kk] == j + 1:
                    if counts[truth] == best:
                        if n_best == 1 or (tie == _LOWEST and truth == lowest):
                            credit = 1.0
                        elif tie == _RANDOM and expected:
                            credit = 1.0 / n_best
                        elif tie == _RANDOM:
                            pick = _uniform_index(seed, r, m, j + 1, n_best)
                            credit = 1.0 if _tied_label(counts, best, pick) == truth else 0.0
                        else:
                            credit = 0.0
                        partial[r, blk, order[kk]] += credit
                    kk += 1


@njit(parallel=True, cache=True)
def _histogram_kernel(indices, labels, ks_sorted, order, out):  # pragma: no cover - compiled
    """Label histograms of the first K neighbours: ``labels`` (N,) int64, writes ``out`` (n_k, M, L)."""
    n_m = indices.shape[0]
    n_k = ks_sorted.shape[0]
    n_labels = out.shape[2]
    for m in prange(n_m):
        counts = np.zeros(n_labels, dtype=np.float64)
        kk = 0
        for j in range(ks_sorted[n_k - 1]):
            counts[labels[indices[m, j]]] += 1.0
            while kk < n_k and ks_sorted[kk] == j + 1:
                for lab in range(n_labels):
                    out[order[kk], m, lab] = counts[lab] / (j + 1)
                kk += 1
