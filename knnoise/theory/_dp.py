"""The scaled exponential-form DP over the other labels (Theory chapter, "How knnoise evaluates it").

``g_j(s)``, the probability that ``s`` draws among the first ``j`` sorted other labels leave each below its
cap, obeys ``g_j(s) = sum_{n <= cap_j} Binom(s, n; pi_j) g_{j-1}(s - n)`` with
``pi_j = p_j / (p_1 + ... + p_j)``. The DP keeps ``u_j(s) = g_j(s) rho^s / s!``, for which one label's
step is a convolution with a kernel that does not depend on ``s``:

    u_j(s) = sum_{n <= cap_j} (rho pi_j)^n / n! * om_j^(s - n) u_{j-1}(s - n),   om_j = 1 - pi_j.

Every term is positive (no cancellation), and one pass over ``s = 0 .. K_max - t`` serves every K of a
sweep. States live in one flat array, one block of ``K_max - t + 1`` per (``t``, quadrature node), stored
*reversed* (``u(s)`` at ``base + s_t - s``): the convolution then reads contiguous, forward windows.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from knnoise.theory._ties import FASTMATH, cap_and_first


@njit(inline="always", fastmath=FASTMATH)
def init_states(active, single, n_con, nodes, k_max, t_max):  # pragma: no cover - compiled
    """The flat state array ``g`` (``u_0(0) = 1`` per block) and ``offset[t]``, shape (t_max + 2,)."""
    offset = np.zeros(t_max + 2, np.int64)
    for t in range(1, t_max + 1):
        in_dp = active[t] and n_con[t] > 0 and not single[t]
        offset[t + 1] = offset[t] + (nodes[t] * (k_max - t + 1) if in_dp else 0)
    g = np.zeros(offset[t_max + 1])
    for t in range(1, t_max + 1):
        for nd in range(nodes[t] if active[t] and n_con[t] > 0 and not single[t] else 0):
            g[offset[t] + nd * (k_max - t + 1) + k_max - t] = 1.0  # zero labels, zero draws (s = 0)
    return g, offset


@njit(inline="always", fastmath=FASTMATH)
def convolve(g, base, prev, kw, width, s_t, s_hi, s_floor):  # pragma: no cover - compiled
    """``u(s) = sum_{n < width} kw[n] prev[s_t - s + n]`` for ``s = s_hi`` down to ``s_floor``.

    Four states at a time: independent sums sharing the kernel, each over a contiguous window of ``prev``.
    """
    s = s_hi
    while s - 3 >= s_floor:
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


@njit(inline="always", fastmath=FASTMATH)
def node_step(g, base, prev, kw, kern, om_pow, t, s_t, cap, w_top, new_hi, s_floor):  # pragma: no cover
    """One label's step on one block (one ``t``, one quadrature node): ``u_{j-1}`` -> ``u_j`` in place.

    ``prev[s_t - j] = om^j u(j)``, zero for ``j < 0`` and above the old top, so that every sum runs over
    ``n = 0..cap``. The loops run over views from index 0, so that no index can be negative (no wraparound
    gathers) and the loads stay contiguous. A count of exactly ``cap`` carries the weight ``w_top``.
    """
    j_lo = s_floor - cap
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
    kw[cap] = w_top * kern[cap]
    convolve(g, base, prev, kw, cap + 1, s_t, new_hi, s_floor)


@njit(inline="always", fastmath=FASTMATH)
def label_kernel(kern, om_pow, rho_pi, om, c_max, s_max, k_max):  # pragma: no cover - compiled
    """One label's kernel ``kern[n] = (rho pi)^n / n!`` (n <= c_max) and ``om_pow[k_max - j] = om^j``
    (j <= s_max)."""
    kern[0] = 1.0
    for n in range(1, c_max + 1):
        kern[n] = kern[n - 1] * (rho_pi / n)
    om_pow[k_max] = 1.0
    for j in range(1, s_max + 1):
        om_pow[k_max - j] = om_pow[k_max - j + 1] * om


@njit(inline="always", fastmath=FASTMATH)
def label_reach(r, tie, label, orig, active, single, n_con, hi, k_max, t_max):  # pragma: no cover
    """The largest cap of label ``r`` over the ``t`` whose DP it enters (-1: none) and the states it reads."""
    c_max = -1
    s_max = -1
    for t in range(1, t_max + 1):
        if active[t] and r < n_con[t] and not single[t]:
            cap = cap_and_first(tie, t, orig[r], label)[0]
            c_max = max(c_max, cap)
            s_max = max(s_max, min(k_max - t, hi[t] + cap))
    return c_max, s_max


@njit(inline="always", fastmath=FASTMATH)
def run_dp(  # pragma: no cover - compiled
    tie, label, orig, p, prefix, rho, active, single, n_con, room, nodes, m_min, gl_x, k_max, t_max
):
    """The DP over the sorted other labels for every ``t`` at once: the states ``g`` and their ``offset``.

    The arrays of shape (t_max + 1,) are the plan of :mod:`knnoise.theory._plan` (``room`` is used up on
    the way). For every label ``r`` and every ``t`` that constrains it: ``g(s) == 1`` below ``lo[t]`` and
    ``0`` above ``hi[t]``; without a merged label, states too small to reach the smallest needed ``m``
    (given the room the labels still to come leave) are dead. (Arrays are passed one by one, not in
    tuples: unpacking a tuple of arrays costs reference counts in the loops.)
    """
    n_o = orig.shape[0]
    g, offset = init_states(active, single, n_con, nodes, k_max, t_max)
    lo = np.ones(t_max + 1, np.int64)
    hi = np.zeros(t_max + 1, np.int64)
    kern = np.empty(t_max + 2)
    om_pow = np.empty(k_max + 1)
    prev = np.empty(k_max + t_max + 2)
    kw = np.empty(t_max + 2)
    for r in range(n_o):
        c_max, s_max = label_reach(r, tie, label, orig, active, single, n_con, hi, k_max, t_max)
        if c_max < 0:
            continue
        pi = p[r] / prefix[r]
        om = prefix[r - 1] / prefix[r] if r > 0 else 0.0
        label_kernel(kern, om_pow, rho * pi, om, c_max, s_max, k_max)
        for t in range(1, t_max + 1):
            if not (active[t] and r < n_con[t]) or single[t]:
                continue
            cap, first = cap_and_first(tie, t, orig[r], label)
            s_t = k_max - t
            new_hi = min(s_t, hi[t] + cap)
            new_lo = 1 if r == 0 else min(lo[t], first)
            room[t] -= cap
            s_floor = new_lo
            if n_con[t] == n_o:
                s_floor = max(new_lo, m_min[t] - room[t])
            for nd in range(nodes[t]):
                w_top = gl_x[nodes[t], nd] if tie == 1 else 1.0
                base = offset[t] + nd * (s_t + 1)
                node_step(g, base, prev, kw, kern, om_pow, t, s_t, cap, w_top, new_hi, s_floor)
            lo[t] = first if r == 0 else new_lo
            hi[t] = new_hi
    return g, offset


@njit(inline="always", fastmath=FASTMATH)
def combine_nodes(u, g, offset_t, nodes_t, s_t, tie, gl_w):  # pragma: no cover - compiled
    """``u[j] = sum_nd w_nd u_nd(j)``, shape (s_t + 1,), in natural order: the random rule's integral."""
    u[:] = 0.0
    for nd in range(nodes_t):
        w_nd = gl_w[nodes_t, nd] if tie == 1 else 1.0
        base = offset_t + nd * (s_t + 1)
        for j in range(s_t + 1):
            u[j] += w_nd * g[base + s_t - j]


