"""The solver's driver: one row of Theorem 1 as named steps, batches in parallel, chunks with progress.

:func:`solve` normalises nothing (its callers pass rows summing to 1), computes identical rows once, sorts
the K of a sweep, and runs :func:`_batch` (numba, parallel over rows) in chunks of ``CHUNK_ROWS`` for the
progress bar. :func:`row_accuracy` is the derivation of the Theory chapter step by step:

1. sort the other labels (``_plan.others_sorted``); weight each ``t`` by ``Binom(K, t; q_i)``;
2. ``t > K/2``: a sure win (``_tails.add_sure_wins``);
3. plan which ``t`` and labels need work, with the pruning budget ``tol`` (``_plan.n_constrained``,
   ``_plan.plan_t``);
4. the scaled DP over the constrained labels for every ``t`` at once (``_dp.run_dp``);
5. the per-``t`` sum: the DP's states, quadrature nodes combined and merged labels added
   (``_dp.add_dp_terms``, every ``t <= K_max/3``), then disjoint tails (``_tails.add_disjoint_tails``,
   every larger ``t``): the same order of additions as one loop over ``t``.

The steps are ``@njit(inline="always")`` with this driver's fastmath flags, so that the compiled row is
the single function it was before the split (same arithmetic, bitwise; same speed). Steps take arrays one
by one (no tuples) and loop over ``t`` or labels themselves where a call per iteration would cost
reference counts (measured: 3-10 % on small rows otherwise). The disk cache is per file: numba does not
see edits to a step module, so clear ``knnoise/theory/__pycache__/*.nb[ci]`` after changing one.
"""

from __future__ import annotations

import math
from contextlib import nullcontext

import numpy as np
from numba import njit, prange
from tqdm.auto import tqdm

from knnoise.theory._dp import add_dp_terms, run_dp
from knnoise.theory._plan import n_constrained, others_sorted, plan_t, t_weights
from knnoise.theory._tails import add_disjoint_tails, add_sure_wins, binomial_rows
from knnoise.theory._ties import FASTMATH, RANDOM, gauss_legendre_01, max_nodes

AUTO_PROGRESS_ROWS = 20_000
CHUNK_ROWS = 2_000
RHO_MAX = 650.0  # e**650 < 1.8e308: the DP's scaled states cannot overflow (see scale)


def solve(
    Q: np.ndarray, labels: np.ndarray, ks: np.ndarray, tie: int, tol: float, progress, bar: tqdm | None = None
) -> np.ndarray:
    """Theorem 1 for every row of ``Q`` (M, L), rows summing to 1, labels (M,), ks (n_k,): shape (M, n_k).

    ``progress``: True, False or None (a bar for large problems only). A caller solving several blocks in
    turn passes its own open ``bar`` instead; it is advanced by ``M`` rows in all.
    """
    keyed = np.ascontiguousarray(np.column_stack([Q, labels.astype(np.float64)]))
    uniq, inverse = np.unique(keyed, axis=0, return_inverse=True)
    Qu = np.ascontiguousarray(uniq[:, :-1])
    lu = uniq[:, -1].astype(np.int64)
    k_sorted, k_back = np.unique(ks, return_inverse=True)
    n_labels = Q.shape[1]
    k_max = int(k_sorted[-1])
    lfact = np.array([math.lgamma(n + 1.0) for n in range(k_max + 1)])
    rho, unscale = scale(k_max)
    gl_x, gl_w = gauss_legendre_01(max_nodes(n_labels, k_max) if tie == RANDOM else 1)
    out = np.empty((len(Qu), len(k_sorted)))
    with nullcontext(bar) if bar is not None else progress_bar(len(Qu), progress) as shown:
        for start in range(0, len(Qu), CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, len(Qu))
            out[start:stop] = _batch(
                Qu[start:stop], lu[start:stop], k_sorted, tie, tol, lfact, rho, unscale, gl_x, gl_w
            )
            shown.update(stop - start)
        if bar is not None:
            bar.update(len(Q) - len(Qu))  # the duplicate rows, solved with their first copy
    excess = max(float(out.max(initial=0.0)) - 1.0, -float(out.min(initial=0.0)))
    if excess > 1e-9:  # pragma: no cover - would be a solver bug, never silently clipped
        raise RuntimeError(f"plurality accuracy left [0, 1] by {excess:g}; please report this input")
    np.clip(out, 0.0, 1.0, out=out)  # removes only rounding excursions (checked above)
    # Rows picked first: the result is column-major, so a mean over rows sums pairwise (as it always did).
    return out[inverse.ravel()][:, k_back.ravel()]


