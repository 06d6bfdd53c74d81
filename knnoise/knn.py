"""The empirical K-NN side of the paper: a neighbour graph computed once, then votes for many K and many
label vectors, and the clean neighbourhood distribution ``C_s`` of Eq. 3.

The neighbours of a test example do not depend on the training labels. :func:`neighbor_graph` finds the
exact ``k_max`` nearest training examples of every test example once (cached on disk); then
:func:`knn_predict` / :func:`knn_accuracy` re-read any number of label vectors (noise draws, noise
levels) through the graph and vote for every requested K in one pass, and :func:`clean_distribution` gives
the label histogram of the K nearest clean neighbours, the input ``C_s`` of Eq. 3 that the analytic side
(:func:`knnoise.analytic.expected_accuracy`) turns into a predicted accuracy.

How the graph is computed (exact, deterministic):

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

Votes (:func:`knn_predict`) use the three tie modes of the analytic solver: ``lowest`` (scikit-learn's
``KNeighborsClassifier``), ``random`` (uniform among the tied labels; a counter-based hash of ``(seed,
draw, test example, K)``, so a prediction does not depend on the other ks asked for or on threads) and
``strict`` (the paper's Eq. 2: a tie for first place predicts ``-1``, i.e. counts as wrong).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from tqdm.auto import tqdm

from knnoise.cache import memory

__all__ = [
    "TIE_MODES",
    "NeighborGraph",
    "clean_distribution",
    "knn_accuracy",
    "knn_predict",
    "neighbor_graph",
]

TIE_MODES = ("strict", "random", "lowest")
_STRICT, _RANDOM, _LOWEST = 0, 1, 2
_EXTRA = 8  # candidates beyond k_max kept from the float32 pass
_TRAIN_BLOCK = 65_536  # training rows per matrix product (bounds memory with chunk_size)
_AUTO_PROGRESS_PAIRS = 2e8  # n_test * n_train above which the progress bar shows by default
_ACC_BLOCK = 256  # test examples per partial sum in the accuracy kernel
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
            raise ValueError(
                f"indices and distances must both have shape (M, k_max) with k_max >= 1, got {idx.shape} "
                f"and {dist.shape}"
            )
        if isinstance(self.n_train, bool) or not isinstance(self.n_train, (int, np.integer)):
            raise TypeError(f"n_train must be an integer, got {self.n_train!r}")
        if self.n_train < idx.shape[1]:
            raise ValueError(f"n_train must be >= k_max = {idx.shape[1]}, got {self.n_train}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_train):
            raise ValueError(f"indices must lie in 0..{self.n_train - 1} (n_train = {self.n_train})")
        object.__setattr__(self, "indices", np.ascontiguousarray(idx, dtype=np.int32))
        object.__setattr__(self, "distances", np.ascontiguousarray(dist, dtype=np.float32))
        object.__setattr__(self, "n_train", int(self.n_train))

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


# ----------------------------------------------------------------------------------------------------
# Validation (all of it runs before any numba code)
# ----------------------------------------------------------------------------------------------------
def _check_int(name: str, value, minimum: int, maximum: int | None = None, what: str = "") -> int:
    allowed = f"an integer in {minimum}..{maximum}" if maximum is not None else f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {allowed}{what}, got {value!r} of type {type(value).__name__}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {allowed}{what}, got {value}")
    return int(value)


def _check_points(name: str, value) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a numeric (float or integer) array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (rows = examples, columns = features), got shape {arr.shape}"
            + (" (flatten images, e.g. with Dataset.flat(split))" if arr.ndim > 2 else "")
        )
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have at least one row and one column, got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = tuple(int(b) for b in bad)
        raise ValueError(f"{name} must be finite, got {arr[tuple(bad)]} at index {where}")
    return arr


def _exact_dtype(*arrays: np.ndarray) -> type:
    """float32 when every value is exactly a float32 (float32 data, integers below 2**24), else float64."""
    for arr in arrays:
        if arr.dtype == np.float64:
            return np.float64
        if arr.dtype.kind in "iu" and arr.dtype.itemsize > 2 and np.abs(arr).max() >= 2**24:
            return np.float64
    return np.float32


def _check_graph(graph) -> NeighborGraph:
    if not isinstance(graph, NeighborGraph):
        raise TypeError(f"graph must be a NeighborGraph (from neighbor_graph), got {type(graph).__name__}")
    return graph


def _check_ties(ties: str) -> int:
    if ties not in TIE_MODES:
        raise ValueError(f"ties must be one of {TIE_MODES}, got {ties!r}")
    return TIE_MODES.index(ties)


def _check_ks(value, k_max: int, name: str = "ks") -> tuple[np.ndarray, bool]:
    """The ks as an int64 array, and whether a single int was given."""
    what = f" (K <= k_max = {k_max} of the graph)"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return np.array([_check_int(name, value, 1, k_max, what)], dtype=np.int64), True
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray, range)):
        raise TypeError(f"{name} must be an integer K or a 1-D sequence of them, got {value!r}")
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be an integer K or a 1-D sequence of them, got shape {arr.shape}")
    ks = [_check_int(f"{name}[{i}]", k, 1, k_max, what) for i, k in enumerate(arr.tolist())]
    if not ks:
        raise ValueError(f"{name} must contain at least one K, got an empty sequence")
    return np.asarray(ks, dtype=np.int64), False


def _check_labels(name: str, value, length: int, length_what: str, n_labels: int | None, batch: bool):
    """Labels as a C-contiguous int64 array of shape (R, length), and whether one vector was given."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.isfinite(arr).all() and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must be integer labels, got dtype {arr.dtype}")
    shapes = f"({length},) or (R, {length})" if batch else f"({length},)"
    if arr.ndim not in ((1, 2) if batch else (1,)) or arr.shape[-1] != length:
        raise ValueError(f"{name} must have shape {shapes} ({length_what}), got shape {arr.shape}")
    single = arr.ndim == 1
    arr = np.ascontiguousarray(arr.reshape(-1, length), dtype=np.int64)
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        top = n_labels - 1 if n_labels is not None else None
        if lo < 0 or (top is not None and hi > top):
            bad = lo if lo < 0 else hi
            allowed = f"0..{top} (n_labels = {n_labels})" if top is not None else ">= 0"
            raise ValueError(f"{name} must be labels in {allowed}, got {bad}")
    if arr.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one label vector, got shape {np.shape(value)}")
    return arr, single


