"""Numba kernels of the neighbour graph (:mod:`knnoise.knn.graph`): heap selection, re-ranking, fallback.

All three write into arrays the caller allocates; shapes are stated per kernel. ``M`` test rows (of the
current chunk), ``N`` training rows (of the current block), ``D`` features, ``C`` candidates per row.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__: list[str] = []


@njit(parallel=True, cache=True)
def _select(dots, nb, offset, heap_s, heap_i):  # pragma: no cover - compiled
    """Keep, per row, the ``C`` smallest scores ``nb - 2 dots`` in a max-heap (float32).

    ``dots`` (M, N) float32, ``nb`` (N,) float32 squared norms, ``offset`` the block's first training
    index; ``heap_s`` (M, C) float32 and ``heap_i`` (M, C) int64 are updated in place. A score equal to
    the heap's maximum is not taken, so earlier (lower) indices win exact ties; every score left out is
    >= the final heap maximum, which the certificate relies on.
    """
    n_rows, n_cols = dots.shape
    n_cand = heap_s.shape[1]
    for i in prange(n_rows):
        hs = heap_s[i]
        hi = heap_i[i]
        for j in range(n_cols):
            s = nb[j] - np.float32(2.0) * dots[i, j]
            if s < hs[0]:
                # replace the root and sift down
                pos = 0
                while True:
                    child = 2 * pos + 1
                    if child >= n_cand:
                        break
                    if child + 1 < n_cand and hs[child + 1] > hs[child]:
                        child += 1
                    if hs[child] <= s:
                        break
                    hs[pos] = hs[child]
                    hi[pos] = hi[child]
                    pos = child
                hs[pos] = s
                hi[pos] = offset + j


@njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
def _refine(xtr, xte, cand, thresh, check, out_idx, out_d2):  # pragma: no cover - compiled
    """Exact float64 squared distances of the candidates, sorted by (distance, index); certify each row.

    ``cand`` (M, C) candidate training rows, ``thresh`` (M,) the certificate's bound; writes ``out_idx``
    (M, k_max) and ``out_d2`` (M, k_max). Returns ``ok`` (M,) bool: False where the certificate failed
    (only when ``check``, i.e. when some training rows were not candidates).
    """
    n_rows, n_cand = cand.shape
    k_max = out_idx.shape[1]
    dim = xtr.shape[1]
    ok = np.ones(n_rows, dtype=np.bool_)
    for i in prange(n_rows):
        c = np.sort(cand[i])
        d2 = np.empty(n_cand, dtype=np.float64)
        for j in range(n_cand):
            s = 0.0
            b = c[j]
            for f in range(dim):
                diff = np.float64(xte[i, f]) - np.float64(xtr[b, f])
                s += diff * diff
            d2[j] = s
        order = np.argsort(d2, kind="mergesort")  # stable: equal distances keep index order
        for j in range(k_max):
            out_idx[i, j] = c[order[j]]
            out_d2[i, j] = d2[order[j]]
        if check and not out_d2[i, k_max - 1] < thresh[i]:
            ok[i] = False
    return ok


@njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
def _exhaustive(xtr, xte, out_idx, out_d2):  # pragma: no cover - compiled
    """Exact float64 top-k against every training row (rows whose certificate failed).

    ``xtr`` (N, D), ``xte`` (M, D); writes ``out_idx`` (M, k_max) and ``out_d2`` (M, k_max).
    """
    n_train, dim = xtr.shape
    k_max = out_idx.shape[1]
    for i in prange(xte.shape[0]):
        d2 = np.empty(n_train, dtype=np.float64)
        for b in range(n_train):
            s = 0.0
            for f in range(dim):
                diff = np.float64(xte[i, f]) - np.float64(xtr[b, f])
                s += diff * diff
            d2[b] = s
        order = np.argsort(d2, kind="mergesort")
        for j in range(k_max):
            out_idx[i, j] = order[j]
            out_d2[i, j] = d2[order[j]]