def progress_bar(rows: int, progress: bool | None) -> tqdm:
    """The solver's bar over ``rows`` rows: shown when ``progress`` is True, or None and ``rows`` is large."""
    show = progress if progress is not None else rows >= AUTO_PROGRESS_ROWS
    return tqdm(total=rows, desc="plurality accuracy", unit="q", disable=not show)


def scale(k_max: int) -> tuple[float, np.ndarray]:
    """The DP's scale ``rho`` and ``unscale[s] = s! / rho**s``, shape (k_max + 1,) (the DP stores
    ``g(s) rho**s / s!``).

    With ``rho = k_max / e`` every scale factor ``rho**s / s!`` (s <= k_max) lies between about
    ``1 / sqrt(2 pi k_max)`` and ``e**rho``. Above K = 1766, ``rho`` stops at 650 (``e**650 < 1.8e308``);
    at ``MAX_K`` the smallest factor is then about ``1e-108``, still far from underflow.
    """
    rho = max(1.0, min(k_max / math.e, RHO_MAX))
    # A running product: its rounding grows like sqrt(s) ulps, where exp(lgamma) would carry the rounding
    # of a number as large as log(k_max!) (about 1e-13 relative at K = 1000).
    return rho, np.concatenate(([1.0], np.cumprod(np.arange(1, k_max + 1) / rho)))


@njit(cache=True, parallel=True)
def _batch(Q, labels, ks, tie, tol, lfact, rho, unscale, gl_x, gl_w):  # pragma: no cover - compiled
    out = np.empty((Q.shape[0], ks.shape[0]))
    for row in prange(Q.shape[0]):
        out[row] = row_accuracy(Q[row], labels[row], ks, tie, tol, lfact, rho, unscale, gl_x, gl_w)
    return out


@njit(cache=True, fastmath=FASTMATH)
def row_accuracy(q, label, ks, tie, tol, lfact, rho, unscale, gl_x, gl_w):  # pragma: no cover - compiled
    """Theorem 1 (Eq. 2) for one ``q`` (L,) and every K of the sorted sweep ``ks``: shape (len(ks),)."""
    nk = ks.shape[0]
    k_max = ks[nk - 1]
    out = np.zeros(nk)
    qi, p, orig = others_sorted(q, label)
    n_o = p.shape[0]
    if n_o == 0:
        out[:] = 1.0
        return out
    prefix = np.cumsum(p)
    suffix = np.zeros(n_o + 1)
    for r in range(n_o - 1, -1, -1):
        suffix[r] = suffix[r + 1] + p[r]
    B = binomial_rows(qi, ks)
    add_sure_wins(out, B, ks)
    t_max = k_max // 2
    if t_max == 0:
        return out
    pmax, m_min = t_weights(B, ks, t_max)
    log_p = np.log(p)
    log_q = np.log1p(-p)
    n_con = n_constrained(tie, tol, label, orig, log_p, lfact, pmax, k_max, t_max)
    active, single, room, nodes = plan_t(tie, tol, label, orig, pmax, m_min, n_con, k_max, t_max)
    g, offset = run_dp(
        tie, label, orig, p, prefix, rho, active, single, n_con, room, nodes, m_min, gl_x, k_max, t_max
    )
    # The per-t sum, in increasing t as every t <= K_max/3 is a DP one and every larger t a "single" one.
    add_dp_terms(out, B, ks, active, single, n_con, nodes, prefix, suffix, rho, g, offset, tie, gl_w, unscale)
    add_disjoint_tails(out, B, ks, active, single, n_con, tie, label, orig, p, lfact, log_p, log_q)
    return out
