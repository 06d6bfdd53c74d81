"""Per-row set-up of the DP: the other labels in order, and which ``t`` (and which labels) need work.

Given ``q`` and the true label ``i`` (Theory chapter, "How knnoise evaluates it"):

* the other labels with ``q_j > 0`` are sorted by decreasing ``p_j = q_j / (1 - q_i)``
  (:func:`others_sorted`), so that the unlikely ones come last and can be merged;
* a value of ``t`` is skipped when its largest weight ``Binom(K, t; q_i)`` over the sweep is below
  ``tol / (2 T)``; the other labels whose chance of reaching their cap is below a per-``t`` budget (the
  union bound ``C(S, f) p^f``) are merged into one unconstrained label (:func:`n_constrained`);
* ``t`` is solved by disjoint binomial tails when fewer than ``2t`` other draws remain, and not at all
  when the constrained labels cannot hold the ``m`` draws needed (:func:`plan_t`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from knnoise.theory._ties import FASTMATH, cap_and_first


@njit(inline="always", fastmath=FASTMATH)
def others_sorted(q, label):  # pragma: no cover - compiled
    """``q_i / (q_i + rest)``, the other labels' ``p`` (decreasing, shape (n_o,)) and their indices."""
    n_labels = q.shape[0]
    n_o = 0
    rest = 0.0
    for j in range(n_labels):
        if j != label and q[j] > 0.0:
            n_o += 1
            rest += q[j]
    if n_o == 0:
        return 1.0, np.empty(0), np.empty(0, np.int64)
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
    return qi, pv[order], orig[order]


@njit(inline="always", fastmath=FASTMATH)
def t_weights(B, ks, t_max):  # pragma: no cover - compiled
    """Shape (t_max + 1,) each: the largest ``Binom(K, t; q_i)`` over the sweep's K with ``t <= K/2``, and
    the smallest ``m = K - t`` any of them needs."""
    nk = ks.shape[0]
    pmax = np.zeros(t_max + 1)
    for kk in range(nk):
        for t in range(1, ks[kk] // 2 + 1):
            if B[kk, t] > pmax[t]:
                pmax[t] = B[kk, t]
    m_min = np.full(t_max + 1, ks[nk - 1])
    for kk in range(nk - 1, -1, -1):
        for t in range(1, ks[kk] // 2 + 1):
            m_min[t] = ks[kk] - t
    return pmax, m_min


@njit(inline="always", fastmath=FASTMATH)
def n_constrained(tie, tol, label, orig, log_p, lfact, pmax, k_max, t_max):  # pragma: no cover - compiled
    """Shape (t_max + 1,): how many of the sorted other labels each ``t`` constrains (0 for a skipped ``t``).

    ``t`` is skipped when ``pmax[t] <= tol / (2 t_max)``. Label ``r`` is merged with the rest when the
    union bound ``C(s_t, f) p_r^f`` on reaching its first uncredited count ``f`` is below the per-``t``
    budget ``tol / (2 t_max pmax[t] n_o)``, and only when merging saves more DP work than the merged
    label's convolution costs. (One call for every ``t``: a call per ``t`` would cost reference counts.)
    """
    n_o = orig.shape[0]
    n_con = np.zeros(t_max + 1, np.int64)
    skip = tol / (2.0 * t_max)
    for t in range(1, t_max + 1):
        if pmax[t] <= skip:
            continue
        s_t = k_max - t
        nc = n_o
        if tol > 0.0:
            log_delta = math.log(tol / (2.0 * t_max * pmax[t]) / n_o)
            nc = 0
            for r in range(n_o - 1, -1, -1):
                f = cap_and_first(tie, t, orig[r], label)[1]
                if f <= s_t and lfact[s_t] - lfact[f] - lfact[s_t - f] + f * log_p[r] > log_delta:
                    nc = r + 1
                    break
            if 0 < nc < n_o and (n_o - nc) * (s_t - t + 1) * (t + 1) < s_t * s_t:
                nc = n_o
        n_con[t] = nc
    return n_con


@njit(inline="always", fastmath=FASTMATH)
def plan_t(tie, tol, label, orig, pmax, m_min, n_con, k_max, t_max):  # pragma: no cover - compiled
    """For each ``t`` in 0..t_max (shape (t_max + 1,) each): whether it contributes, whether disjoint tails
    solve it, the total cap ("room") of the ``n_con[t]`` labels it constrains, and its quadrature nodes."""
    n_o = orig.shape[0]
    room = np.zeros(t_max + 1, np.int64)  # the most draws the constrained labels (still to come) can take
    nodes = np.zeros(t_max + 1, np.int64)
    active = np.zeros(t_max + 1, np.bool_)
    single = np.zeros(t_max + 1, np.bool_)
    skip = tol / (2.0 * t_max)
    for t in range(1, t_max + 1):
        if pmax[t] <= skip:
            continue
        active[t] = True
        s_t = k_max - t
        nc = n_con[t]  # labels 0..nc-1 (sorted order) are constrained
        for r in range(nc):
            room[t] += cap_and_first(tie, t, orig[r], label)[0]
        if nc == n_o and room[t] < m_min[t]:  # the others cannot hold m draws below the caps: G_t = 0
            active[t] = False
            continue
        nodes[t] = min(nc, s_t // t) // 2 + 1 if tie == 1 else 1
        # With fewer than 2t other draws at most one other label can reach t: the failures are disjoint
        # events, and G_t = 1 - sum of per-label binomial tails (no DP needed).
        single[t] = s_t < 2 * t
    return active, single, room, nodes
