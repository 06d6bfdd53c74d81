"""The exact neighbour graph: the ``k_max`` nearest training examples of every test example.

How :func:`neighbor_graph` computes it (exact, deterministic):

1. Test rows in chunks of ``chunk_size`` (and training rows in blocks of ``_TRAIN_BLOCK``): one float32
   matrix product (BLAS, multi-threaded) gives the score ``||b||^2 - 2 a.b`` -- the squared distance
   minus ``||a||^2``, which does not change the ranking -- and a numba kernel keeps the ``k_max + 8``
   smallest scores of each row in a heap (one pass, parallel over rows). Memory is bounded by
   ``chunk_size * min(n_train, _TRAIN_BLOCK)`` floats.
2. The candidates' squared distances are recomputed in float64 as ``sum((a - b)^2)`` (no cancellation)
   and sorted by (distance, training index): ties in distance go to the lower training index.
3. A certificate makes the top ``k_max`` exact, not just likely: every float32 score is within a proven
   rounding bound of the true one, so when the largest candidate score minus that bound still exceeds the
   ``k_max``-th exact distance, no non-candidate can belong to the top ``k_max``. Rows that fail the check
   (exactly or nearly equal distances at the boundary, duplicates) are recomputed against all training
   rows in float64.

On MNIST pixels (60,000 x 10,000, 784-d, ``k_max = 100``, 2 CPU cores) this takes about 4 s against
about 8 s for scikit-learn's brute-force ``kneighbors`` (which upcasts to float64 for its products);
``torch.mm`` in place of numpy's product and ``torch.topk`` in place of the heap were not faster
(``python -m benchmarks knn``). Without steps 2-3, 1% of the MNIST rows list some neighbours in a
different order (near-equal distances swapped) and 3 rows of 10,000 a different top-100 set.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from tqdm.auto import tqdm

from knnoise._checks import check_int, check_points, fail
from knnoise._store import memory
from knnoise.knn._graph_kernels import _exhaustive, _refine, _select

__all__ = ["NeighborGraph", "neighbor_graph"]

_EXTRA = 8  # candidates beyond k_max kept from the float32 pass
_TRAIN_BLOCK = 65_536  # training rows per matrix product (bounds memory with chunk_size)
CHUNK_SIZE = 512  # test rows per chunk: a 123 MB float32 block on MNIST (Binder has 2 GB in all)
_AUTO_PROGRESS_PAIRS = 2e8  # n_test * n_train above which the progress bar shows by default
_U32 = 2.0**-24  # unit roundoff of float32


@dataclass(frozen=True, eq=False)
class NeighborGraph:
    """The exact ``k_max`` nearest training examples of every test example.

    Attributes
    ----------
    indices : numpy.ndarray
        ``int32``, shape ``(M, k_max)``: training row indices, by increasing Euclidean distance; equal
        distances are ordered by training index.
    distances : numpy.ndarray
        ``float32``, shape ``(M, k_max)``: the Euclidean distances (computed in float64, then rounded).
    n_train : int
        Number of training rows ``N`` (label vectors read through the graph have length ``N``).
    """

    indices: np.ndarray
    distances: np.ndarray
    n_train: int

    def __post_init__(self) -> None:
        idx = np.asarray(self.indices)
        dist = np.asarray(self.distances)
        if idx.ndim != 2 or idx.shape[1] < 1 or dist.shape != idx.shape:
            allowed = "arrays of one shape (M, k_max) with k_max >= 1"
            raise fail("indices and distances", allowed, f"shape {idx.shape} and {dist.shape}")
        n_train = check_int("n_train", self.n_train, minimum=idx.shape[1], what=" (the k_max of indices)")
        if idx.size and (idx.min() < 0 or idx.max() >= n_train):
            bad = int(idx.min()) if idx.min() < 0 else int(idx.max())
            raise fail("indices", f"training rows in 0..{n_train - 1} (n_train = {n_train})", bad)
        object.__setattr__(self, "indices", np.ascontiguousarray(idx, dtype=np.int32))
        object.__setattr__(self, "distances", np.ascontiguousarray(dist, dtype=np.float32))
        object.__setattr__(self, "n_train", n_train)

    @property
    def n_test(self) -> int:
        """Number of test examples ``M``."""
        return self.indices.shape[0]

    @property
    def k_max(self) -> int:
        """Number of neighbours stored per test example."""
        return self.indices.shape[1]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NeighborGraph):
            return NotImplemented
        return (
            self.n_train == other.n_train
            and np.array_equal(self.indices, other.indices)
            and np.array_equal(self.distances, other.distances)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"NeighborGraph(n_test={self.n_test}, k_max={self.k_max}, n_train={self.n_train})"


def neighbor_graph(
    x_train: ArrayLike,
    x_test: ArrayLike,
    k_max: int,
    *,
    chunk_size: int = CHUNK_SIZE,
    cache: bool = True,
    progress: bool | None = None,
) -> NeighborGraph:
    """The exact top-``k_max`` Euclidean neighbours of every test row among the training rows.

    The neighbourhoods ``N(x_s)`` of the paper's Section 4 (Fig. 3 uses MNIST pixels, 784-d, and network
    features for CIFAR-10 and ImageNet). Computed once per embedding and reused for every noise draw,
    noise level and K (the labels are only read through the graph). See the module docstring for the
    algorithm: float32 matrix products in chunks, float64 re-ranking of ``k_max + 8`` candidates, and a
    rounding-error certificate that makes the result exact, with ties in distance broken by the lower
    training index.

    Parameters
    ----------
    x_train : array_like, shape (N, D)
        Training examples (float32, float64 or integer), e.g. ``Dataset.flat("train")``.
    x_test : array_like, shape (M, D)
        Test examples, same number of columns.
    k_max : int
        Neighbours kept per test example, ``1 <= k_max <= N``; every later vote needs ``K <= k_max``.
    chunk_size : int, default 512
        Test rows per matrix product. Peak extra memory is about
        ``4 * chunk_size * min(N, 65536)`` bytes (123 MB for MNIST at the default; 2048 is 4% faster
        there and takes 0.5 GB).
    cache : bool, default True
        Cache the graph on disk through :func:`knnoise._store.memory`, keyed by the arrays' contents and
        ``k_max``; a second call with the same data is a load.
    progress : bool, optional
        Show a progress bar over chunks; by default only when ``N * M > 2e8``.

    Returns
    -------
    NeighborGraph
        ``indices`` (M, k_max) int32 and ``distances`` (M, k_max) float32, sorted by distance.

    Raises
    ------
    ValueError
        If the arrays are not 2-D with the same number of columns, hold non-finite values, or ``k_max``
        is not in ``1..N``.

    Notes
    -----
    A test row whose certificate fails (an exact or near tie in distance at the ``k_max`` boundary) is
    recomputed against every training row in float64: about 20 ms per row on MNIST. On MNIST 5 of
    10,000 rows need it; data with many duplicate training rows would need it for many rows.
    """
    xtr = check_points("x_train", x_train)
    xte = check_points("x_test", x_test)
    if xtr.shape[1] != xte.shape[1]:
        allowed = f"an array with the same number of columns as x_train {xtr.shape}"
        raise fail("x_test", allowed, f"shape {xte.shape}")
    k_max = check_int("k_max", k_max, maximum=xtr.shape[0], what=f" (n_train = {xtr.shape[0]})")
    chunk_size = check_int("chunk_size", chunk_size)
    if progress is None:
        progress = float(xtr.shape[0]) * xte.shape[0] > _AUTO_PROGRESS_PAIRS
    if cache:
        compute = memory().cache(_graph_arrays, ignore=["chunk_size", "progress"])
    else:
        compute = _graph_arrays
    indices, distances = compute(xtr, xte, k_max, chunk_size=chunk_size, progress=bool(progress))
    return NeighborGraph(indices=indices, distances=distances, n_train=xtr.shape[0])


def _graph_arrays(x_train, x_test, k_max, chunk_size, progress):
    """The cached unit: ``(indices, distances)`` as plain arrays (robust to edits of NeighborGraph)."""
    indices, distances, _ = _graph_impl(x_train, x_test, k_max, chunk_size, progress)
    return indices, distances


def _exact_dtype(*arrays: np.ndarray) -> type:
    """float32 when every value is exactly a float32 (float32 data, integers below 2**24), else float64."""
    for arr in arrays:
        if arr.dtype == np.float64:
            return np.float64
        if arr.dtype.kind in "iu" and arr.dtype.itemsize > 2 and np.abs(arr).max() >= 2**24:
            return np.float64
    return np.float32


def _prepare(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays every chunk reads: exact and float32 copies, squared norms, the rounding bound.

    Returns ``xtr_exact`` (N, D), ``xte_exact`` (M, D) (float32 unless the data are not exactly float32),
    their float32 copies ``xtr32``, ``xte32``, ``norms_te`` (M,) float64, ``nb32`` (N,) float32 and
    ``bound`` (M,) float64.
    """
    exact_dtype = _exact_dtype(x_train, x_test)
    xtr_exact = np.ascontiguousarray(x_train, dtype=exact_dtype)
    xte_exact = np.ascontiguousarray(x_test, dtype=exact_dtype)
    xtr32 = xtr_exact if exact_dtype == np.float32 else np.ascontiguousarray(x_train, dtype=np.float32)
    xte32 = xte_exact if exact_dtype == np.float32 else np.ascontiguousarray(x_test, dtype=np.float32)
    norms_tr = np.einsum("ij,ij->i", xtr_exact, xtr_exact, dtype=np.float64)
    norms_te = np.einsum("ij,ij->i", xte_exact, xte_exact, dtype=np.float64)
    # Rounding bound of the float32 score (conversion to float32, the dot product of length D, the
    # norm, the subtraction): |score - exact| <= (D + 8) u (|a| + |b|)^2, doubled as a safety margin.
    bound = (2.0 * x_train.shape[1] + 16.0) * _U32 * (np.sqrt(norms_te) + np.sqrt(norms_tr.max())) ** 2
    return xtr_exact, xte_exact, xtr32, xte32, norms_te, norms_tr.astype(np.float32), bound


