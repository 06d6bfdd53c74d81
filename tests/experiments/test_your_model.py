"""The your_model chapter on the digits: the clean net's float32 softmax saved, read back, predicted."""

import numpy as np
import pandas as pd
import pytest

from knnoise import predict
from knnoise.book import parameters
from knnoise.experiments import your_model
from knnoise.theory import expected_accuracy

SCHEDULE = {"model": "mnist", "epochs": 1, "lr": 0.003, "lr_halving_every": None}
VALUES = {
    "dataset": "digits", "data_path": None, "train_subset": 500, "test_subset": 200, "seed": 0, **SCHEDULE,
    "device": "cpu", "noises": ["uniform", "flip"], "gammas": np.round(np.arange(0, 1.001, 0.1), 2),
    "ks": [1, 5, 25], "ties": "strict",
}  # fmt: skip
PARAMS = parameters("your_model", **VALUES)


@pytest.fixture(scope="module")
def result(module_cache):
    return your_model.run(PARAMS)


def test_the_saved_files_are_what_a_user_writes(result):
    saved = result.saved
    softmax = np.load(saved.softmax)
    assert softmax.dtype == np.float32 and softmax.shape == (200, 10)
    np.testing.assert_array_equal(softmax, result.clean_net.test_softmax)
    np.testing.assert_array_equal(np.loadtxt(saved.labels, dtype=int), result.dataset.y_test)
    assert 0 < saved.row_sum_error() < 1e-5  # float32 rounding, which the reader accepts
    assert str(saved) == "softmax.npy: 200 x 10 float32 softmax; labels.csv: 200 labels"


def test_the_prediction_is_eq1_on_the_clean_softmax(result):
    pred = result.prediction
    assert list(pred.curves.columns) == list(predict.COLUMNS)
    assert pred.noises == ["uniform", "flip"] and pred.ks == [1, 5, 25]
    assert len(pred.curves) == 2 * 11 * 3
    ds, net = result.dataset, result.clean_net
    from knnoise import noise

    expected = expected_accuracy(net.test_softmax, ds.y_test, PARAMS.gammas, noise.flip(10), [1, 5, 25])
    np.testing.assert_allclose(pred.table("flip").to_numpy(), expected, rtol=0, atol=1e-12)
    at_label = net.test_softmax[np.arange(len(ds.y_test)), ds.y_test].astype(np.float64)
    assert pred.table("uniform").loc[0.0, 1] == pytest.approx(at_label.mean(), abs=1e-6)


def test_quoted_numbers(result):
    q = your_model.quoted(result.prediction)
    assert (q["k_lo"], q["k_hi"], q["half"], q["ties"]) == (1, 25, 0.5, "strict")
    table = result.prediction.table("uniform")
    assert q["uniform_half_hi"] == table.loc[0.5, 25]
    assert f"uniform noise {table.loc[0.5, 1]:.3f} (K = 1)" in q["at_half"]
    assert q["holds"].startswith("up to γ = ") and "under flip noise" in q["holds"]


def test_holds_until():
    curves = pd.DataFrame({"noise": "uniform", "gamma": [0.0, 0.5, 0.8, 1.0], "K": 5,
                           "accuracy": [0.9, 0.8, 0.4, 0.6]})  # fmt: skip
    pred = predict.Prediction(curves, "strict")
    assert your_model.holds_until(pred, "uniform", 5) == 0.5  # 0.4 < 0.45: stops, though 1.0 is back up
    assert your_model.holds_until(pred, "uniform", 5, share=0.4) == 1.0
    assert your_model.holds_until(pred, "uniform", 5, share=0.95) == 0.0


def test_grid_text_and_the_cli_command(result):
    assert your_model.grid_text(np.round(np.arange(0, 1.001, 0.05), 2)) == ["0:1:0.05"]
    assert your_model.grid_text([0.0, 0.5]) == ["0", "0.5"]
    assert your_model.grid_text([0.0, 0.1, 0.5]) == ["0", "0.1", "0.5"]
    command = your_model.cli_command(PARAMS)
    assert command[:4] == ["python", "-m", "knnoise", "predict"]
    assert command[command.index("--gammas") + 1] == "0:1:0.1"
    out = your_model.run_cli(command, result.saved.folder)
    assert "softmax softmax.npy: 200 test examples x 10 classes (float32" in out
    flip = result.prediction.table("flip")
    assert f"\n  0.5 {flip.loc[0.5, 1]:.4f} {flip.loc[0.5, 5]:.4f} {flip.loc[0.5, 25]:.4f}\n" in out
