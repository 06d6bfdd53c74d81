"""The concentration knob on the digits: measured K-NN, the local-rate Eq. 3 prediction, the networks."""

import numpy as np
import pandas as pd
import pytest

from knnoise import plots
from knnoise.book import parameters
from knnoise.experiments import concentration_knob

SCHEDULE = {"model": "mnist", "epochs": 1, "lr": 0.003, "lr_halving_every": None}
VALUES = {
    "dataset": "digits", "knn_train_subset": None, "test_subset": None, "gammas": np.array([0.3, 0.5]),
    "concentrations": np.array([0.0, 0.5, 1.0]), "ks": [1, 5, 25], "repeats": 2, "ties": "lowest",
    "dnn": True, "train_subset": None, "epochs": 1, "lr": 0.003,
    "dnn_concentrations": np.array([0.0, 1.0]), "seed": 0, "device": "cpu",
}  # fmt: skip
PARAMS = parameters("concentration", **VALUES)


@pytest.fixture(scope="module")
def cache(module_cache):
    return module_cache


@pytest.fixture(scope="module")
def sweep(cache):
    return concentration_knob.knn_sweep(PARAMS)


def test_one_row_per_setting_repeat_and_k(sweep):
    assert len(sweep.rows) == 2 * 3 * 2 * 3
    assert list(sweep.rows.columns) == [
        "gamma", "concentration", "repeat", "K", "measured", "local rate, std", "analytic (local rate)"
    ]  # fmt: skip
    assert sweep.rows[["measured", "analytic (local rate)"]].stack().between(0, 1).all()
    table = sweep.table()
    assert table.shape == (6, 9) and table.columns.get_level_values("K").unique().tolist() == [1, 5, 25]
    assert set(sweep.spread) == {(g, k) for g in (0.3, 0.5) for k in (1, 5, 25)}


def test_one_nn_local_rate_prediction_is_exact(sweep):
    # K = 1: C_s is one neighbour's clean label and the local rate 0 or 1, so Eq. 1-3 is the vote itself.
    one = sweep.rows[sweep.rows.K == 1]
    np.testing.assert_allclose(one["analytic (local rate)"], one["measured"], atol=1e-12)


def test_concentrating_the_same_noise_costs_a_large_k_its_resistance(sweep):
    spread = sweep.measured_at(0.3, 0.0, 25)
    concentrated = sweep.measured_at(0.3, 1.0, 25)
    assert spread > 0.9 and concentrated < spread - 0.1
    local_sd = sweep.rows.groupby(["gamma", "concentration"])["local rate, std"].mean()
    assert local_sd[(0.3, 1.0)] > local_sd[(0.3, 0.0)]  # concentrated: neighbourhoods all-clean or all-noisy
    assert sweep.gap().max() < 0.15


def test_summary_quoted_numbers_and_claims_agree(sweep):
    summary = sweep.summary()
    assert len(summary) == 6 and summary["1 − γ"].tolist() == pytest.approx([0.7] * 3 + [0.5] * 3)
    quoted = sweep.quoted()
    assert quoted["k_big"] == 25 and quoted["gap_max"] == pytest.approx(sweep.gap().max())
    ((claim, paper, measured),) = sweep.claims()
    assert measured == (
        f"K-NN, K = 25, γ = 0.3: {quoted['spread_measured']:.3f} spread → "
        f"{quoted['concentrated_measured']:.3f} concentrated (1 − γ = 0.70); "
        f"local-rate Eq. 3 within {quoted['gap_max']:.3f} everywhere"
    )


def test_figure_panels_follow_the_knob_order(sweep):
    args = sweep.figure(pd.DataFrame({"concentration": [0.0, 1.0], "accuracy": [0.9, 0.7]}))
    assert list(args["analytic"]) == ["γ = 0.3", "γ = 0.5"]
    assert args["analytic"]["γ = 0.3"].shape == (3, 3)
    mean, sd = args["measured"]["γ = 0.5"]
    assert mean[2, 1] == pytest.approx(sweep.measured_at(0.5, 1.0, 5)) and (sd >= 0).all()
    assert list(args["networks"]) == ["γ = 0.3"]  # networks only at the first gamma
    fig = plots.concentration_curves(**args)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2
    assert "DNN, measured" in [t.get_text() for t in fig.legends[0].get_texts()]


def test_networks_one_per_knob_setting(cache):
    nets = concentration_knob.networks(PARAMS)
    assert nets.columns.tolist() == ["gamma", "concentration", "accuracy", "achieved gamma"]
    assert nets.concentration.tolist() == [0.0, 1.0] and (nets.gamma == 0.3).all()
    assert nets["achieved gamma"].between(0.25, 0.35).all() and nets.accuracy.between(0, 1).all()
    assert concentration_knob.networks(parameters("concentration", **{**VALUES, "dnn": False})).empty