def _resolve_n_labels(n_labels, *label_arrays: np.ndarray) -> int:
    if n_labels is not None:
        return _check_int("n_labels", n_labels, 1)
    return max(int(a.max()) for a in label_arrays) + 1


def _seed_value(seed) -> int:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"seed must be a non-negative integer or a numpy.random.Generator, got {seed!r}")
    return int(seed) & (2**63 - 1)


# ----------------------------------------------------------------------------------------------------
# The neighbour graph
# ----------------------------------------------------------------------------------------------------
def neighbor_graph(
    x_train,
    x_test,
    k_max: int,
    *,
    chunk_size: int = 2048,
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
    chunk_size : int, default 2048
        Test rows per matrix product. Peak extra memory is about
        ``4 * chunk_size * min(N, 65536)`` bytes (0.5 GB for MNIST at the default).
    cache : bool, default True
        Cache the graph on disk through :func:`knnoise.cache.memory`, keyed by the arrays' contents and
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
    xtr = _check_points("x_train", x_train)
    xte = _check_points("x_test", x_test)
    if xtr.shape[1] != xte.shape[1]:
        raise ValueError(
            f"x_train and x_test must have the same number of columns, got x_train {xtr.shape} "
            f"and x_test {xte.shape}"
        )
    k_max = _check_int("k_max", k_max, 1, xtr.shape[0], f" (n_train = {xtr.shape[0]})")
    chunk_size = _check_int("chunk_size", chunk_size, 1)
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


def _graph_impl(x_train, x_test, k_max, chunk_size, progress, refine: bool = True, gemm: str = "numpy"):
    """Compute the graph; also return timing and count statistics (for the benchmark).

    ``refine=False`` returns the float32 ranking as it is (ties by index), to measure what the float64
    re-ranking changes; ``gemm`` picks the matrix product ("torch" or "numpy").
    """
    stats = {"gemm_s": 0.0, "select_s": 0.0, "refine_s": 0.0, "fallback_s": 0.0, "n_fallback": 0}
    n_train, n_test = x_train.shape[0], x_test.shape[0]
    n_cand = min(k_max + _EXTRA, n_train) if refine else k_max
    # Exact copies for the float64 re-ranking (float32 unless the data are not exactly float32).
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
    nb32 = norms_tr.astype(np.float32)
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
        rows_failed = np.asarray(failed, dtype=np.int64)
        sub_idx = np.empty((len(rows_failed), k_max), dtype=np.int32)
        sub_d2 = np.empty((len(rows_failed), k_max), dtype=np.float64)
        _exhaustive(xtr_exact, xte_exact[rows_failed], sub_idx, sub_d2)
        indices[rows_failed], dist2[rows_failed] = sub_idx, sub_d2
        stats["fallback_s"] = time.perf_counter() - t3
        stats["n_fallback"] = len(rows_failed)
    distances = np.sqrt(dist2).astype(np.float32)
    return indices, distances, stats


def _matmul(gemm: str, xtr32: np.ndarray):
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


@njit(parallel=True, cache=True)
def _select(dots, nb, offset, heap_s, heap_i):  # pragma: no cover - compiled
    """Keep, per row, the ``n_cand`` smallest scores ``nb - 2 dots`` in a max-heap (float32).

    A score equal to the heap's maximum is not taken, so earlier (lower) indices win exact ties; every
    score left out is >= the final heap maximum, which the certificate relies on.
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
    """Exact float64 squared distances of the candidates, sorted by (distance, index); certify each row."""
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
    """Exact float64 top-k against every training row (rows whose certificate failed)."""
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


# ----------------------------------------------------------------------------------------------------
# Votes
# ----------------------------------------------------------------------------------------------------
def _prepare_votes(graph, train_labels, ks, n_labels, ties, test_labels=None):
    graph = _check_graph(graph)
    tie = _check_ties(ties)
    ks_arr, single_k = _check_ks(ks, graph.k_max)
    labels, single_r = _check_labels(
        "train_labels", train_labels, graph.n_train, f"n_train = {graph.n_train} of the graph", n_labels, True
    )
    extra = []
    if test_labels is not None:
        tl, _ = _check_labels(
            "test_labels", test_labels, graph.n_test, f"n_test = {graph.n_test} of the graph", n_labels, False
        )
        extra.append(tl[0])
    n_lab = _resolve_n_labels(n_labels, labels, *extra)
    # One pass over the neighbours in increasing K: sort the ks, remember where each one goes.
    order = np.argsort(ks_arr, kind="stable")
    return graph, tie, ks_arr, ks_arr[order], order, single_k, labels, single_r, n_lab, extra


def knn_predict(
    graph: NeighborGraph,
    train_labels,
    ks,
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
        From :func:`neighbor_graph`.
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
    graph, tie, ks_arr, ks_sorted, order, single_k, labels, single_r, n_lab, _ = _prepare_votes(
        graph, train_labels, ks, n_labels, ties
    )
    seed_v = _seed_value(seed) if tie == _RANDOM else 0
    pred = np.empty((labels.shape[0], graph.n_test, len(ks_arr)), dtype=np.int64)
    _predict_kernel(graph.indices, labels, ks_sorted, order.astype(np.int64), n_lab, tie, seed_v, pred)
    if single_k:
        pred = pred[..., 0]
    return pred[0] if single_r else pred


def knn_accuracy(
    graph: NeighborGraph,
    train_labels,
    test_labels,
    ks,
    *,
    n_labels: int | None = None,
    ties: str = "lowest",
    seed: int | np.random.Generator = 0,
    expected: bool = False,
) -> np.ndarray:
    """Mean accuracy of the K-NN vote against ``test_labels``: the empirical counterpart of Eq. 1-2.

    With ``ties="strict"`` it is what Theorem 1 (Eq. 2) models, with ``ties="random", expected=True``
    what :func:`knnoise.analytic.expected_accuracy` gives for ``ties="random"``, and with
    ``ties="lowest"`` scikit-learn's ``KNeighborsClassifier`` accuracy.

    Parameters
    ----------
    graph, train_labels, ks, n_labels, ties, seed
        As in :func:`knn_predict`.
    test_labels : array_like of int, shape (M,)
        The (clean) test labels.
    expected : bool, default False
        Only with ``ties="random"``: instead of one random draw, the expected accuracy over the tie
        breaking, i.e. credit ``1 / #tied`` when the true label is among the labels tied for first place
        -- what :func:`knnoise.analytic.plurality_accuracy` with ``ties="random"`` predicts.

    Returns
    -------
    numpy.ndarray of float64
        Shape ``(len(ks),)`` for one label vector, ``(R, len(ks))`` for R; a float when additionally
        ``ks`` is a single int.
    """
    graph, tie, ks_arr, ks_sorted, order, single_k, labels, single_r, n_lab, extra = _prepare_votes(
        graph, train_labels, ks, n_labels, ties, test_labels
    )
    if not isinstance(expected, (bool, np.bool_)):
        raise TypeError(f"expected must be a bool, got {expected!r}")
    if expected and tie != _RANDOM:
        raise ValueError(f"expected=True needs ties='random' (expected credit 1/#tied), got ties={ties!r}")
    seed_v = _seed_value(seed) if tie == _RANDOM else 0
    n_blocks = -(-graph.n_test // _ACC_BLOCK)
    partial = np.zeros((labels.shape[0], n_blocks, len(ks_arr)), dtype=np.float64)
    _accuracy_kernel(
        graph.indices, labels, extra[0], ks_sorted, order.astype(np.int64), n_lab, tie, seed_v,
        bool(expected), partial,
    )  # fmt: skip
    acc = partial.sum(axis=1) / graph.n_test
    if single_k:
        acc = acc[..., 0]
    return acc[0] if single_r else acc


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
    """One pass over the neighbours per (label vector, test example), reading the vote at each K."""
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
    """Like :func:`_predict_kernel`, summing the credit per block of ``_ACC_BLOCK`` test examples."""
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


# ----------------------------------------------------------------------------------------------------
# Clean neighbourhood distribution (C_s of Eq. 3)
# ----------------------------------------------------------------------------------------------------
def clean_distribution(graph: NeighborGraph, train_labels, k, n_labels: int) -> np.ndarray:
    """The label histogram of the K nearest training examples of each test example, normalised.

    This is ``C_s`` of the paper's Eq. 3 for K-NN: the distribution of a neighbour's clean label, which
    Eq. 3 turns into the distribution ``q`` of its observed (noisy) label.

    Parameters
    ----------
    graph : NeighborGraph
        From :func:`neighbor_graph`.
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
    n_lab = _check_int("n_labels", n_labels, 1)
    ks_arr, single_k = _check_ks(k, graph.k_max, "k")
    labels, _ = _check_labels(
        "train_labels", train_labels, graph.n_train, f"n_train = {graph.n_train} of the graph", n_lab, False
    )
    order = np.argsort(ks_arr, kind="stable")
    out = np.empty((len(ks_arr), graph.n_test, n_lab), dtype=np.float64)
    _histogram_kernel(graph.indices, labels[0], ks_arr[order], order.astype(np.int64), out)
    return out[0] if single_k else out


@njit(parallel=True, cache=True)
def _histogram_kernel(indices, labels, ks_sorted, order, out):  # pragma: no cover - compiled
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
