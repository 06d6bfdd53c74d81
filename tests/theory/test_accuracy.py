"""Theorem 1 solver (knnoise.theory.accuracy and the DP step modules it drives): exactness against
enumeration and Monte Carlo, identities, stability, low-precision input, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knnoise.noise import flip, symmetric, uniform
from knnoise.theory import (
    MAX_K,
    expected_accuracy,
    expected_accuracy_local,
    noisy_label_distribution,
    plurality_accuracy,
)
from knnoise.theory.reference import brute_force_accuracy as brute_force
from knnoise.theory.reference import monte_carlo_accuracy

TIES = ("strict", "random", "lowest")


@pytest.mark.parametrize("tol", [0.0, 1e-14])
@pytest.mark.parametrize("ties", TIES)
def test_equals_enumeration(ties, tol):
    rng = np.random.default_rng(1)
    for _ in range(60):
        n_labels = int(rng.integers(1, 6))
        k = int(rng.integers(1, 13))
        q = rng.dirichlet(np.full(n_labels, rng.choice([0.3, 1.0, 5.0])))
        label = int(rng.integers(n_labels))
        got = plurality_accuracy(q, k, label, ties, tol=tol)
        assert got == pytest.approx(brute_force(q, k, label, ties), abs=1e-12), (q, k, label)


@settings(max_examples=40, deadline=None)
@given(
    weights=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=5).filter(lambda w: sum(w) > 0.05),
    k=st.integers(1, 10),
    data=st.data(),
)
def test_equals_enumeration_with_zeros_and_ties_in_q(weights, k, data):
    """Exact zeros and equal probabilities are where count-form DPs usually slip."""
    q = np.round(np.asarray(weights) / sum(weights), 2)
    q[-1] = max(0.0, 1.0 - q[:-1].sum())
    q = q / q.sum()
    label = data.draw(st.integers(0, len(q) - 1))
    for ties in TIES:
        expected = brute_force(q, k, label, ties)
        assert plurality_accuracy(q, k, label, ties) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("ties", TIES)
def test_monte_carlo_large(ties):
    rng = np.random.default_rng(7)
    q = rng.dirichlet(np.full(100, 0.2))
    for label in (int(np.argmax(q)), int(np.argsort(q)[-2])):
        exact = plurality_accuracy(q, 50, label, ties)
        mean, se = monte_carlo_accuracy(q, 50, label, ties, n_samples=200_000, seed=label)
        assert abs(exact - mean) <= 4 * se + 1e-12, (exact, mean, se)


def test_sweep_equals_single_k_and_batch_equals_rows():
    rng = np.random.default_rng(3)
    q = rng.dirichlet(np.ones(6), size=20)
    labels = rng.integers(6, size=20)
    ks = [7, 1, 2, 30, 13]
    for ties in TIES:
        sweep = plurality_accuracy(q, ks, labels, ties)
        assert sweep.shape == (20, len(ks))
        for j, k in enumerate(ks):
            np.testing.assert_allclose(sweep[:, j], plurality_accuracy(q, k, labels, ties), atol=1e-13)
        single = [plurality_accuracy(q[m], 13, int(labels[m]), ties) for m in range(20)]
        np.testing.assert_allclose(plurality_accuracy(q, 13, labels, ties), single, atol=1e-15)


@pytest.mark.parametrize("ties", ["random", "lowest"])
def test_accuracies_of_all_labels_sum_to_one(ties):
    rng = np.random.default_rng(4)
    q = rng.dirichlet(np.ones(7), size=30)
    for k in (1, 2, 6, 25, 64):
        total = sum(plurality_accuracy(q, k, np.full(30, lab), ties) for lab in range(7))
        np.testing.assert_allclose(total, 1.0, atol=1e-12)


def test_strict_is_below_random_and_lowest():
    rng = np.random.default_rng(5)
    q = rng.dirichlet(np.ones(4), size=50)
    labels = rng.integers(4, size=50)
    strict = plurality_accuracy(q, 10, labels, "strict")
    assert np.all(strict <= plurality_accuracy(q, 10, labels, "random") + 1e-15)
    assert np.all(strict <= plurality_accuracy(q, 10, labels, "lowest") + 1e-15)


def test_identities():
    rng = np.random.default_rng(6)
    q = rng.dirichlet(np.ones(5))
    for ties in TIES:
        for label in range(5):
            assert plurality_accuracy(q, 1, label, ties) == pytest.approx(q[label], abs=1e-15)
        one_hot = np.eye(5)[2]
        assert plurality_accuracy(one_hot, 9, 2, ties) == 1.0
        assert plurality_accuracy(one_hot, 9, 0, ties) == 0.0
        assert plurality_accuracy(np.array([1.0]), 17, 0, ties) == 1.0
    # Two labels, odd K: a binomial tail.
    p = 0.3
    k = 11
    tail = sum(math.comb(k, n) * p**n * (1 - p) ** (k - n) for n in range(6, k + 1))
    assert plurality_accuracy([p, 1 - p], k, 0) == pytest.approx(tail, abs=1e-15)


def test_gamma_zero_gives_clean_result():
    rng = np.random.default_rng(8)
    clean = rng.dirichlet(np.ones(10), size=40)
    labels = rng.integers(10, size=40)
    ks = [1, 5, 11]
    for P in (uniform(10), flip(10), symmetric(10)):
        acc = expected_accuracy(clean, labels, [0.0, 0.5], P, ks)
        clean_acc = plurality_accuracy(clean, ks, labels).mean(axis=0)
        np.testing.assert_allclose(acc[0], clean_acc, atol=1e-14)
        assert acc.shape == (2, 3)


def test_expected_accuracy_is_the_mean_of_eq3_rows_and_its_bar_counts_every_row(capsys):
    rng = np.random.default_rng(9)
    clean = rng.dirichlet(np.full(4, 0.5), size=30)
    clean[:10] = clean[0]  # duplicate rows, solved once, still counted by the progress bar
    labels = rng.integers(4, size=30)
    gammas, ks = [0.0, 0.3, 1.0], [1, 4, 9]
    acc = expected_accuracy(clean, labels, gammas, flip(4), ks, progress=True)
    for row, g in zip(acc, gammas, strict=True):
        q = noisy_label_distribution(clean, g, flip(4))
        np.testing.assert_allclose(row, plurality_accuracy(q, ks, labels).mean(axis=0), rtol=0, atol=1e-15)
    assert "90/90" in capsys.readouterr().err


def test_noisy_label_distribution_is_eq3():
    clean = np.array([[0.7, 0.2, 0.1], [1.0, 0.0, 0.0]])
    q = noisy_label_distribution(clean, 0.4, flip(3))
    expected = 0.6 * clean + 0.4 * clean[:, [2, 0, 1]]
    np.testing.assert_allclose(q, expected)
    np.testing.assert_allclose(noisy_label_distribution(clean[0], 0.3, uniform(3)), 0.7 * clean[0] + 0.1)


def test_ideal_curves_show_the_papers_point():
    """One-hot clean distribution, L = 10: uniform noise is resisted to ~90%, flip only to 50%."""
    clean = np.eye(10)
    labels = np.arange(10)
    gammas = [0.3, 0.45, 0.55, 0.85]
    uni = expected_accuracy(clean, labels, gammas, uniform(10), [51])[:, 0]
    flp = expected_accuracy(clean, labels, gammas, flip(10), [51])[:, 0]
    assert np.all(uni[:3] > 0.99) and uni[3] > 0.8  # uniform: still mostly right at 85% noise
    assert flp[0] > 0.99 and flp[1] > 0.7 and flp[2] < 0.3 and flp[3] < 1e-6


@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize(("n_labels", "k"), [(1000, 1000), (10, 1000), (1000, 50), (2, 999)])
def test_stable_at_scale(n_labels, k, ties):
    if ties == "random" and n_labels * k > 100_000:
        k = 300  # the random-tie quadrature at L = K = 1000 is correct but slow for a unit test
    rng = np.random.default_rng(9)
    q = rng.dirichlet(np.full(n_labels, 0.5), size=2)
    labels = np.argmax(q, axis=1)
    acc = plurality_accuracy(q, [1, 2, k // 2, k - 1, k], labels, ties)
    assert np.all(np.isfinite(acc)) and np.all((acc >= 0) & (acc <= 1))
    np.testing.assert_allclose(acc[:, 0], q[np.arange(2), labels], atol=1e-15)


def _extended_precision_accuracy(q, k: int, label: int, ties: str) -> float:
    """Eq. 2 by the plain count-form DP in 80-bit long double, with Pascal tables (strict or lowest)."""
    ld = np.longdouble

    def pascal(p):
        table = np.zeros((k + 1, k + 1), dtype=ld)
        table[0, 0] = 1
        for s in range(1, k + 1):
            table[s, 1 : s + 1] = p * table[s - 1, :s]
            table[s, : s + 1] += (1 - p) * table[s - 1, : s + 1]
        return table

    q = np.asarray(q, dtype=ld)
    others = [j for j in range(len(q)) if j != label]
    p = q[others] / q[others].sum()
    tables = [pascal(p[r] / p[: r + 1].sum()) for r in range(len(p))]
    binom = pascal(q[label])[k]
    total = ld(0)
    for t in range(1, k + 1):
        m = k - t
        g = np.zeros(m + 1, dtype=ld)
        g[0] = 1
        for r, j in enumerate(others):
            cap = t if ties == "lowest" and j > label else t - 1
            new = np.zeros(m + 1, dtype=ld)
            for s in range(m + 1):
                n = np.arange(min(cap, s) + 1)
                new[s] = (tables[r][s, n] * g[s - n]).sum()
            g = new
        total += binom[t] * g[m]
    return float(total)


@pytest.mark.parametrize("ties", ["strict", "lowest"])
def test_matches_an_extended_precision_dp_at_large_k(ties):
    """Beyond enumeration: K = 150 against the textbook DP in long double, to rounding level."""
    rng = np.random.default_rng(12)
    q = rng.dirichlet(np.ones(4))
    for label in (int(np.argmax(q)), int(np.argmin(q))):
        expected = _extended_precision_accuracy(q, 150, label, ties)
        assert abs(plurality_accuracy(q, 150, label, ties) - expected) < 1e-13
        assert abs(plurality_accuracy(q, 150, label, ties, tol=0.0) - expected) < 1e-13


@pytest.mark.parametrize("ties", TIES)
def test_largest_k_matches_monte_carlo(ties):
    """At MAX_K the scaled DP states span the widest range; the result must still be right."""
    q = np.array([0.36, 0.33, 0.31])
    acc = plurality_accuracy(q, [MAX_K - 1, MAX_K], 0, ties)
    for k, value in zip([MAX_K - 1, MAX_K], acc, strict=True):
        mean, se = monte_carlo_accuracy(q, k, 0, ties, n_samples=100_000, seed=k)
        assert abs(value - mean) < 4 * se


def test_approximate_mode_respects_its_bound():
    rng = np.random.default_rng(10)
    z = rng.normal(size=(40, 300))
    z[np.arange(40), rng.integers(300, size=40)] += rng.uniform(2, 8, size=40)
    q = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    labels = np.argmax(q + rng.normal(0, 0.01, size=q.shape), axis=1)
    exact = plurality_accuracy(q, [10, 50], labels, tol=0.0)
    for tol in (1e-10, 1e-6, 1e-3):
        approx = plurality_accuracy(q, [10, 50], labels, tol=tol)
        assert np.abs(approx - exact).max() <= tol


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"q": [0.5, -0.1, 0.6]}, "q must be non-negative"),
        ({"q": [0.5, np.nan, 0.5]}, "q must be finite"),
        ({"q": [0.5, 0.4]}, r"q must have rows summing to 1 \(within 1e-09 for float64\), got 0.9"),
        ({"q": [[0.5, 0.4], [0.5, 0.5]], "label": [0, 1]}, r"q must have rows summing to 1 .*row 0"),
        ({"q": np.ones((2, 2, 2)) / 2}, r"q must be an array of shape \(L,\) or \(M, L\)"),
        ({"k": 0}, r"k must be an integer in 1\.\.2000 .*got 0"),
        ({"k": [3, -1]}, r"k\[1\] must be an integer in 1\.\.2000"),
        (
            {"k": 2001},
            r"k must be an integer in 1\.\.2000 \(the largest K the solver's scaled DP covers\), got 2001",
        ),
        ({"k": [5, 2001]}, r"k\[1\] must be an integer in 1\.\.2000"),
        ({"label": 3}, r"label must be labels in 0\.\.2 \(L = 3\), got 3"),
        ({"label": -1}, r"label must be labels in 0\.\.2"),
        (
            {"q": [[0.2, 0.3, 0.5]] * 2, "label": [0, 1, 2]},
            r"label must be an int or shape \(2,\) .*got shape \(3,\)",
        ),
        (
            {"q": [0.2, 0.3, 0.5], "label": [0]},
            r"label must be a single int for a single q, got shape \(1,\)",
        ),
        ({"ties": "first"}, r"ties must be one of \('strict', 'random', 'lowest'\), got 'first'"),
        ({"tol": -1.0}, r"tol must be a number in \[0, 1\), got -1.0"),
        ({"tol": 1.0}, r"tol must be a number in \[0, 1\)"),
    ],
)
def test_bad_input_is_a_clear_value_error(kwargs, match):
    args = {"q": [0.2, 0.3, 0.5], "k": 3, "label": 0} | kwargs
    with pytest.raises(ValueError, match=match):
        plurality_accuracy(**args)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"k": 2.5}, TypeError),
        ({"k": True}, TypeError),
        ({"label": "a"}, TypeError),
        ({"q": ["a", "b"]}, TypeError),
    ],
)
def test_bad_types_are_type_errors(kwargs, error):
    args = {"q": [0.5, 0.5], "k": 3, "label": 0} | kwargs
    with pytest.raises(error):
        plurality_accuracy(**args)


def test_bad_noise_input():
    clean = np.eye(3)
    with pytest.raises(ValueError, match=r"gamma must be a number in \[0, 1\], got 1.5"):
        noisy_label_distribution(clean, 1.5, uniform(3))
    with pytest.raises(ValueError, match=r"gammas\[1\] must be a number in \[0, 1\], got -0.2"):
        expected_accuracy(clean, [0, 1, 2], [0.1, -0.2], uniform(3), [1])
    with pytest.raises(ValueError, match="corruption must be a square"):
        noisy_label_distribution(clean, 0.1, np.ones((3, 2)) / 2)
    with pytest.raises(
        ValueError, match=r"corruption must have rows summing to 1 .*got 1.5 \(row 0\); .*row-stochastic"
    ):
        noisy_label_distribution(clean, 0.1, np.full((3, 3), 0.5))
    with pytest.raises(ValueError, match="non-negative"):
        noisy_label_distribution(clean, 0.1, np.array([[1.5, -0.5, 0], [0, 1, 0], [0, 0, 1]]))
    with pytest.raises(
        ValueError, match=r"corruption must be a \(3, 3\) matrix to match L = 3, got shape \(4, 4\)"
    ):
        noisy_label_distribution(clean, 0.1, uniform(4))
    with pytest.raises(ValueError, match=r"labels must be an array of shape \(3,\) .*got shape \(2,\)"):
        expected_accuracy(clean, [0, 1], [0.1], uniform(3), [1])
    with pytest.raises(ValueError, match=r"labels must be labels in 0\.\.2 \(L = 3\), got 3"):
        expected_accuracy(clean, [0, 1, 3], [0.1], uniform(3), [1])
    with pytest.raises(ValueError, match=r"clean must be an array of shape \(M, L\)"):
        expected_accuracy(clean[0], [0], [0.1], uniform(3), [1])


def test_local_noise_rate_generalises_eq1():
    rng = np.random.default_rng(11)
    clean = rng.dirichlet(np.full(5, 0.3), size=50)
    labels = clean.argmax(axis=1)
    ks = [1, 7, 15]
    constant = expected_accuracy_local(clean, labels, np.full(50, 0.4), flip(5), ks)
    np.testing.assert_allclose(constant, expected_accuracy(clean, labels, [0.4], flip(5), ks)[0], atol=1e-14)
    # All-or-nothing local noise: the clean half keeps its accuracy, the flipped half follows the flip target.
    local = np.repeat([0.0, 1.0], 25)
    mixed = expected_accuracy_local(clean, labels, local, flip(5), ks)
    halves = [expected_accuracy(clean[:25], labels[:25], [0.0], flip(5), ks)[0],
              expected_accuracy(clean[25:], labels[25:], [1.0], flip(5), ks)[0]]  # fmt: skip
    np.testing.assert_allclose(mixed, np.mean(halves, axis=0), atol=1e-14)
    with pytest.raises(ValueError, match=r"local_gamma must be in \[0, 1\]"):
        expected_accuracy_local(clean, labels, np.full(50, 1.5), flip(5), ks)
    with pytest.raises(ValueError, match=r"local_gamma must be an array of shape \(50,\)"):
        expected_accuracy_local(clean, labels, np.full(49, 0.5), flip(5), ks)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _renormalised(q) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    return q / q.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize(("dtype", "n_labels"), [(np.float32, 100), (np.float16, 10)])
def test_low_precision_softmax_rows_are_accepted(dtype, n_labels):
    """A float32/float16 softmax is off from 1 by its dtype's rounding; it is renormalised in float64."""
    rng = np.random.default_rng(13)
    q = _softmax(rng.normal(0, 2, size=(40, n_labels))).astype(dtype)
    assert np.abs(q.astype(np.float64).sum(axis=1) - 1).max() > 1e-9  # the old float64-only check refused it
    labels = rng.integers(n_labels, size=40)
    for ties in TIES:
        got = plurality_accuracy(q, [1, 4, 15], labels, ties)
        np.testing.assert_allclose(
            got, plurality_accuracy(_renormalised(q), [1, 4, 15], labels, ties), atol=1e-15
        )
        np.testing.assert_allclose(got[:, 0], _renormalised(q)[np.arange(40), labels], atol=1e-15)


