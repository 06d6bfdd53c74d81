"""Analytic K-NN accuracy under label noise: Theorem 1 and Eq. 1-4 of Drory et al.

The K neighbours' observed labels are modelled as K i.i.d. draws from a distribution ``q`` over the L
labels (Eq. 3 gives ``q`` from the clean neighbourhood distribution and the noise process). Theorem 1
(Eq. 2) is the probability that the true label wins the plurality vote among those K draws.

How the solver works (see the Theory chapter for the derivation):

* Condition on the true label's count ``t``: ``P(n_i = t) = Binom(K, t; q_i)``. Given ``t``, the other
  ``K - t`` draws are multinomial over the other labels with probabilities ``p_j = q_j / (1 - q_i)``.
* ``G_t(m)``, the probability that ``m`` such draws leave every other label below ``t`` (strict ties), is a
  dynamic programme over the labels: ``g_j(s) = sum_n Binom(s, n; pi_j) g_{j-1}(s - n)`` with
  ``pi_j = p_j / (p_1 + ... + p_j)``, where ``g_j(s)`` is the probability that ``s`` draws among the first
  ``j`` labels leave each of them below its cap. The solver keeps the scaled states
  ``u_j(s) = g_j(s) rho^s / s!``, for which a step is a short convolution with a fixed kernel,
  ``u_j(s) = sum_n (rho pi_j)^n / n! * (1 - pi_j)^(s - n) u_{j-1}(s - n)``: no table of binomials,
  every term positive. With ``rho = K / e`` every factor ``rho^s / s!`` lies between about
  ``1 / sqrt(2 pi K)`` and ``e^(K / e)``, so nothing overflows or underflows to garbage for K up to
  ``MAX_K = 2000`` (the paper's Eq. 4 multiplies K!-sized multinomial coefficients by powers instead).
* One pass over ``m = 0 .. K_max - t`` gives ``G_t`` for *every* K of a sweep at once. Every
  ``t > K/2`` needs no DP at all (no other label can reach ``t``), and neither does ``t > K/3``: with
  fewer than ``2t`` other draws at most one other label can reach ``t``, so the failures are disjoint
  and ``G_t = 1 - sum_j P(Binom(m, p_j) >= t)`` (per tie rule).
* Ties: ``strict`` caps the others at ``t - 1`` (Eq. 2); ``lowest`` caps labels below the true one at
  ``t - 1`` and those above it at ``t``; ``random`` gives expected credit ``1 / (1 + #tied)``, written
  as ``integral_0^1 x^#tied dx``: the DP carries a weight ``x`` on a count of exactly ``t`` and the
  integral, a polynomial in ``x``, is evaluated exactly by Gauss-Legendre quadrature.
* Pruning with a proven bound ``tol`` on the absolute error of each probability: values of ``t`` whose
  binomial weight is below ``tol / (2 T)`` are skipped, and other labels whose chance of reaching the
  cap is below a per-``t`` budget (a union bound ``C(S, f) p^f``) are merged into one unconstrained
  label. ``tol=0`` disables all pruning; the default ``1e-14`` is at the level of rounding (the
  floating-point rounding of the DP itself, about 1e-13 at L = 1000, comes on top of ``tol``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from numba import njit, prange
from tqdm.auto import tqdm

__all__ = [
    "DEFAULT_TOL",
    "MAX_K",
    "TIE_MODES",
    "expected_accuracy",
    "expected_accuracy_local",
    "noisy_label_distribution",
    "plurality_accuracy",
]

TIE_MODES = ("strict", "random", "lowest")
DEFAULT_TOL = 1e-14
MAX_K = 2000
_STRICT, _RANDOM, _LOWEST = 0, 1, 2
_SUM_TOL = 1e-9
_AUTO_PROGRESS_ROWS = 20_000
_CHUNK_ROWS = 2_000
_RHO_MAX = 650.0  # e**650 < 1.8e308: the DP's scaled states cannot overflow (see _scale)
# Re-association lets LLVM vectorise the DP's dot products (the results change only at rounding level).
_FASTMATH = {"reassoc", "contract", "nsz"}


# ----------------------------------------------------------------------------------------------------
# Validation (all of it runs before any numba code)
# ----------------------------------------------------------------------------------------------------
def _check_probabilities(name: str, value, allow_batch: bool = True) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a float array of probabilities, got dtype {arr.dtype}")
    arr = np.asarray(arr, dtype=np.float64)
    allowed = "(L,) or (M, L)" if allow_batch else "(L,)"
    if arr.ndim not in ((1, 2) if allow_batch else (1,)) or arr.shape[-1] < 1:
        raise ValueError(f"{name} must have shape {allowed} with L >= 1, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} must be finite, got {arr[tuple(bad)]} at index {tuple(int(b) for b in bad)}"
        )
    if np.any(arr < 0):
        bad = np.argwhere(arr < 0)[0]
        raise ValueError(
            f"{name} must be non-negative, got {arr[tuple(bad)]} at index {tuple(int(b) for b in bad)}"
        )
    sums = arr.sum(axis=-1)
    off = np.abs(sums - 1.0) > _SUM_TOL
    if np.any(off):
        where = int(np.argmax(off)) if arr.ndim == 2 else 0
        total = float(np.atleast_1d(sums)[where])
        row = f" (row {where})" if arr.ndim == 2 else ""
        raise ValueError(
            f"{name} must sum to 1 (within {_SUM_TOL:g}) along its last axis; got {total!r}{row}"
        )
    return arr


def _check_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{name} must be an integer >= {minimum}, got {value!r} of type {type(value).__name__}"
        )
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def _check_ks(name: str, value) -> tuple[np.ndarray, bool]:
    """Return the ks as an int64 array and whether a single int was given."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return np.array([_check_k_range(name, _check_int(name, value))], dtype=np.int64), True
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray, range)):
        raise TypeError(f"{name} must be a positive integer or a 1-D sequence of them, got {value!r}")
    ks = [_check_int(f"{name}[{i}]", k) for i, k in enumerate(np.asarray(value).ravel().tolist())]
    if not ks:
        raise ValueError(f"{name} must contain at least one K, got {value!r}")
    _check_k_range(name, max(ks))
    return np.asarray(ks, dtype=np.int64), False


