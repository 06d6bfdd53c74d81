"""Fig. 3's experiment: analytic curves and the measured K-NN vote on the digits."""

import numpy as np
import pytest

from knnoise.book import parameters
from knnoise.experiments import fig3_knn

VALUES = {
    "dataset": "digits", "data_path": None, "train_subset": None, "test_subset": None, "seed": 0,
    "ks": [1, 5], "uniform_gammas": [0.0, 0.5], "flip_gammas": [0.0, 0.6], "repeats": 2, "ties": "lowest",
    "embedding": "pixels", "model": "mnist", "epochs": 1, "lr": 0.003,
}  # fmt: skip
PARAMS = parameters("fig3_knn", **VALUES)


@pytest.fixture(scope="module")
def result(module_cache):
    return fig3_knn.run(PARAMS)


def test_tidy_rows_one_per_noise_level_repeat_and_k(result):
    measured = result.measured
    assert len(measured) == 2 * 2 * 2 * 2
    columns = {"dataset", "model", "noise", "gamma", "changed", "K", "repeat", "accuracy"}
    assert columns <= set(measured.columns)
    assert set(measured.noise) == {"uniform", "flip"}
    for noise in fig3_knn.NOISES:
        for curve in result.analytic[noise].values():
            assert curve.shape == (2, 2)
        mean, std = result.empirical(noise)
        assert mean.shape == std.shape == (2, 2)


def test_clean_one_nn_is_exactly_the_analytic_value(result):
    # At gamma = 0 and K = 1, C_s is the nearest neighbour's one-hot label: Eq. 1 is the 1-NN accuracy.
    mean, _ = result.empirical("uniform")
    for curve in result.analytic["uniform"].values():
        assert curve[0, 0] == pytest.approx(mean[0, 0], abs=1e-12)
    assert result.hood.clean_accuracy["K = 1"] == pytest.approx(mean[0, 0], abs=1e-12)


def test_gaps_and_claims_quote_the_same_numbers(result):
    own = result.largest_gap(result.own_rule)
    assert 0 <= own < 0.2
    (claim,) = result.claims()
    assert f"largest gap {own:.3f}" in claim[2]
    assert "K in [1, 5]" in claim[2]


def test_flip_noise_beyond_one_half_loses_to_the_flipped_class(result):
    mean, _ = result.empirical("flip")
    assert mean[1, 1] < mean[0, 1] - 0.3  # K = 5 at gamma = 0.6: the flipped class wins most votes
    assert np.all(result.analytic["flip"]["analytic, strict (paper)"][1] < 0.5)


def test_k_larger_than_the_training_set_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))
    with pytest.raises(ValueError, match="ks must not exceed the 50 training examples"):
        fig3_knn.neighbourhoods(parameters("fig3_knn", **{**VALUES, "train_subset": 50, "ks": [1, 51]}))
