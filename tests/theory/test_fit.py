"""Effective-K fit: recovers the K that generated the data, with an interval that covers it."""

import numpy as np
import pytest

from knnoise.noise import flip, uniform
from knnoise.theory import expected_accuracy
from knnoise.theory.fit import fit_effective_k


@pytest.mark.parametrize(("P", "true_k"), [(uniform(10), 9), (flip(10), 21)])
def test_recovers_the_generating_k(P, true_k):
    rng = np.random.default_rng(0)
    clean = rng.dirichlet(np.full(10, 0.05), size=200)
    labels = clean.argmax(axis=1)
    gammas = np.linspace(0, 0.95, 20)
    ks = np.arange(1, 41)
    table = expected_accuracy(clean, labels, gammas, P, ks)
    measured = [(g, a + rng.normal(0, 0.005)) for g, a in zip(gammas, table[:, true_k - 1], strict=True)
                for _ in range(3)]  # fmt: skip
    fit = fit_effective_k(ks, table, gammas, measured, n_boot=200)
    assert abs(fit.k - true_k) <= 2
    assert fit.low <= true_k <= fit.high
    assert fit.rmse < 0.01
    single = fit_effective_k(ks, table, gammas, measured[::3], n_boot=200)  # one measurement per level
    assert single.low <= single.k <= single.high


def test_bad_input():
    with pytest.raises(ValueError, match="analytic must have shape"):
        fit_effective_k([1, 2], np.zeros((3, 3)), [0, 0.5, 1], [(0, 1.0)])
    with pytest.raises(ValueError, match="not among the analytic gammas"):
        fit_effective_k([1, 2], np.zeros((2, 2)), [0, 0.5], [(0.3, 1.0)])
