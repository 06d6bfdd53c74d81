"""Fig. 2's experiment on the digits: the networks' softmax, true label first, against Eq. 3's levels."""

import numpy as np
import pytest

from knnoise.book import parameters
from knnoise.experiments import fig2_softmax

SCHEDULE = {"model": "mnist", "epochs": 1, "lr": 0.003, "lr_halving_every": None}
VALUES = {
    "dataset": "digits", "data_path": None, "train_subset": 500, "test_subset": 200, "seed": 0,
    **SCHEDULE, "uniform_gammas": np.array([0.5]), "flip_gammas": np.array([0.3, 0.45]),
    "concentrated_gammas": np.array([0.25]), "device": "cpu",
}  # fmt: skip
PARAMS = parameters("fig2_softmax", **VALUES)


@pytest.fixture(scope="module")
def result(module_cache):
    return fig2_softmax.run(PARAMS)


def test_a_panel_and_a_row_per_network(result):
    titles = list(result.panels)
    assert titles[0] == "clean labels" and len(titles) == 5
    assert [t.split(",")[0] for t in titles[1:]] == ["uniform noise", "flip noise", "flip noise",
                                                     "concentrated noise"]  # fmt: skip
    assert list(result.table.noise) == ["uniform", "flip", "flip", "concentrated"]
    m, n_labels = len(result.dataset.y_test), result.dataset.n_classes
    for values in result.panels.values():
        assert values.shape == (m, n_labels)
        np.testing.assert_allclose(values.sum(axis=1), 1, atol=1e-5)
    assert set(result.expected) == set(titles[1:])


def test_the_true_label_comes_first(result):
    y = result.dataset.y_test
    clean = result.panels["clean labels"]
    np.testing.assert_array_equal(clean[:, 0], result.clean_net.test_softmax[np.arange(len(y)), y])


def test_expected_levels_are_eq_3_for_a_one_hot_neighbourhood():
    uniform = fig2_softmax.expected_levels("uniform", 0.5, 10)
    assert uniform[0] == pytest.approx(0.55) and np.allclose(uniform[1:], 0.05)
    flip = fig2_softmax.expected_levels("flip", 0.3, 10)
    assert flip[:2] == pytest.approx([0.7, 0.3]) and np.isnan(flip[2:]).all()
    assert np.isnan(fig2_softmax.expected_levels("concentrated", 0.3, 10)).all()
    assert fig2_softmax.alternative_offset("concentrated", 10) == 5
    assert fig2_softmax.alternative_offset("uniform", 10) is None


def test_summary_and_claims_quote_the_same_numbers(result):
    table = result.table
    uniform = table[table.noise == "uniform"].iloc[0]
    assert np.isnan(uniform["median softmax, alternative class"])
    conc = table[table.noise == "concentrated"].iloc[0]
    assert 0 <= conc["predicted as the alternative"] <= 1
    (claim,) = result.claims()
    measured = claim[2]
    assert measured.startswith("digits nets, median softmax: uniform γ = ")
    assert f"(γ/L = {uniform.gamma / 10:.3f})" in measured
    assert measured.count("flip target") == 2 and "concentrated" not in measured
    assert result.quoted()["flip"].count("; ") == 1
