"""Tie rules inside the DP: each other label's cap, the random rule's Gauss-Legendre quadrature.

(Also the kernels' shared compile flags, :data:`FASTMATH`: this is the module every kernel imports.)

Given the true label's count ``t`` (Theory chapter, "Ties"):

* ``strict`` (Eq. 2): every other label must stay at or below ``t - 1``;
* ``lowest``: labels below the true one (which win a tie against it) at ``t - 1``, those above it at ``t``;
* ``random``: every other label at or below ``t``; the credit ``1 / (1 + #tied)`` is written as
  ``integral_0^1 x^#tied dx``, so a count of exactly ``t`` carries a weight ``x`` in the DP and the
  integral, a polynomial in ``x`` of degree at most ``min(L - 1, K - 1)``, is exact under Gauss-Legendre.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

STRICT, RANDOM, LOWEST = 0, 1, 2
"""The kernels' tie codes: the index of the rule in :data:`knnoise._checks.TIE_MODES`."""

FASTMATH = {"reassoc", "contract", "nsz"}
"""Compile flags of every kernel carved out of the row driver (shared so that the arithmetic of the steps
is that of one function). Re-association lets LLVM vectorise the DP's dot products (the results change
only at rounding level)."""


@njit(inline="always")
def cap_and_first(tie, t, other, label):  # pragma: no cover - compiled
    """Largest count label ``other`` may reach and the first count that is not fully credited.

    Inlined (integers only): a call inside a step would keep the reference counts of the step's arrays."""
    if tie == 0:  # strict: others <= t - 1
        return t - 1, t
    if tie == 1:  # random: others <= t, a count of exactly t carries the weight x
        return t, t
    if other < label:  # lowest: a lower index wins a tie against the true label
        return t - 1, t
    return t, t + 1


def max_nodes(n_labels: int, k_max: int) -> int:
    """Gauss-Legendre nodes needed for the random tie integral (degree <= min(L-1, K-1))."""
    return max(1, min(n_labels - 1, k_max - 1)) // 2 + 1


@lru_cache(maxsize=8)
def gauss_legendre_01(n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Tables ``x[n, :n]``, ``w[n, :n]``, shape (n_max + 1, n_max): the n-point rule on [0, 1], n <= n_max."""
    xs = np.zeros((n_max + 1, n_max))
    ws = np.zeros((n_max + 1, n_max))
    for n in range(1, n_max + 1):
        x, w = np.polynomial.legendre.leggauss(n)
        xs[n, :n] = 0.5 * (x + 1.0)
        ws[n, :n] = 0.5 * w
    xs.setflags(write=False)
    ws.setflags(write=False)
    return xs, ws