def _check_k_range(name: str, k: int) -> int:
    if k > MAX_K:
        raise ValueError(
            f"{name} must be at most {MAX_K} (the largest K the solver's scaled DP covers), got {k}"
        )
    return k


def _check_ties(ties: str) -> int:
    if ties not in TIE_MODES:
        raise ValueError(f"ties must be one of {TIE_MODES}, got {ties!r}")
    return TIE_MODES.index(ties)


def _check_tol(tol: float) -> float:
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not 0 <= tol < 1:
        raise ValueError(f"tol must be a number in [0, 1), got {tol!r}")
    return float(tol)


def _check_labels(name: str, value, n_rows: int, n_labels: int, scalar_ok: bool) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" or arr.dtype == bool:
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must be integer label(s) in 0..{n_labels - 1}, got {value!r}")
    if arr.ndim == 0:
        if not scalar_ok:
            raise ValueError(f"{name} must have shape ({n_rows},), got a scalar")
        arr = np.full(n_rows, int(arr), dtype=np.int64)
    elif arr.shape != (n_rows,):
        raise ValueError(f"{name} must have shape ({n_rows},) to match the rows of q, got shape {arr.shape}")
    if np.any((arr < 0) | (arr >= n_labels)):
        bad = arr[(arr < 0) | (arr >= n_labels)][0]
        raise ValueError(f"{name} must be in 0..{n_labels - 1} (L = {n_labels}), got {int(bad)}")
    return arr.astype(np.int64)


def check_corruption(corruption, n_labels: int | None = None) -> np.ndarray:
    """A square, non-negative, row-stochastic ``P[y, y_noisy]`` as float64, or a clear ``ValueError``."""
    P = np.asarray(corruption, dtype=np.float64)
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise ValueError(f"corruption must be a square (L, L) matrix, got shape {P.shape}")
    if n_labels is not None and P.shape[0] != n_labels:
        raise ValueError(
            f"corruption must be ({n_labels}, {n_labels}) to match L = {n_labels}, got {P.shape}"
        )
    if not np.all(np.isfinite(P)) or np.any(P < 0):
        raise ValueError("corruption must be finite and non-negative (a row-stochastic matrix P[y, y_noisy])")
    sums = P.sum(axis=1)
    if np.any(np.abs(sums - 1.0) > _SUM_TOL):
        row = int(np.argmax(np.abs(sums - 1.0)))
        raise ValueError(f"corruption must be row-stochastic: row {row} sums to {sums[row]!r}, expected 1")
    return P