@njit(inline="always", fastmath=FASTMATH)
def merged_step(u, kern_f, om_f, rho, s_t):  # pragma: no cover - compiled
    """Prepare the merged labels' step, a convolution without a cap evaluated only at the ``m`` needed.

    ``u_f(m) = sum_n (rho pi_f)^n / n! * om_f^(m - n) u(m - n)``: fills ``kern_f[n] = (rho pi_f)^n / n!``
    and scales ``u[j]`` by ``om_f^j`` in place (first, so that every product stays below ``e^rho``).
    """
    x_f = rho * (1.0 - om_f)
    kern_f[0] = 1.0
    power = 1.0
    for j in range(1, s_t + 1):
        kern_f[j] = kern_f[j - 1] * (x_f / j)
        power *= om_f
        u[j] *= power


@njit(inline="always", fastmath=FASTMATH)
def add_dp_terms(  # pragma: no cover - compiled
    out, B, ks, active, single, n_con, nodes, prefix, suffix, rho, g, offset, tie, gl_w, unscale
):
    """``out[kk] += B[kk, t] G_t(K - t)`` from the DP's states, for every ``t`` the DP solved (in increasing
    ``t``) and every K of the sweep with ``t <= K/2``.

    ``G_t(m) = unscale[m] u(m)`` after combining the quadrature nodes and, when the labels from
    ``n_con[t]`` on were merged, the merged step. (One call per row, looping over ``t`` inside: an inlined
    call per ``t`` would cost reference counts on every array argument.)
    """
    nk = ks.shape[0]
    k_max = ks[nk - 1]
    n_o = prefix.shape[0]
    u_buf = np.empty(k_max + 1)
    kern_buf = np.empty(k_max + 1)
    for t in range(1, active.shape[0]):
        if not active[t] or single[t]:
            continue
        nc = n_con[t]
        s_t = k_max - t
        if nc == n_o and nodes[t] == 1:  # no merged label, no quadrature: read G(m) directly
            for kk in range(nk):
                m = ks[kk] - t
                if m >= t:  # t <= K/2
                    out[kk] += B[kk, t] * unscale[m] * g[offset[t] + s_t - m]
            continue
        if nc == 0:  # every other label merged: nothing constrains them, G_t = 1
            for kk in range(nk):
                if ks[kk] - t >= t:
                    out[kk] += B[kk, t]
            continue
        u = u_buf[: s_t + 1]
        combine_nodes(u, g, offset[t], nodes[t], s_t, tie, gl_w)
        kern_f = kern_buf[: s_t + 1]
        if nc < n_o:
            merged_step(u, kern_f, prefix[nc - 1] / (prefix[nc - 1] + suffix[nc]), rho, s_t)
        for kk in range(nk):
            m = ks[kk] - t
            if m < t:  # t > K/2: already counted
                continue
            val = u[m]
            if nc < n_o:
                val = 0.0
                for n in range(m + 1):
                    val += kern_f[n] * u[m - n]
            out[kk] += B[kk, t] * unscale[m] * val
