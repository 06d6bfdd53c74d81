"""Reference implementations of Theorem 1: enumeration, Monte Carlo and the paper's plain Eq. 4 agree with
each other and with the solver."""

from __future__ import annotations

import numpy as np
import pytest

from knnoise.theory import plurality_accuracy
from knnoise.theory.reference import brute_force_accuracy, monte_carlo_accuracy, plain_eq4_accuracy

TIES = ("strict", "random", "lowest")


def test_plain_eq4_reference_agrees_with_the_solver():
    rng = np.random.default_rng(2)
    q = rng.dirichlet(np.ones(6), size=30)
    labels = rng.integers(6, size=30)
    np.testing.assert_allclose(
        plain_eq4_accuracy(q, labels, 15), plurality_accuracy(q, 15, labels), atol=1e-13
    )


def test_plain_eq4_equals_enumeration():
    rng = np.random.default_rng(3)
    q = rng.dirichlet(np.ones(4), size=5)
    labels = rng.integers(4, size=5)
    expected = [brute_force_accuracy(q[m], 9, int(labels[m])) for m in range(5)]
    np.testing.assert_allclose(plain_eq4_accuracy(q, labels, 9), expected, atol=1e-14)


@pytest.mark.parametrize("ties", TIES)
def test_monte_carlo_agrees_with_enumeration(ties):
    q = np.array([0.4, 0.35, 0.25])
    exact = brute_force_accuracy(q, 6, 0, ties)
    mean, se = monte_carlo_accuracy(q, 6, 0, ties, n_samples=50_000, seed=1)
    assert abs(mean - exact) <= 4 * se
    assert 0 < se < 0.01


@pytest.mark.parametrize("ties", ["random", "lowest"])
def test_enumeration_credits_of_all_labels_sum_to_one(ties):
    q = np.array([0.2, 0.3, 0.1, 0.4])
    assert sum(brute_force_accuracy(q, 8, label, ties) for label in range(4)) == pytest.approx(1.0, abs=1e-14)


def test_reference_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="brute force is for tiny problems"):
        brute_force_accuracy(np.full(9, 1 / 9), 3, 0)
    with pytest.raises(
        ValueError, match=r"ties must be one of \('strict', 'random', 'lowest'\), got 'first'"
    ):
        brute_force_accuracy([0.5, 0.5], 3, 0, "first")
