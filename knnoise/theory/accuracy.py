"""Analytic K-NN accuracy under label noise: Theorem 1 and Eq. 1-3 of Drory et al. (public API).

The K neighbours' observed labels are modelled as K i.i.d. draws from a distribution ``q`` over the L
labels (Eq. 3 gives ``q`` from the clean neighbourhood distribution and the noise process). Theorem 1
(Eq. 2) is the probability that the true label wins the plurality vote among those K draws; Eq. 1
averages it over the test set.

Every input is checked here (through :mod:`knnoise._checks`) before any numba code runs. The solver
itself (:mod:`knnoise.theory._solver` and the step modules it drives) is exact up to a proven bound
``tol`` on the absolute error of each probability from pruned terms: values of ``t`` whose binomial weight
is below ``tol / (2 T)`` are skipped, and other labels whose chance of reaching the cap is below a
per-``t`` budget are merged into one unconstrained label. ``tol=0`` disables all pruning; the default
``1e-14`` is at the level of rounding (the floating-point rounding of the DP itself, about 1e-13 at
L = 1000, comes on top of ``tol``). K is limited to ``MAX_K = 2000`` (the range the scaled DP covers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from knnoise._checks import (
    TIE_MODES,
    check_corruption,
    check_fraction,
    check_int_array,
    check_ks,
    check_noise_levels,
    check_number,
    check_probabilities,
    check_ties,
    fail,
)
from knnoise.theory._solver import progress_bar, solve

__all__ = [
    "DEFAULT_TOL",
    "MAX_K",
    "TIE_MODES",
    "expected_accuracy",
    "expected_accuracy_local",
    "noisy_label_distribution",
    "plurality_accuracy",
]

DEFAULT_TOL = 1e-14
"""Default bound on the absolute error of each probability from pruned terms (rounding level)."""
MAX_K = 2000
"""The largest K the solver's scaled DP covers."""


# ----------------------------------------------------------------------------------------------------
# Input checks (all of them run before any numba code)
# ----------------------------------------------------------------------------------------------------
def _check_ks(name: str, value: Any) -> tuple[np.ndarray, bool]:
    return check_ks(name, value, maximum=MAX_K, what=" (the largest K the solver's scaled DP covers)")


def _check_tol(tol: Any) -> float:
    return check_number("tol", tol, low=0.0, high=1.0, high_open=True)


def _check_clean(clean: Any) -> np.ndarray:
    C = check_probabilities("clean", clean)
    if C.ndim != 2:
        raise fail("clean", "an array of shape (M, L), one row per test example", f"shape {C.shape}")
    return C


def _check_labels(name: str, value: Any, n_rows: int, n_labels: int, scalar_ok: bool) -> np.ndarray:
    """Labels in 0..L-1, shape (n_rows,); one int is broadcast when ``scalar_ok``."""
    arr = check_int_array(name, value, n_labels=n_labels)
    if arr.ndim == 0 and scalar_ok:
        return np.full(n_rows, int(arr), dtype=np.int64)
    if arr.shape != (n_rows,):
        allowed = f"an int or shape ({n_rows},)" if scalar_ok else f"an array of shape ({n_rows},)"
        raise fail(name, f"{allowed} to match the rows of q", f"shape {arr.shape}")
    return arr


def _check_local_gamma(value: Any, n_rows: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"local_gamma must be noise rates in [0, 1], got dtype {arr.dtype}")
    if arr.shape != (n_rows,):
        raise fail(
            "local_gamma", f"an array of shape ({n_rows},) (one rate per row of clean)", f"shape {arr.shape}"
        )
    g = arr.astype(np.float64)
    if not np.all((g >= 0) & (g <= 1)):
        raise fail("local_gamma", "in [0, 1] (noise rates)", f"values from {g.min()} to {g.max()}")
    return g


def _normalised(Q: np.ndarray) -> np.ndarray:
    """Rows of a mixture of probability rows, renormalised to sum to 1 (rounding only)."""
    return Q / Q.sum(axis=1, keepdims=True)