def test_float32_torch_softmax_and_float32_corruption_are_accepted():
    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(0)
    q = torch.softmax(3 * torch.randn(30, 10, generator=gen), dim=1)  # float32
    labels = q.argmax(dim=1).numpy()
    P32 = uniform(10).astype(np.float32)  # 0.1 is not a float32: rows sum to 1 only to float32 rounding
    assert abs(float(P32.astype(np.float64).sum(axis=1)[0]) - 1) > 1e-9
    Q64, P64 = _renormalised(q.numpy()), _renormalised(P32)
    got = plurality_accuracy(q, [1, 9], labels)
    np.testing.assert_allclose(got, plurality_accuracy(Q64, [1, 9], labels), atol=1e-15)
    got = noisy_label_distribution(q, 0.3, P32)
    np.testing.assert_allclose(got, noisy_label_distribution(Q64, 0.3, P64), atol=1e-15)
    got = expected_accuracy(q, labels, [0.0, 0.5], P32, [1, 9])
    np.testing.assert_allclose(got, expected_accuracy(Q64, labels, [0.0, 0.5], P64, [1, 9]), atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([[0.5, 0.4, 0.0], [0.2, 0.3, 0.5]], r"q must have rows summing to 1 .*got 0\.(9|8999).* \(row 0\)"),
        (
            [[0.2, 0.3, 0.5], [0.6, -0.1, 0.5]],
            r"q must be non-negative \(logits\? apply softmax first\), got -0.1",
        ),
        (
            [[2.5, 0.3, 1.2], [4.0, 0.1, 2.0]],
            r"q must have rows summing to 1 .*\(logits\? apply softmax first\)",
        ),
        ([[0.2, 0.3, np.inf], [0.2, 0.3, 0.5]], r"q must be finite, got '?inf at index \(0, 2\)"),
    ],
)
def test_rows_that_are_not_probabilities_are_rejected(rows, match, dtype):
    with pytest.raises(ValueError, match=match):
        plurality_accuracy(np.asarray(rows, dtype=dtype), 3, [0, 1])


def test_corruption_that_is_not_row_stochastic_is_rejected_also_in_float32():
    clean = np.eye(3)
    bad = np.array([[0.9, 0.0, 0.0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    with pytest.raises(ValueError, match=r"corruption must have rows summing to 1 .*float32.* \(row 0\)"):
        expected_accuracy(clean, [0, 1, 2], [0.1], bad, [1])
    with pytest.raises(ValueError, match=r"corruption must be non-negative, got -0.5 at index \(0, 1\)"):
        expected_accuracy(clean, [0, 1, 2], [0.1], np.array([[1.5, -0.5, 0], [0, 1, 0], [0, 0, 1]]), [1])
    with pytest.raises(TypeError, match="corruption must be a float"):
        noisy_label_distribution(clean, 0.1, np.full((3, 3), "a"))
