"""The supplement on the digits: each network's softmax against its feature-space K-NN histograms."""

import numpy as np
import pytest

from knnoise.book import parameters
from knnoise.experiments import supp_feature_knn as supp

SCHEDULE = {"model": "mnist", "epochs": 1, "lr": 0.003, "lr_halving_every": None}
VALUES = {
    "dataset": "digits", "data_path": None, "train_subset": None, "test_subset": None, **SCHEDULE,
    "uniform_gammas": np.array([0.5]), "flip_gammas": np.array([0.45]), "ks": [1, 5, 25], "seed": 0,
    "device": "cpu",
}  # fmt: skip
PARAMS = parameters("supp_feature_knn", **VALUES)


@pytest.fixture(scope="module")
def result(module_cache):
    return supp.run(PARAMS)


def test_one_comparison_per_network_clean_first(result):
    assert supp.settings(PARAMS) == [("clean", 0.0), ("uniform", 0.5), ("flip", 0.45)]
    assert result.best_k.index.tolist() == ["clean labels", "uniform, γ = 0.50", "flip, γ = 0.45"]
    assert list(result.distance) == list(result.agreement) == result.best_k.index.tolist()
    for c in result.comparisons:
        assert c.distance.shape == c.agreement.shape == c.knn_accuracy.shape == (3,)
        assert np.all((0 <= c.distance) & (c.distance <= 1))
        assert np.all((0 <= c.agreement) & (c.agreement <= 1))
    assert result.best_k.loc["clean labels", "network accuracy"] == result.comparisons[0].accuracy


def test_best_k_is_the_k_of_least_distance(result):
    for c in result.comparisons:
        row = result.best_k.loc[c.name]
        assert row["best K"] == result.ks[int(np.argmin(c.distance))]
        assert row["TV distance at best K"] == c.distance.min()
        assert row["TV distance at K = 1"] == c.distance[0]


def test_one_nn_distance_is_one_minus_the_softmax_at_the_neighbours_label(tmp_path, monkeypatch, result):
    # h_1 is one-hot, so its TV distance to the softmax is 1 - softmax[label of the nearest neighbour]
    # (up to the float32 softmax's rows summing to 1 only within ~1e-7).
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))
    from knnoise.knn import neighbor_graph
    from knnoise.pipeline.networks import clean_network

    ds = result.dataset
    net = clean_network(ds, PARAMS.schedule, seed=0, device="cpu")
    fitted = np.sort(net.train_index)
    graph = neighbor_graph(net.train_features[fitted], net.test_features, k_max=1, progress=False)
    nearest = ds.y_train[fitted][graph.indices[:, 0]]
    expected = 1 - net.test_softmax.astype(np.float64)[np.arange(ds.n_test), nearest].mean()
    assert result.comparisons[0].distance[0] == pytest.approx(expected, abs=1e-6)
    assert result.comparisons[0].knn_accuracy[0] == pytest.approx(np.mean(nearest == ds.y_test))


def test_claims_and_quoted_numbers(result):
    ((claim, paper, measured),) = result.claims()
    assert claim.startswith("The softmax resembles a K-NN")
    rows = result.noisy_rows()
    assert rows.index.tolist() == ["uniform, γ = 0.50", "flip, γ = 0.45"]
    first = rows.iloc[0]
    tv, agree = first["TV distance at best K"], first["argmax agreement at best K"]
    assert measured.startswith(
        f"best K (TV distance, argmax agreement): uniform, γ = 0.50 K = {int(first['best K'])} "
        f"({tv:.2f}, {agree:.2f}); flip, γ = 0.45 K = "
    )
    quoted = result.quoted()
    assert quoted["best_k_min"] <= quoted["best_k_max"] and quoted["best_k_max"] in result.ks


def test_k_beyond_the_fitted_training_examples_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))
    with pytest.raises(ValueError, match="ks must not exceed the .* fitted training examples"):
        supp.run(parameters("supp_feature_knn", **{**VALUES, "train_subset": 100, "ks": [1, 200]}))
