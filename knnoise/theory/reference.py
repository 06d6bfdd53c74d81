"""Slow reference implementations of Theorem 1, used to check and to time the solver.

* :func:`brute_force_accuracy` enumerates every count vector of Eq. 2 (tiny L and K only).
* :func:`monte_carlo_accuracy` draws the K neighbours' labels and votes (any size, with a standard error).
* :func:`plain_eq4_accuracy` is the paper's Eq. 4 as written: for every t = 1..K, the nested binomial
  sums over the other labels as a DP, with no pruning (numba, parallel over rows). The benchmark and the
  Theory chapter measure the solver's speed against it.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numba import njit, prange

MC_CHUNK = 10_000  # Monte Carlo samples drawn at a time

__all__ = ["brute_force_accuracy", "monte_carlo_accuracy", "plain_eq4_accuracy"]


def _credit(counts: np.ndarray, label: int, ties: str) -> np.ndarray:
    """Credit of ``label`` in each vote (rows of ``counts``) under a tie rule."""
    top = counts.max(axis=-1, keepdims=True)
    is_top = counts == top
    n_tied = is_top.sum(axis=-1)
    if ties == "strict":
        return (is_top[..., label] & (n_tied == 1)).astype(float)
    if ties == "random":
        return is_top[..., label] / n_tied
    if ties == "lowest":
        return (np.argmax(is_top, axis=-1) == label).astype(float)
    raise ValueError(f"ties must be one of ('strict', 'random', 'lowest'), got {ties!r}")


def brute_force_accuracy(q, k: int, label: int, ties: str = "strict") -> float:
    """Eq. 2 by enumerating all count vectors with sum ``k`` (cost grows like ``k**(L-1)``)."""
    q = np.asarray(q, dtype=float)
    if len(q) > 8 or k > 40:
        raise ValueError(f"brute force is for tiny problems (L <= 8, k <= 40), got L = {len(q)}, k = {k}")
    terms = []
    for head in itertools.product(range(k + 1), repeat=len(q) - 1):
        if sum(head) > k:
            continue
        counts = np.array([*head, k - sum(head)])
        coef = math.factorial(k)
        for n in counts:
            coef //= math.factorial(int(n))
        prob = coef * math.prod(float(p) ** int(n) for p, n in zip(q, counts, strict=True))
        terms.append(prob * float(_credit(counts, label, ties)))
    return math.fsum(terms)


def monte_carlo_accuracy(
    q, k: int, label: int, ties: str = "strict", n_samples: int = 100_000, seed: int = 0
) -> tuple[float, float]:
    """Monte Carlo estimate of Eq. 2 and its standard error: draw ``k`` labels from ``q``, vote.

    The draws are made ``MC_CHUNK`` samples at a time (the same stream as one call): memory stays at a
    ``(MC_CHUNK, L)`` count array instead of ``(n_samples, L)`` (800 MB for 100,000 samples at L = 1000).
    """
    rng = np.random.default_rng(seed)
    q = np.asarray(q, dtype=float)
    sizes = [min(MC_CHUNK, n_samples - start) for start in range(0, n_samples, MC_CHUNK)]
    credit = np.concatenate([_credit(rng.multinomial(k, q, size=size), label, ties) for size in sizes])
    return float(credit.mean()), float(credit.std(ddof=1) / math.sqrt(n_samples))


@njit(parallel=True, cache=True)
def plain_eq4_accuracy(Q, labels, k):  # pragma: no cover - compiled
    """Eq. 4 as written, strict ties, one K: every t = 1..K, binomials times powers, no pruning.

    ``h[r]`` accumulates ``C(r; n_1, ..) prod_j q_j^n_j`` over the other labels processed so far, each
    count at most ``t - 1``: the nested sums of Eq. 4 evaluated as a DP over the remaining draws ``r``.
    """
    comb = np.zeros((k + 1, k + 1))
    for n in range(k + 1):
        comb[n, 0] = 1.0
        for m in range(1, n + 1):
            comb[n, m] = comb[n - 1, m - 1] + comb[n - 1, m]
    out = np.zeros(Q.shape[0])
    for row in prange(Q.shape[0]):
        q = Q[row]
        i = labels[row]
        total = 0.0
        for t in range(1, k + 1):
            rem = k - t
            h = np.zeros(rem + 1)
            h[0] = 1.0
            for j in range(q.shape[0]):
                if j == i:
                    continue
                new = np.zeros(rem + 1)
                for r in range(rem + 1):
                    for n in range(min(t - 1, r) + 1):
                        new[r] += comb[r, n] * q[j] ** n * h[r - n]
                h = new
            total += comb[k, t] * q[i] ** t * h[rem]
        out[row] = total
    return out
