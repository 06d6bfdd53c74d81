"""knnoise.predict.curves: the paper's recipe on a float32 softmax, the effective-K fit, the figure."""

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

from knnoise import noise, predict
from knnoise.predict import curves
from knnoise.theory import expected_accuracy

GAMMAS = [0.0, 0.25, 0.5, 0.75, 1.0]
KS = [1, 3, 7]


def test_tidy_curves_are_eq1_with_the_softmax_as_clean(softmax, labels):
    result = predict.predict(softmax, labels, ["uniform", "flip"], GAMMAS, KS)
    assert list(result.curves.columns) == list(predict.COLUMNS)
    assert len(result.curves) == 2 * len(GAMMAS) * len(KS)
    assert result.noises == ["uniform", "flip"] and result.ks == KS
    np.testing.assert_array_equal(result.gammas, GAMMAS)
    for name, P in (("uniform", noise.uniform(4)), ("flip", noise.flip(4))):
        expected = expected_accuracy(softmax, labels, GAMMAS, P, KS)
        np.testing.assert_array_equal(result.table(name).to_numpy(), expected)
    table = result.table("uniform")
    assert list(table.index) == GAMMAS and list(table.columns) == KS
    # gamma = 0, K = 1: the mean softmax at the true label; uniform noise at gamma = 1 leaves 1/L
    at_label = softmax.astype(np.float64)[np.arange(len(labels)), labels]
    assert table.loc[0.0, 1] == pytest.approx(at_label.mean(), abs=1e-6)
    assert table.loc[1.0, 1] == pytest.approx(0.25, abs=1e-12)
    assert result.fits == {} and result.measured is None


def test_order_duplicates_ties_and_predict_curves(softmax, labels):
    frame = predict.predict_curves(softmax, labels, "flip", [0.5, 0.0, 0.5], [7, 1], ties="random")
    assert frame.gamma.unique().tolist() == [0.0, 0.5] and frame.K.unique().tolist() == [1, 7]
    assert isinstance(frame, pd.DataFrame) and set(frame.noise) == {"flip"}
    strict = predict.predict_curves(softmax, labels, "flip", [0.0, 0.5], [1, 7])
    assert not np.allclose(frame.accuracy, strict.accuracy)  # the tie rule matters at even vote counts


@pytest.mark.parametrize("true_k", [1, 6, 11])
def test_fit_recovers_the_k_the_measurements_came_from(softmax, labels, true_k):
    gammas = np.linspace(0, 0.9, 10)
    exact = expected_accuracy(softmax, labels, gammas, noise.flip(4), [true_k])[:, 0]
    measured = pd.DataFrame({"gamma": gammas, "accuracy": exact})
    result = predict.predict(softmax, labels, "flip", [0.0, 0.5], [1, 5], measured=measured,
                             fit_ks=range(1, 21))  # fmt: skip
    fit = result.fits["flip"]
    assert (fit.k, fit.low, fit.high) == (true_k, true_k, true_k)
    assert fit.rmse == pytest.approx(0.0, abs=1e-12)
    # the fitted curve, at the asked gammas, is the analytic curve at that K
    at_k = expected_accuracy(softmax, labels, [0.0, 0.5], noise.flip(4), [true_k])[:, 0]
    np.testing.assert_allclose(result.fitted["flip"], at_k, atol=1e-12)
    assert "effective K, flip noise: " + str(true_k) in result.fit_text("flip")


def test_fit_with_repeats_and_the_default_search(softmax, labels):
    exact = expected_accuracy(softmax, labels, [0.2, 0.6], noise.uniform(4), [5])[:, 0]
    rng = np.random.default_rng(0)
    pairs = [(g, a + e) for g, a in zip([0.2, 0.6], exact, strict=True) for e in rng.normal(0, 1e-4, 3)]
    result = predict.predict(softmax, labels, "uniform", GAMMAS, [1, 9], measured=pairs)
    assert result.fits["uniform"].rmse_by_k.shape == (201,)  # K = 1..max(201, max(ks))
    assert result.fits["uniform"].edge is None
    assert result.fits["uniform"].k == 5
    assert len(result.measured) == 6


def test_measured_levels_off_the_grid_by_rounding_are_one_level(softmax, labels):
    grid = np.arange(0, 1.0001, 0.1)  # 0.30000000000000004, ...
    exact = expected_accuracy(softmax, labels, [0.3, 0.7], noise.uniform(4), [3])[:, 0]
    pairs = list(zip([0.3, 0.7], exact, strict=True))
    result = predict.predict(softmax, labels, "uniform", grid, [1, 3], measured=pairs)
    assert result.fits["uniform"].k == 3 and result.fits["uniform"].rmse < 1e-12
    assert len(result.table("uniform")) == 11


