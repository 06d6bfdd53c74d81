"""knnoise._checks: every shared check, one message format "<name> must be <allowed>, got <value>"."""

import numpy as np
import pytest

from knnoise import _checks as c

V, T = ValueError, TypeError


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: c.check_int("k", 0), V, r"^k must be an integer >= 1, got 0$"),
        (lambda: c.check_int("k", 1.5), T, r"^k must be an integer >= 1, got 1.5$"),
        (lambda: c.check_int("k", True), T, r"^k must be an integer >= 1, got True$"),
        (lambda: c.check_int("k", 9, maximum=5), V, r"^k must be an integer in 1..5, got 9$"),
        (lambda: c.check_int("n", "3", allow_none=True), T, r"integer >= 1 or None, got '3'$"),
        (lambda: c.check_number("lr", 0.0, low=0, low_open=True), V, r"^lr must be a number > 0, got"),
        (lambda: c.check_number("x", float("nan")), V, r"^x must be a finite number, got nan$"),
        (lambda: c.check_fraction("gamma", 1.2), V, r"^gamma must be a number in \[0, 1\], got 1.2$"),
        (lambda: c.check_choice("ties", "x", c.TIE_MODES), V, r"^ties must be one of \('strict'"),
        (lambda: c.check_ks("ks", [0]), V, r"^ks\[0\] must be an integer >= 1, got 0$"),
        (lambda: c.check_ks("ks", []), V, r"^ks must be a non-empty sequence"),
        (lambda: c.check_ks("ks", "5"), T, r"^ks must be a positive integer K or a 1-D sequence"),
        (lambda: c.check_noise_levels("g", [0.1, 2]), V, r"^g\[1\] must be a number in \[0, 1\]"),
        (lambda: c.check_seed(-1), T, r"^seed must be a non-negative integer, a sequence of them or a numpy"),
        (lambda: c.check_seed([1, -2]), T, r"^seed must be a non-negative integer, a sequence"),
        (lambda: c.check_int_array("y", [0, 3], n_labels=3), V, r"^y must be labels in 0..2 \(L = 3\)"),
        (lambda: c.check_int_array("y", [0.5]), T, r"^y must be integer labels, got dtype float64$"),
        (lambda: c.check_points("x", np.zeros((2, 2, 2))), V, r"^x must be a 2-D array .*got shape \(2, 2"),
    ],
)  # fmt: skip
def test_one_message_format(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_valid_values_pass_through_normalised():
    assert c.check_int("k", np.int64(3)) == 3 and type(c.check_int("k", np.int64(3))) is int
    assert c.check_int("n", None, allow_none=True) is None
    ks, single = c.check_ks("ks", 5)
    assert ks.tolist() == [5] and single
    ks, single = c.check_ks("ks", [5, 1])
    assert ks.tolist() == [5, 1] and not single
    assert c.check_noise_levels("g", (0, 0.5)).dtype == np.float64
    assert c.check_ties("lowest") == 2
    assert c.check_int_array("y", np.array([0.0, 2.0])).dtype == np.int64


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_probability_rows_off_by_their_dtypes_rounding_are_renormalised(dtype):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 100))
    softmax = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(dtype)
    q = c.check_probabilities("q", softmax)
    assert q.dtype == np.float64
    np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    wide = softmax.astype(np.float64)
    np.testing.assert_allclose(q, wide / wide.sum(axis=1, keepdims=True))


def test_tolerance_scales_with_the_dtype_and_the_number_of_labels():
    assert c.sum_tolerance(np.float64, 10) == 1e-9
    tol = c.sum_tolerance
    assert tol(np.float32, 10) < tol(np.float32, 1000) < tol(np.float16, 1000)
    assert c.sum_tolerance(np.float16, 10**6) == 1e-2


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (np.full((2, 10), 0.09, dtype=np.float32), r"q must have rows summing to 1 .* got 0.9"),
        (np.array([0.5, 0.6, -0.1]), r"q must be non-negative, got -0.1 at index \(2,\)"),
        (np.array([[2.0, -1.0, 3.0]]), r"non-negative \(logits\? apply softmax first\)"),
        (np.array([[2.0, 1.0, 3.0]]), r"\(logits\? apply softmax first\), got 6.0"),
        (np.array([[np.nan, 1.0]]), r"q must be finite, got nan at index \(0, 0\)"),
        (np.zeros((0, 3)), r"q must be an array of shape \(L,\) or \(M, L\)"),
    ],
)
def test_bad_probabilities_are_refused_clearly(rows, message):
    with pytest.raises(ValueError, match=message):
        c.check_probabilities("q", rows)


def test_corruption_matrix_checks():
    P = c.check_corruption(np.full((4, 4), 0.25, dtype=np.float32))
    assert P.dtype == np.float64 and np.allclose(P.sum(1), 1)
    with pytest.raises(ValueError, match=r"corruption must be a square \(L, L\) matrix, got shape \(2, 3\)"):
        c.check_corruption(np.ones((2, 3)) / 3)
    with pytest.raises(ValueError, match=r"to match L = 3"):
        c.check_corruption(np.eye(4), n_labels=3)
    with pytest.raises(ValueError, match=r"row-stochastic matrix P\[y, y_noisy\]"):
        c.check_corruption(np.ones((3, 3)))