def _graph_impl(x_train, x_test, k_max, chunk_size, progress, refine: bool = True, gemm: str = "numpy"):
    """Compute the graph; also return timing and count statistics (for the benchmark).

    ``refine=False`` returns the float32 ranking as it is (ties by index), to measure what the float64
    re-ranking changes; ``gemm`` picks the matrix product ("torch" or "numpy").
    """
    stats = {"gemm_s": 0.0, "select_s": 0.0, "refine_s": 0.0, "fallback_s": 0.0, "n_fallback": 0}
    n_train, n_test = x_train.shape[0], x_test.shape[0]
    n_cand = min(k_max + _EXTRA, n_train) if refine else k_max
    xtr_exact, xte_exact, xtr32, xte32, norms_te, nb32, bound = _prepare(x_train, x_test)
    matmul = _matmul(gemm, xtr32)
    rows = min(chunk_size, n_test)
    buffer = np.empty(rows * min(n_train, _TRAIN_BLOCK), dtype=np.float32)  # reshaped per block
    heap_s = np.empty((rows, n_cand), dtype=np.float32)
    heap_i = np.empty((rows, n_cand), dtype=np.int64)

    indices = np.empty((n_test, k_max), dtype=np.int32)
    dist2 = np.empty((n_test, k_max), dtype=np.float64)
    failed = []
    starts = range(0, n_test, chunk_size)
    for start in tqdm(starts, desc="neighbour graph", unit="chunk", disable=not progress, leave=False):
        stop = min(start + chunk_size, n_test)
        n = stop - start
        hs, hi = heap_s[:n], heap_i[:n]
        hs.fill(np.inf)
        hi.fill(n_train)
        for b0 in range(0, n_train, _TRAIN_BLOCK):
            b1 = min(b0 + _TRAIN_BLOCK, n_train)
            t0 = time.perf_counter()
            dots = matmul(xte32[start:stop], b0, b1, buffer[: n * (b1 - b0)].reshape(n, b1 - b0))
            t1 = time.perf_counter()
            _select(dots, nb32[b0:b1], b0, hs, hi)
            stats["gemm_s"] += t1 - t0
            stats["select_s"] += time.perf_counter() - t1
        t2 = time.perf_counter()
        if refine:
            thresh = norms_te[start:stop] + hs.max(axis=1).astype(np.float64) - bound[start:stop]
            ok = _refine(xtr_exact, xte_exact[start:stop], hi, thresh, n_cand < n_train,
                         indices[start:stop], dist2[start:stop])  # fmt: skip
            failed.extend((start + np.flatnonzero(~ok)).tolist())
        else:
            order = np.lexsort((hi, hs), axis=1)[:, :k_max]
            indices[start:stop] = np.take_along_axis(hi, order, 1)
            score = np.take_along_axis(hs, order, 1).astype(np.float64)
            dist2[start:stop] = np.maximum(norms_te[start:stop, None] + score, 0.0)
        stats["refine_s"] += time.perf_counter() - t2
    if failed:
        t3 = time.perf_counter()
        _fallback(xtr_exact, xte_exact, np.asarray(failed, dtype=np.int64), indices, dist2)
        stats["fallback_s"] = time.perf_counter() - t3
        stats["n_fallback"] = len(failed)
    distances = np.sqrt(dist2).astype(np.float32)
    return indices, distances, stats


