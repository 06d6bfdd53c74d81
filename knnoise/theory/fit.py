"""Beyond the paper: fit the "effective K" of a network, the K whose analytic curve best matches it.

The paper leaves open "how to set the value of K" (Sec. 5). Given measured accuracies over noise levels
and the analytic curves for every K (Eq. 1-3, one solver pass for all K), the effective K minimises the
squared error over the noise levels; a bootstrap over the repeats at each level gives an interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["DEPARTURE", "EffectiveK", "fit_effective_k"]

DEPARTURE = 0.02
"""A fit whose largest residual exceeds this (2 accuracy points) departs from the K curve somewhere."""


@dataclass(frozen=True)
class EffectiveK:
    """The fitted K, its bootstrap interval, and the root-mean-square error of the fit.

    ``ks``: the K searched (``rmse_by_k[i]`` is the rms error at ``ks[i]``). ``levels``, ``means``,
    ``counts`` and ``residuals``: per measured noise level, its mean measured accuracy, how many
    measurements it has and ``mean - analytic[level, k]``. ``edge``: ``"upper"`` or ``"lower"`` when the
    best K is the largest or (above 1) the smallest K searched — the true optimum may lie outside.
    """

    k: int
    low: int
    high: int
    rmse: float
    rmse_by_k: np.ndarray
    ks: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    levels: np.ndarray = field(default_factory=lambda: np.empty(0))
    means: np.ndarray = field(default_factory=lambda: np.empty(0))
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    residuals: np.ndarray = field(default_factory=lambda: np.empty(0))
    edge: str | None = None

    @property
    def at_edge(self) -> bool:
        """Whether the best K lies on the edge of the K searched (see ``edge``)."""
        return self.edge is not None

    def departure(self, threshold: float = DEPARTURE) -> tuple[float, float, float] | None:
        """Where the measurements depart from the fitted curve: ``(gamma_low, gamma_high, worst)``, worst
        the largest absolute residual, over the levels whose residual is at least half the largest; None
        when ``worst`` is at most ``threshold``."""
        if self.residuals.size == 0:
            return None
        size = np.abs(self.residuals)
        worst = float(size.max())
        if worst <= threshold:
            return None
        where = self.levels[size >= worst / 2]
        return float(where.min()), float(where.max()), worst


def fit_effective_k(
    ks, analytic, gammas, measured, *, n_boot: int = 1000, level: float = 0.9, seed: int = 0
) -> EffectiveK:
    """Least-squares K: ``argmin_K sum_g (analytic[g, K] - mean measured[g])^2``.

    Parameters
    ----------
    ks : array_like of int, shape (n_k,)
        Candidate K (columns of ``analytic``).
    analytic : array_like, shape (n_gammas, n_k)
        Analytic accuracy at each noise level for each K.
    gammas : array_like, shape (n_gammas,)
        The noise levels, in the order of ``analytic``'s rows.
    measured : sequence of (gamma, accuracy) pairs, or a DataFrame with columns gamma and accuracy
        The measurements (several per level when there are repeats).
    n_boot : int
        Bootstrap resamples for the interval: of the repeats within each level, or of the fit's residuals
        when every level has a single measurement.
    level : float
        Coverage of the interval (percentile bootstrap).
    """
    ks = np.asarray(ks)
    A = np.asarray(analytic, dtype=float)
    gammas = np.asarray(gammas, dtype=float)
    if A.shape != (len(gammas), len(ks)):
        raise ValueError(f"analytic must have shape ({len(gammas)}, {len(ks)}), got {A.shape}")
    if hasattr(measured, "columns"):
        pairs = list(zip(measured["gamma"], measured["accuracy"], strict=True))
    else:
        pairs = [(float(g), float(a)) for g, a in measured]
    groups = []
    for g, _ in pairs:
        matches = np.flatnonzero(np.isclose(gammas, g))
        if matches.size == 0:
            raise ValueError(f"measured noise level {g} is not among the analytic gammas")
    for i, g in enumerate(gammas):
        values = np.array([a for gg, a in pairs if np.isclose(gg, g)])
        if values.size:
            groups.append((i, values))
    if not groups:
        raise ValueError("measured must hold at least one (gamma, accuracy) pair")
    rows = np.array([i for i, _ in groups])

    def sse(means: np.ndarray) -> np.ndarray:
        return ((A[rows] - means[:, None]) ** 2).sum(axis=0)

    means = np.array([v.mean() for _, v in groups])
    errors = sse(means)
    best = int(np.argmin(errors))
    rng = np.random.default_rng(seed)
    boot = np.empty(n_boot, dtype=int)
    residuals = means - A[rows, best]
    single = all(v.size == 1 for _, v in groups)
    for b in range(n_boot):
        if single:  # one measurement per level: resample the fit's residuals instead
            resampled = A[rows, best] + rng.choice(residuals, size=residuals.size)
        else:
            resampled = np.array([rng.choice(v, size=v.size).mean() for _, v in groups])
        boot[b] = np.argmin(sse(resampled))
    lo, hi = np.quantile(ks[boot], [(1 - level) / 2, (1 + level) / 2], method="nearest")
    k = int(ks[best])
    edge = "upper" if k == ks.max() and len(ks) > 1 else ("lower" if k == ks.min() > 1 else None)
    return EffectiveK(
        k, int(lo), int(hi), float(np.sqrt(errors[best] / len(rows))), np.sqrt(errors / len(rows)),
        ks.astype(np.int64), gammas[rows], means, np.array([v.size for _, v in groups]), residuals, edge,
    )  # fmt: skip