def test_figure(softmax, labels, tmp_path):
    measured = pd.DataFrame({"noise": ["uniform", "uniform", "flip"], "gamma": [0.0, 0.5, 0.5],
                             "accuracy": [0.9, 0.8, 0.7]})  # fmt: skip
    result = predict.predict(softmax, labels, ["uniform", "flip"], GAMMAS, KS, measured=measured)
    fig = result.figure(title="mine", path=tmp_path / "c.png")
    assert isinstance(fig, Figure) and fig.get_suptitle() == "mine"
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["uniform noise", "flip noise"]
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"softmax": "rows0.9"}, ValueError, r"^softmax must have rows summing to 1"),
        (
            {"softmax": "negative"},
            ValueError,
            r"^softmax must be non-negative \(logits\? apply softmax first\)",
        ),
        (
            {"labels": "too_many"},
            ValueError,
            r"^labels must be an array of shape \(60,\), one per row of softmax",
        ),
        ({"labels": "out_of_range"}, ValueError, r"^labels must be labels in 0..3 \(L = 4\), got 4$"),
        ({"noise": "unifrom"}, ValueError, r"^noise must be one of \('uniform', 'symmetric', 'flip'\)"),
        ({"noise": np.eye(3)}, ValueError, r"^noise must be a \(4, 4\) matrix to match L = 4"),
        ({"gammas": [0.5, 1.5]}, ValueError, r"^gammas\[1\] must be a number in \[0, 1\], got 1.5$"),
        ({"ks": [0]}, ValueError, r"^ks\[0\] must be an integer in 1..2000"),
        ({"ties": "coin"}, ValueError, r"^ties must be one of \('strict', 'random', 'lowest'\), got 'coin'$"),
        ({"measured": [(0.5, 50.0)]}, ValueError, r"a fraction, not a percentage"),
    ],
)
def test_errors_come_before_any_solver_work(monkeypatch, softmax, labels, change, error, message):
    def no_solver(*args, **kwargs):
        raise AssertionError("the solver ran before the inputs were checked")

    monkeypatch.setattr(curves, "expected_accuracy", no_solver)
    args = {"softmax": softmax, "labels": labels, "noise": "flip", "gammas": GAMMAS, "ks": KS,
            "ties": "strict", "measured": None}  # fmt: skip
    variants = {
        "rows0.9": softmax.astype(np.float64) * 0.9, "negative": np.log(softmax),
        "too_many": np.append(labels, 0), "out_of_range": np.where(labels == 3, 4, labels),
    }  # fmt: skip
    args |= {k: variants.get(v, v) if isinstance(v, str) else v for k, v in change.items()}
    with pytest.raises(error, match=message):
        predict.predict(**args)


def test_torch_tensors_of_any_float_dtype_are_accepted(softmax, labels):
    """A softmax straight from a network (requires_grad; bfloat16 under mixed precision) and tensor labels:
    the same curves as the same numbers in float64, each dtype held to its own rounding."""
    logits = torch.log(torch.from_numpy(softmax).double()).requires_grad_()
    for dtype in (torch.bfloat16, torch.float16, torch.float32):
        rows = torch.softmax(logits, dim=1).to(dtype)
        assert rows.requires_grad
        wide = rows.detach().double().numpy()
        got = predict.predict_curves(rows, torch.from_numpy(labels), "flip", GAMMAS, KS)
        expected = predict.predict_curves(wide / wide.sum(axis=1, keepdims=True), labels, "flip", GAMMAS, KS)
        np.testing.assert_allclose(got.accuracy, expected.accuracy, rtol=0, atol=1e-13)
    with pytest.raises(ValueError, match=r"softmax must have rows summing to 1 \(within 0.01 for bfloat16\)"):
        predict.predict(torch.from_numpy(softmax * 0.95).bfloat16(), labels, "flip", GAMMAS, KS)
    with pytest.raises(TypeError, match=r"labels must be integer labels \(whole numbers such as 2 or 2.0\), "
                       r"got 2.5 \(row 0\)"):  # fmt: skip
        predict.predict(softmax, torch.tensor([2.5] * len(labels)), "flip", GAMMAS, KS)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
def test_a_softmax_on_the_gpu(softmax, labels):
    rows = torch.from_numpy(softmax).cuda().bfloat16()
    got = predict.predict_curves(rows, torch.from_numpy(labels).cuda(), "uniform", GAMMAS, KS)
    expected = predict.predict_curves(rows.cpu(), labels, "uniform", GAMMAS, KS)
    np.testing.assert_array_equal(got.accuracy, expected.accuracy)
