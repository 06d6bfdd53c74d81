"""Binomial pieces of Theorem 1 that need no DP (Theory chapter, observation 1).

Conditioning on the true label's count ``t`` weights each ``t`` by ``P(n_i = t) = Binom(K, t; q_i)``
(:func:`binomial_rows`). Given ``t``, the ``m = K - t`` other draws are multinomial with probabilities
``p_j``, and

* ``t > K/2`` (``m < t``): no other label can reach ``t``, the true label wins (:func:`add_sure_wins`);
* ``K/3 < t <= K/2`` (``m < 2t``): at most one other label can reach ``t``, so the failures are disjoint
  and ``G_t(m) = 1 - sum_j P(Binom(m, p_j) >= cap_j + 1)``, with a tie at ``t`` costing half under the
  random rule (:func:`add_disjoint_tails`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from knnoise.theory._ties import FASTMATH, cap_and_first


@njit(cache=True)
def binomial_rows(qi, ks):  # pragma: no cover - compiled
    """``B[kk, t] = Binom(ks[kk], t; qi)``, shape (len(ks), K_max + 1), by Pascal's rule (all terms are
    probabilities)."""
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
def binom_pmf(m, p, n, lfact, log_p, log_q):  # pragma: no cover - compiled
    """``Binom(m, n; p)`` from log-factorials and ``log_p = log(p)``, ``log_q = log(1 - p)`` (one exp)."""
    if n < 0 or n > m:
        return 0.0
    if p >= 1.0:
        return 1.0 if n == m else 0.0
    return math.exp(lfact[m] - lfact[n] - lfact[m - n] + n * log_p + (m - n) * log_q)


@njit(cache=True)
def binom_tail(m, p, f, lfact, log_p, log_q):  # pragma: no cover - compiled
    """``P(Binom(m, p) >= f)``, summing from ``f`` outwards over terms that only shrink."""
    if f <= 0:
        return 1.0
    if f > m:
        return 0.0
    if p >= 1.0:
        return 1.0
    ratio = p / (1.0 - p)
    if f > (m + 1) * p:  # above the mode: terms decrease upwards
        term = binom_pmf(m, p, f, lfact, log_p, log_q)
        total = term
        for n in range(f, m):
            term *= (m - n) / (n + 1.0) * ratio
            total += term
            if term <= 1e-18 * total:
                break
        return total
    # At or below the mode: 1 - the lower tail, whose terms decrease downwards.
    term = binom_pmf(m, p, f - 1, lfact, log_p, log_q)
    total = term
    for n in range(f - 1, 0, -1):
        term *= n / ((m - n + 1.0) * ratio)
        total += term
        if term <= 1e-18 * total:
            break
    return max(0.0, 1.0 - total)


@njit(inline="always", fastmath=FASTMATH)
def add_sure_wins(out, B, ks):  # pragma: no cover - compiled
    """``out[kk] += sum_{t > K/2} B[kk, t]``: with fewer than ``t`` other draws the true label wins."""
    for kk in range(ks.shape[0]):
        k = ks[kk]
        for t in range(k // 2 + 1, k + 1):
            out[kk] += B[kk, t]


@njit(inline="always", fastmath=FASTMATH)
def add_disjoint_tails(  # pragma: no cover - compiled
    out, B, ks, active, single, n_con, tie, label, orig, p, lfact, log_p, log_q
):
    """``out[kk] += B[kk, t] G_t(K - t)`` for every ``t`` marked ``single`` (``m = K - t < 2t``), in
    increasing ``t``: one minus disjoint per-label tails.

    Only the first ``n_con[t]`` other labels (sorted by decreasing ``p``) can reach their cap at all;
    ``orig`` maps them to label indices (for the lowest-index rule). (One call per row, looping over ``t``
    inside: an inlined call per ``t`` would cost reference counts on every array argument.)
    """
    for t in range(1, active.shape[0]):
        if not (active[t] and single[t]):
            continue
        for kk in range(ks.shape[0]):
            m = ks[kk] - t
            if m < t:  # t > K/2: already counted
                continue
            loss = 0.0
            for r in range(n_con[t]):
                cap, first = cap_and_first(tie, t, orig[r], label)
                if first > m:
                    continue
                if tie == 1:  # a tie at t earns 1/2, more than t loses
                    loss += binom_tail(m, p[r], t + 1, lfact, log_p[r], log_q[r]) + 0.5 * binom_pmf(
                        m, p[r], t, lfact, log_p[r], log_q[r]
                    )
                else:
                    loss += binom_tail(m, p[r], cap + 1, lfact, log_p[r], log_q[r])
            out[kk] += B[kk, t] * (1.0 - loss)