def check_fraction(name: str, value) -> float:
    """A number in [0, 1] (a noise level), or a clear error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1] (a fraction of the training labels), got {value!r}")
    return float(value)


# ----------------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------------
def noisy_label_distribution(clean, gamma: float, corruption) -> np.ndarray:
    """Eq. 3: the distribution of a neighbour's *observed* label.

    ``q = (1 - gamma) * clean + gamma * clean @ corruption``.

    Parameters
    ----------
    clean : array_like, shape (L,) or (M, L)
        Clean neighbourhood label distribution(s) ``C_s``.
    gamma : float in [0, 1]
        Fraction of training examples selected for corruption.
    corruption : array_like, shape (L, L)
        Row-stochastic corruption matrix, ``P[y, y_noisy]``.
    """
    C = _check_probabilities("clean", clean)
    g = check_fraction("gamma", gamma)
    P = check_corruption(corruption, C.shape[-1])
    return (1.0 - g) * C + g * (C @ P)


def plurality_accuracy(q, k, label, ties: str = "strict", *, tol: float = DEFAULT_TOL):
    """Theorem 1 (Eq. 2): probability that ``label`` wins the plurality vote of ``k`` i.i.d. draws from ``q``.

    Parameters
    ----------
    q : array_like, shape (L,) or (M, L)
        Label distribution(s) of a neighbour (rows sum to 1).
    k : int >= 1, or a sequence of them
        Number of neighbours. A sequence evaluates a whole K sweep in one pass.
    label : int or array_like of int, shape (M,)
        The true label (one per row of ``q``).
    ties : {"strict", "random", "lowest"}
        ``strict``: a tie for first counts as wrong (the paper). ``random``: ties are broken uniformly at
        random (expected credit ``1/#tied``). ``lowest``: ties go to the lowest label index (scikit-learn).
    tol : float, optional
        Bound on the absolute error of each probability from pruned terms (0 disables pruning).

    Returns
    -------
    float or ndarray
        A float for one ``q`` and one ``k``; shape (M,) for a batch; a trailing axis of ``len(k)`` when
        ``k`` is a sequence.
    """
    Q = _check_probabilities("q", q)
    ks, single_k = _check_ks("k", k)
    tie = _check_ties(ties)
    tol = _check_tol(tol)
    single_q = Q.ndim == 1
    Q2 = Q[None, :] if single_q else Q
    labels = _check_labels("label", label, Q2.shape[0], Q2.shape[1], scalar_ok=True)
    if single_q and np.ndim(label) != 0:
        raise ValueError(f"label must be a single int for a single q, got shape {np.shape(label)}")
    out = _solve(Q2, labels, ks, tie, tol, progress=False)
    if single_k:
        out = out[:, 0]
    if single_q:
        return float(out[0]) if single_k else out[0]
    return out


def expected_accuracy(
    clean,
    labels,
    gammas,
    corruption,
    ks,
    ties: str = "strict",
    *,
    tol: float = DEFAULT_TOL,
    progress: bool | None = None,
) -> np.ndarray:
    """Eq. 1: expected K-NN accuracy, the mean over test examples of Theorem 1 with Eq. 3's ``q``.

    Parameters
    ----------
    clean : array_like, shape (M, L)
        Clean neighbourhood distribution ``C_s`` of each test example (or a clean-trained net's softmax).
    labels : array_like of int, shape (M,)
        True test labels.
    gammas : sequence of float in [0, 1]
        Noise levels (fraction of training examples selected for corruption).
    corruption : array_like, shape (L, L)
        Row-stochastic corruption matrix ``P[y, y_noisy]``.
    ks : int or sequence of int >= 1
        Neighbourhood sizes.
    ties, tol
        As in :func:`plurality_accuracy`.
    progress : bool, optional
        Show a progress bar (default: only for large problems).

    Returns
    -------
    ndarray, shape (len(gammas), len(ks))
    """
    C = _check_probabilities("clean", clean)
    if C.ndim != 2:
        raise ValueError(f"clean must have shape (M, L), got shape {C.shape}")
    lab = _check_labels("labels", labels, C.shape[0], C.shape[1], scalar_ok=False)
    g_arr = np.atleast_1d(np.asarray(gammas, dtype=object))
    if g_arr.ndim != 1 or g_arr.size == 0:
        raise ValueError(f"gammas must be a non-empty 1-D sequence of noise levels, got {gammas!r}")
    g_list = [check_fraction(f"gammas[{i}]", g) for i, g in enumerate(g_arr.tolist())]
    P = check_corruption(corruption, C.shape[1])
    k_arr, _ = _check_ks("ks", ks)
    tie = _check_ties(ties)
    tol = _check_tol(tol)
    CP = C @ P
    Q = np.concatenate([(1.0 - g) * C + g * CP for g in g_list])
    acc = _solve(Q, np.tile(lab, len(g_list)), k_arr, tie, tol, progress=progress)
    return acc.reshape(len(g_list), C.shape[0], len(k_arr)).mean(axis=1)


def expected_accuracy_local(
    clean, labels, local_gamma, corruption, ks, ties: str = "strict", *, tol: float = DEFAULT_TOL
) -> np.ndarray:
    """Eq. 1 with a *local* noise rate (beyond the paper): each test example's own corrupted fraction.

    For locally concentrated noise the global gamma says little about a given neighbourhood; here Eq. 3 is
    applied with ``local_gamma[s]``, e.g. the fraction of corrupted examples among the K neighbours of test
    example ``s``: ``q_s = (1 - g_s) C_s + g_s C_s P``. With ``local_gamma`` constant this is
    :func:`expected_accuracy` at one gamma.

    Parameters
    ----------
    clean : array_like, shape (M, L)
        Clean neighbourhood distributions.
    labels : array_like of int, shape (M,)
        True test labels.
    local_gamma : array_like, shape (M,)
        Per-example noise rate in [0, 1].
    corruption, ks, ties, tol
        As in :func:`expected_accuracy`.

    Returns
    -------
    ndarray, shape (len(ks),)
    """
    C = _check_probabilities("clean", clean)
    if C.ndim != 2:
        raise ValueError(f"clean must have shape (M, L), got shape {C.shape}")
    lab = _check_labels("labels", labels, C.shape[0], C.shape[1], scalar_ok=False)
    g = np.asarray(local_gamma, dtype=np.float64)
    if g.shape != (C.shape[0],):
        raise ValueError(f"local_gamma must have shape ({C.shape[0]},), got {g.shape}")
    if not np.all((g >= 0) & (g <= 1)):
        raise ValueError(f"local_gamma must be in [0, 1], got values from {g.min()} to {g.max()}")
    P = check_corruption(corruption, C.shape[1])
    k_arr, _ = _check_ks("ks", ks)
    Q = (1.0 - g)[:, None] * C + g[:, None] * (C @ P)
    return _solve(Q, lab, k_arr, _check_ties(ties), _check_tol(tol), progress=None).mean(axis=0)


# ----------------------------------------------------------------------------------------------------
# Driver: normalise, deduplicate rows, sort K, chunk for the progress bar
# ----------------------------------------------------------------------------------------------------
def _solve(Q: np.ndarray, labels: np.ndarray, ks: np.ndarray, tie: int, tol: float, progress) -> np.ndarray:
    Q = Q / Q.sum(axis=1, keepdims=True)
    keyed = np.ascontiguousarray(np.column_stack([Q, labels.astype(np.float64)]))
    uniq, inverse = np.unique(keyed, axis=0, return_inverse=True)
    Qu = np.ascontiguousarray(uniq[:, :-1])
    lu = uniq[:, -1].astype(np.int64)
    k_sorted, k_back = np.unique(ks, return_inverse=True)
    n_labels = Q.shape[1]
    k_max = int(k_sorted[-1])
    lfact = np.array([math.lgamma(n + 1.0) for n in range(k_max + 1)])
    rho, unscale = _scale(k_max)
    gl_x, gl_w = _gauss_legendre_01(_max_nodes(n_labels, k_max) if tie == _RANDOM else 1)
    show = progress if progress is not None else len(Qu) >= _AUTO_PROGRESS_ROWS
    out = np.empty((len(Qu), len(k_sorted)))
    with tqdm(total=len(Qu), desc="plurality accuracy", unit="q", disable=not show) as bar:
        for start in range(0, len(Qu), _CHUNK_ROWS):
            stop = min(start + _CHUNK_ROWS, len(Qu))
            out[start:stop] = _batch(
                Qu[start:stop], lu[start:stop], k_sorted, tie, tol, lfact, rho, unscale, gl_x, gl_w
            )
            bar.update(stop - start)
    excess = max(float(out.max(initial=0.0)) - 1.0, -float(out.min(initial=0.0)))
    if excess > 1e-9:  # pragma: no cover - would be a solver bug, never silently clipped
        raise RuntimeError(f"plurality accuracy left [0, 1] by {excess:g}; please report this input")
    np.clip(out, 0.0, 1.0, out=out)  # removes only rounding excursions (checked above)
    return out[inverse.ravel()][:, k_back.ravel()]


def _scale(k_max: int) -> tuple[float, np.ndarray]:
    """The DP's scale ``rho`` and ``unscale[s] = s! / rho**s`` (the DP stores ``g(s) rho**s / s!``).

    With ``rho = k_max / e`` every scale factor ``rho**s / s!`` (s <= k_max) lies between about
    ``1 / sqrt(2 pi k_max)`` and ``e**rho``. Above K = 1766, ``rho`` stops at 650 (``e**650 < 1.8e308``);
    at ``MAX_K`` the smallest factor is then about ``1e-108``, still far from underflow.
    """
    rho = max(1.0, min(k_max / math.e, _RHO_MAX))
    # A running product: its rounding grows like sqrt(s) ulps, where exp(lgamma) would carry the rounding
    # of a number as large as log(k_max!) (about 1e-13 relative at K = 1000).
    return rho, np.concatenate(([1.0], np.cumprod(np.arange(1, k_max + 1) / rho)))


def _max_nodes(n_labels: int, k_max: int) -> int:
    """Gauss-Legendre nodes needed for the random tie integral (degree <= min(L-1, K-1))."""
    return max(1, min(n_labels - 1, k_max - 1)) // 2 + 1


@lru_cache(maxsize=8)
def _gauss_legendre_01(n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Tables ``x[n, :n]``, ``w[n, :n]``: the n-point Gauss-Legendre rule on [0, 1], for n <= n_max."""
    xs = np.zeros((n_max + 1, n_max))
    ws = np.zeros((n_max + 1, n_max))
    for n in range(1, n_max + 1):
        x, w = np.polynomial.legendre.leggauss(n)
        xs[n, :n] = 0.5 * (x + 1.0)
        ws[n, :n] = 0.5 * w
    xs.setflags(write=False)
    ws.setflags(write=False)
    return xs, ws


# ----------------------------------------------------------------------------------------------------
# numba kernels
# ----------------------------------------------------------------------------------------------------
@njit(cache=True, parallel=True)
def _batch(Q, labels, ks, tie, tol, lfact, rho, unscale, gl_x, gl_w):  # pragma: no cover - compiled
    out = np.empty((Q.shape[0], ks.shape[0]))
    for row in prange(Q.shape[0]):
        out[row] = _row(Q[row], labels[row], ks, tie, tol, lfact, rho, unscale, gl_x, gl_w)
    return out


@njit(cache=True)
def _binomial_rows(qi, ks):  # pragma: no cover - compiled
    """``B[kk, t] = Binom(ks[kk], t; qi)``, by Pascal's rule (all terms are probabilities)."""
    nk = ks.shape[0]
    k_max = ks[nk - 1]
    B = np.zeros((nk, k_max + 1))
    row = np.zeros(k_max + 1)
    row[0] = 1.0
    ri = 1.0 - qi
    kk = 0
    for n in range(1, k_max + 1):
        for t in range(n, 0, -1):
            row[t] = qi * row[t - 1] + ri * row[t]
        row[0] *= ri
        if kk < nk and ks[kk] == n:
            B[kk, : n + 1] = row[: n + 1]
            kk += 1
    return B


@njit(cache=True)
def _binom_pmf(m, p, n, lfact, log_p, log_q):  # pragma: no cover - compiled
    """``Binom(m, n; p)`` from log-factorials and ``log_p = log(p)``, ``log_q = log(1 - p)`` (one exp)."""
    if n < 0 or n > m:
        return 0.0
    if p >= 1.0:
        return 1.0 if n == m else 0.0
    return math.exp(lfact[m] - lfact[n] - lfact[m - n] + n * log_p + (m - n) * log_q)


@njit(cache=True)
def _binom_tail(m, p, f, lfact, log_p, log_q):  # pragma: no cover - compiled
    """``P(Binom(m, p) >= f)``, summing from ``f`` outwards over terms that only shrink."""
    if f <= 0:
        return 1.0
    if f > m:
        return 0.0
    if p >= 1.0:
        return 1.0
    ratio = p / (1.0 - p)
    if f > (m + 1) * p:  # above the mode: terms decrease upwards
        term = _binom_pmf(m, p, f, lfact, log_p, log_q)
        total = term
        for n in range(f, m):
            term *= (m - n) / (n + 1.0) * ratio
            total += term
            if term <= 1e-18 * total:
                break
        return total
    # At or below the mode: 1 - the lower tail, whose terms decrease downwards.
    term = _binom_pmf(m, p, f - 1, lfact, log_p, log_q)
    total = term
    for n in range(f - 1, 0, -1):
        term *= n / ((m - n + 1.0) * ratio)
        total += term
        if term <= 1e-18 * total:
            break
    return max(0.0, 1.0 - total)


@njit(cache=True)
def _cap_and_first(tie, t, other, label):  # pragma: no cover - compiled
    """Largest count another label may reach and the first count that is not fully credited."""
    if tie == 0:  # strict: others <= t - 1
        return t - 1, t
    if tie == 1:  # random: others <= t, a count of exactly t carries the weight x
        return t, t
    if other < label:  # lowest: a lower index wins a tie against the true label
        return t - 1, t
    return t, t + 1


@njit(cache=True, fastmath=_FASTMATH)
def _row(q, label, ks, tie, tol, lfact, rho, unscale, gl_x, gl_w):  # pragma: no cover - compiled
    nk = ks.shape[0]
    k_max = ks[nk - 1]
    out = np.zeros(nk)
    n_labels = q.shape[0]

    # The other labels with positive probability, sorted by decreasing p_j = q_j / (1 - q_i).
    n_o = 0
    rest = 0.0
    for j in range(n_labels):
        if j != label and q[j] > 0.0:
            n_o += 1
            rest += q[j]
    if n_o == 0:
        out[:] = 1.0
        return out
    qi = q[label] / (q[label] + rest)
    pv = np.empty(n_o)
    orig = np.empty(n_o, np.int64)
    n_o = 0
    for j in range(n_labels):
        if j != label and q[j] > 0.0:
            pv[n_o] = q[j] / rest
            orig[n_o] = j
            n_o += 1
    order = np.argsort(-pv)
    p = pv[order]
    orig = orig[order]
    prefix = np.cumsum(p)
    suffix = np.zeros(n_o + 1)
    for r in range(n_o - 1, -1, -1):
        suffix[r] = suffix[r + 1] + p[r]

    B = _binomial_rows(qi, ks)

    # Values of t that need no DP: t > K/2 wins for sure.
    for kk in range(nk):
        k = ks[kk]
        for t in range(k // 2 + 1, k + 1):
            out[kk] += B[kk, t]
    t_max = k_max // 2
    if t_max == 0:
        return out

    # Which t to solve, with which error budget, which labels to constrain and how many nodes.
    pmax = np.zeros(t_max + 1)
    for kk in range(nk):
        for t in range(1, ks[kk] // 2 + 1):
            if B[kk, t] > pmax[t]:
                pmax[t] = B[kk, t]
    m_min = np.full(t_max + 1, k_max)  # the smallest m = K - t any K of the sweep needs
    for kk in range(nk - 1, -1, -1):
        for t in range(1, ks[kk] // 2 + 1):
            m_min[t] = ks[kk] - t
    skip = tol / (2.0 * t_max)
    log_p = np.log(p)
    log_q = np.log1p(-p)
    room = np.zeros(t_max + 1, np.int64)  # the most draws the constrained labels (still to come) can take
    n_con = np.zeros(t_max + 1, np.int64)  # labels 0..n_con-1 (sorted order) are constrained
    nodes = np.zeros(t_max + 1, np.int64)
    active = np.zeros(t_max + 1, np.bool_)
    single = np.zeros(t_max + 1, np.bool_)
    for t in range(1, t_max + 1):
        if pmax[t] <= skip:
            continue
        active[t] = True
        s_t = k_max - t
        nc = n_o
        if tol > 0.0:
            log_delta = math.log(tol / (2.0 * t_max * pmax[t]) / n_o)
            nc = 0
            for r in range(n_o - 1, -1, -1):
                f = _cap_and_first(tie, t, orig[r], label)[1]
                if f <= s_t and lfact[s_t] - lfact[f] - lfact[s_t - f] + f * log_p[r] > log_delta:
                    nc = r + 1
                    break
            # Merging pays only when it saves more DP work than the merged label's convolution costs.
            if 0 < nc < n_o and (n_o - nc) * (s_t - t + 1) * (t + 1) < s_t * s_t:
                nc = n_o
        n_con[t] = nc
        for r in range(nc):
            room[t] += _cap_and_first(tie, t, orig[r], label)[0]
        if nc == n_o and room[t] < m_min[t]:  # the others cannot hold m draws below the caps: G_t = 0
            active[t] = False
            continue
        nodes[t] = min(nc, s_t // t) // 2 + 1 if tie == 1 else 1
        # With fewer than 2t other draws at most one other label can reach t: the failures are disjoint
        # events, and G_t = 1 - sum of per-label binomial tails (no DP needed).
        single[t] = s_t < 2 * t

    # DP state: for every active t and quadrature node, g(s) for s = 0 .. k_max - t, in one flat array.
    offset = np.zeros(t_max + 2, np.int64)
    for t in range(1, t_max + 1):
        in_dp = active[t] and n_con[t] > 0 and not single[t]
        offset[t + 1] = offset[t] + (nodes[t] * (k_max - t + 1) if in_dp else 0)
    g = np.zeros(offset[t_max + 1])
    for t in range(1, t_max + 1):
        for nd in range(nodes[t] if active[t] and n_con[t] > 0 and not single[t] else 0):
            g[offset[t] + nd * (k_max - t + 1) + k_max - t] = 1.0  # zero labels, zero draws (s = 0)
    lo = np.ones(t_max + 1, np.int64)  # g(s) == 1 for s < lo
    hi = np.zeros(t_max + 1, np.int64)  # g(s) == 0 for s > hi

    kern = np.empty(t_max + 2)
    om_pow = np.empty(k_max + 1)
    prev = np.empty(k_max + t_max + 2)
    kw = np.empty(t_max + 2)
    for r in range(n_o):
        c_max = -1
        s_max = -1
        for t in range(1, t_max + 1):
            if active[t] and r < n_con[t] and not single[t]:
                cap = _cap_and_first(tie, t, orig[r], label)[0]
                c_max = max(c_max, cap)
                s_max = max(s_max, min(k_max - t, hi[t] + cap))  # the states this label's DP reads
        if c_max < 0:
            continue
        # u_r(s) = sum_n (rho pi_r)^n / n! * om_r^(s-n) u_{r-1}(s-n), with u(s) = g(s) rho^s / s!.
        pi = p[r] / prefix[r]
        om = prefix[r - 1] / prefix[r] if r > 0 else 0.0
        kern[0] = 1.0
        for n in range(1, c_max + 1):
            kern[n] = kern[n - 1] * (rho * pi / n)
        om_pow[k_max] = 1.0  # om_pow[k_max - j] = om^j
        for j in range(1, s_max + 1):
            om_pow[k_max - j] = om_pow[k_max - j + 1] * om
        for t in range(1, t_max + 1):
            if not (active[t] and r < n_con[t]) or single[t]:
                continue
            cap, first = _cap_and_first(tie, t, orig[r], label)
            s_t = k_max - t
            old_hi = hi[t]
            new_hi = min(s_t, old_hi + cap)
            new_lo = 1 if r == 0 else min(lo[t], first)
            # Without a merged label, states too small to reach the smallest needed m are dead.
            room[t] -= cap
            s_floor = new_lo
            if n_con[t] == n_o:
                s_floor = max(new_lo, m_min[t] - room[t])
            j_lo = s_floor - cap
            for nd in range(nodes[t]):
                w_top = gl_x[nodes[t], nd] if tie == 1 else 1.0
                base = offset[t] + nd * (s_t + 1)
                # prev[s_t - j] = om^j u(j), zero for j < 0 and j > old_hi, so that every sum runs
                # over n = 0..cap. (u(s) is stored reversed too, at base + s_t - s.) The loops run over
                # views from index 0, so that no index can be negative and the loads stay contiguous.
                i_lo = s_t - new_hi
                i_mid = s_t - max(j_lo, 0) + 1
                src = g[base + i_lo : base + i_mid]
                scale = om_pow[t + i_lo : t + i_mid]
                dst = prev[i_lo:i_mid]
                for i in range(i_mid - i_lo):
                    dst[i] = scale[i] * src[i]
                prev[i_mid : s_t - j_lo + 1] = 0.0
                for n in range(cap):
                    kw[n] = kern[n]
                kw[cap] = w_top * kern[cap]  # a count of exactly cap carries w_top
                width = cap + 1
                s = new_hi
                while s - 3 >= s_floor:  # four states at a time: independent sums sharing the kernel
                    at = s_t - s
                    win = prev[at : at + width + 3]
                    acc0 = acc1 = acc2 = acc3 = 0.0
                    for n in range(width):
                        w = kw[n]
                        acc0 += w * win[n]
                        acc1 += w * win[n + 1]
                        acc2 += w * win[n + 2]
                        acc3 += w * win[n + 3]
                    g[base + at] = acc0
                    g[base + at + 1] = acc1
                    g[base + at + 2] = acc2
                    g[base + at + 3] = acc3
                    s -= 4
                while s >= s_floor:
                    at = s_t - s
                    win = prev[at : at + width]
                    acc0 = 0.0
                    for n in range(width):
                        acc0 += kw[n] * win[n]
                    g[base + at] = acc0
                    s -= 1
            lo[t] = first if r == 0 else new_lo
            hi[t] = new_hi

    # Combine nodes, add the merged unconstrained labels, and weight by P(n_i = t).
    u_buf = np.empty(k_max + 1)
    kern_buf = np.empty(k_max + 1)
    for t in range(1, t_max + 1):
        if not active[t]:
            continue
        if single[t]:
            for kk in range(nk):
                m = ks[kk] - t
                if m < t:  # t > K/2: already counted
                    continue
                loss = 0.0
                for r in range(n_con[t]):
                    cap, first = _cap_and_first(tie, t, orig[r], label)
                    if first > m:
                        continue
                    if tie == 1:  # a tie at t earns 1/2, more than t loses
                        loss += _binom_tail(m, p[r], t + 1, lfact, log_p[r], log_q[r]) + 0.5 * _binom_pmf(
                            m, p[r], t, lfact, log_p[r], log_q[r]
                        )
                    else:
                        loss += _binom_tail(m, p[r], cap + 1, lfact, log_p[r], log_q[r])
                out[kk] += B[kk, t] * (1.0 - loss)
            continue
        s_t = k_max - t
        if n_con[t] == n_o and nodes[t] == 1:  # no merged label, no quadrature: read G(m) directly
            for kk in range(nk):
                m = ks[kk] - t
                if m >= t:  # t <= K/2
                    out[kk] += B[kk, t] * unscale[m] * g[offset[t] + s_t - m]
            continue
        if n_con[t] == 0:  # every other label merged: nothing constrains them, G_t = 1
            for kk in range(nk):
                if ks[kk] - t >= t:
                    out[kk] += B[kk, t]
            continue
        u = u_buf[: s_t + 1]  # the scaled states, quadrature nodes combined: u[j] = sum_nd w_nd u_nd(j)
        u[:] = 0.0
        for nd in range(nodes[t]):
            w_nd = gl_w[nodes[t], nd] if tie == 1 else 1.0
            base = offset[t] + nd * (s_t + 1)
            for j in range(s_t + 1):
                u[j] += w_nd * g[base + s_t - j]
        if n_con[t] < n_o:
            # The merged labels are one more DP step without a cap, evaluated only at the m needed:
            # u_f(m) = sum_n (rho pi_f)^n / n! * om_f^(m - n) u(m - n). Scaling u by om_f^j first keeps
            # every product below e^rho.
            om_f = prefix[n_con[t] - 1] / (prefix[n_con[t] - 1] + suffix[n_con[t]])
            x_f = rho * (1.0 - om_f)
            kern_f = kern_buf[: s_t + 1]
            kern_f[0] = 1.0
            power = 1.0
            for j in range(1, s_t + 1):
                kern_f[j] = kern_f[j - 1] * (x_f / j)
                power *= om_f
                u[j] *= power
        for kk in range(nk):
            m = ks[kk] - t
            if m < t:  # t > K/2: already counted
                continue
            val = u[m]
            if n_con[t] < n_o:
                val = 0.0
                for n in range(m + 1):
                    val += kern_f[n] * u[m - n]
            out[kk] += B[kk, t] * unscale[m] * val
    return out
