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
        (lambda: c.check_int_array("y", [0, 2.5]), T,
         r"^y must be integer labels \(whole numbers such as 2 or 2.0\), got 2.5 \(row 1\)$"),
        (lambda: c.check_int_array("y", [[0, np.nan]]), T, r"got nan \(index \(0, 1\)\)$"),
        (lambda: c.check_int_array("y", 2.5), T, r"such as 2 or 2.0\), got 2.5$"),
        (lambda: c.check_int_array("y", ["a"]), T, r"^y must be integer labels, got dtype <U1$"),
        (lambda: c.check_int_array("y", [1e30]), V, r"^y must be labels that fit in int64, got 1e\+30"),
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


def test_the_tolerance_of_dtypes_numpy_lacks():
    """bfloat16 has 8 bits of mantissa (eps 2**-7): 4 L eps is above the 1e-2 cap for any L."""
    torch = pytest.importorskip("torch")
    assert c.sum_tolerance(torch.bfloat16, 2) == c.sum_tolerance("bfloat16", 1000) == 1e-2
    assert c.sum_tolerance(torch.float16, 2) == c.sum_tolerance(np.float16, 2) == 4 * 2 * 2.0**-10
    assert c.sum_tolerance(torch.float32, 10) == c.sum_tolerance(np.float32, 10)
    assert c.sum_tolerance(torch.float64, 10) == c.sum_tolerance(torch.int64, 10) == 1e-9
    assert c.sum_tolerance(torch.float8_e4m3fn, 2) == 1e-2


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32", "float64"])
def test_torch_probability_rows_are_held_to_their_own_dtype(dtype):
    """A softmax as a network returns it (requires_grad), in any float dtype: accepted, renormalised in
    float64; rows off by more than their dtype's rounding are refused naming that dtype."""
    torch = pytest.importorskip("torch")
    logits = torch.randn(100, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    logits.requires_grad_()
    rows = torch.softmax(3 * logits, dim=1).to(getattr(torch, dtype))
    q = c.check_probabilities("q", rows)
    assert q.dtype == np.float64 and q.shape == (100, 10)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    wide = rows.detach().double().numpy()
    np.testing.assert_allclose(q, wide / wide.sum(axis=1, keepdims=True), rtol=1e-15)
    tol = c.sum_tolerance(dtype, 10)
    low = (rows.detach().double() * (1 - 2 * tol)).to(rows.dtype)
    with pytest.raises(ValueError, match=rf"^q must have rows summing to 1 \(within {tol:.2g} for {dtype}\)"):
        c.check_probabilities("q", low)


def test_torch_tensors_wherever_arrays_are_checked():
    torch = pytest.importorskip("torch")
    parameter = torch.nn.Parameter(torch.tensor([0.25, 0.75]))
    np.testing.assert_array_equal(c.check_probabilities("q", parameter), [0.25, 0.75])
    P = c.check_corruption(torch.full((3, 3), 1 / 3).bfloat16())  # 1/3 in bfloat16: rows sum to 1.0039
    np.testing.assert_allclose(P, 1 / 3, rtol=1e-15)
    assert c.check_int_array("y", torch.tensor([0, 2])).tolist() == [0, 2]
    assert c.check_int_array("y", torch.tensor([0.0, 2.0], requires_grad=True)).tolist() == [0, 2]
    whole = r"^y must be integer labels \(whole numbers such as 2 or 2.0\), got 2.5 \(row 1\)$"
    with pytest.raises(TypeError, match=whole):
        c.check_int_array("y", torch.tensor([0.0, 2.5]).bfloat16())
    with pytest.raises(TypeError, match=r"^q must be a float array of probabilities, got dtype complex64$"):
        c.check_probabilities("q", torch.ones(2, dtype=torch.complex64))
    meta = r"^q must be an array numpy can hold, got a torch float32 tensor on meta \("
    with pytest.raises(TypeError, match=meta):
        c.check_probabilities("q", torch.ones(2, device="meta"))