# ----------------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------------
def noisy_label_distribution(clean: Any, gamma: float, corruption: Any) -> np.ndarray:
    """Eq. 3: the distribution of a neighbour's *observed* label.

    ``q = (1 - gamma) * clean + gamma * clean @ corruption``.

    Parameters
    ----------
    clean : array_like, shape (L,) or (M, L)
        Clean neighbourhood label distribution(s) ``C_s`` (rows renormalised in float64).
    gamma : float in [0, 1]
        Fraction of training examples selected for corruption.
    corruption : array_like, shape (L, L)
        Row-stochastic corruption matrix, ``P[y, y_noisy]``.

    Returns
    -------
    ndarray, the shape of ``clean``
    """
    C = check_probabilities("clean", clean)
    g = check_fraction("gamma", gamma)
    P = check_corruption(corruption, C.shape[-1])
    return (1.0 - g) * C + g * (C @ P)


def plurality_accuracy(q: Any, k: Any, label: Any, ties: str = "strict", *, tol: float = DEFAULT_TOL):
    """Theorem 1 (Eq. 2): probability that ``label`` wins the plurality vote of ``k`` i.i.d. draws from ``q``.

    Parameters
    ----------
    q : array_like, shape (L,) or (M, L)
        Label distribution(s) of a neighbour. Rows must sum to 1 up to their dtype's rounding (float32 and
        float16 softmax outputs are accepted) and are renormalised in float64.
    k : int >= 1, or a sequence of them (each <= MAX_K)
        Number of neighbours. A sequence evaluates a whole K sweep in one pass.
    label : int or array_like of int, shape (M,)
        The true label (one per row of ``q``).
    ties : {"strict", "random", "lowest"}
        ``strict``: a tie for first counts as wrong (the paper). ``random``: ties are broken uniformly at
        random (expected credit ``1/#tied``). ``lowest``: ties go to the lowest label index (scikit-learn).
    tol : float in [0, 1), optional
        Bound on the absolute error of each probability from pruned terms (0 disables pruning).

    Returns
    -------
    float or ndarray
        A float for one ``q`` and one ``k``; shape (M,) for a batch; a trailing axis of ``len(k)`` when
        ``k`` is a sequence.
    """
    Q = check_probabilities("q", q)
    ks, single_k = _check_ks("k", k)
    tie = check_ties(ties)
    tol = _check_tol(tol)
    single_q = Q.ndim == 1
    Q2 = Q[None, :] if single_q else Q
    labels = _check_labels("label", label, Q2.shape[0], Q2.shape[1], scalar_ok=True)
    if single_q and np.ndim(label) != 0:
        raise fail("label", "a single int for a single q", f"shape {np.shape(label)}")
    out = solve(Q2, labels, ks, tie, tol, progress=False)
    if single_k:
        out = out[:, 0]
    if single_q:
        return float(out[0]) if single_k else out[0]
    return out


def expected_accuracy(
    clean: Any,
    labels: Any,
    gammas: Any,
    corruption: Any,
    ks: Any,
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
    C = _check_clean(clean)
    lab = _check_labels("labels", labels, C.shape[0], C.shape[1], scalar_ok=False)
    g_list = check_noise_levels("gammas", gammas).tolist()
    P = check_corruption(corruption, C.shape[1])
    k_arr, _ = _check_ks("ks", ks)
    tie = check_ties(ties)
    tol = _check_tol(tol)
    CP = C @ P
    out = np.empty((len(g_list), len(k_arr)))
    # One gamma at a time, averaged at once: memory O(M len(ks)), not O(len(gammas) M len(ks)).
    with progress_bar(len(g_list) * C.shape[0], progress) as bar:
        for i, g in enumerate(g_list):
            Q = _normalised((1.0 - g) * C + g * CP)
            out[i] = solve(Q, lab, k_arr, tie, tol, progress=False, bar=bar).mean(axis=0)
    return out


def expected_accuracy_local(
    clean: Any,
    labels: Any,
    local_gamma: Any,
    corruption: Any,
    ks: Any,
    ties: str = "strict",
    *,
    tol: float = DEFAULT_TOL,
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
    C = _check_clean(clean)
    lab = _check_labels("labels", labels, C.shape[0], C.shape[1], scalar_ok=False)
    g = _check_local_gamma(local_gamma, C.shape[0])
    P = check_corruption(corruption, C.shape[1])
    k_arr, _ = _check_ks("ks", ks)
    tie = check_ties(ties)
    tol = _check_tol(tol)
    Q = _normalised((1.0 - g)[:, None] * C + g[:, None] * (C @ P))
    return solve(Q, lab, k_arr, tie, tol, progress=None).mean(axis=0)