def _fallback(xtr_exact, xte_exact, rows_failed, indices, dist2) -> None:
    """Recompute ``rows_failed`` (the rows whose certificate failed) against every training row."""
    k_max = indices.shape[1]
    sub_idx = np.empty((len(rows_failed), k_max), dtype=np.int32)
    sub_d2 = np.empty((len(rows_failed), k_max), dtype=np.float64)
    _exhaustive(xtr_exact, xte_exact[rows_failed], sub_idx, sub_d2)
    indices[rows_failed], dist2[rows_failed] = sub_idx, sub_d2


def _matmul(gemm: str, xtr32: np.ndarray) -> Callable[..., np.ndarray]:
    """``f(a, b0, b1, out)``: ``a @ xtr32[b0:b1].T`` written into ``out`` (float32)."""
    if gemm == "numpy":

        def product(a, b0, b1, out):
            return np.matmul(a, xtr32[b0:b1].T, out=out)

        return product
    import torch

    # torch.from_numpy warns on read-only arrays; the tensors only read them.
    b_t = torch.from_numpy(xtr32 if xtr32.flags.writeable else xtr32.copy())

    def product(a, b0, b1, out):
        a_t = torch.from_numpy(a if a.flags.writeable else a.copy())
        with torch.no_grad():
            torch.mm(a_t, b_t[b0:b1].T, out=torch.from_numpy(out))
        return out

    return product
