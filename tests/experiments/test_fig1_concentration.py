"""Fig. 1 on the digits: two noisy training sets at one gamma, one t-SNE embedding, the noise's locality."""

import numpy as np
import pytest

from knnoise import plots
from knnoise.book import parameters
from knnoise.experiments import fig1_concentration as fig1

SCHEDULE = {"model": "mnist", "epochs": 1, "lr": 0.003, "lr_halving_every": None}
VALUES = {
    "dataset": "digits", "data_path": None, "train_subset": None, "test_subset": None, **SCHEDULE,
    "gamma": 0.2, "tsne_points": 150, "perplexity": 30.0, "neighbours": 10, "seed": 0, "device": "cpu",
}  # fmt: skip
PARAMS = parameters("fig1_concentration", **VALUES)


@pytest.fixture(scope="module")
def nets(module_cache):
    return fig1.networks(PARAMS)


def test_summary_one_row_per_noise_kind(nets):
    summary = nets.summary
    assert summary.index.tolist() == ["uniform", "concentrated"]
    assert summary.columns.tolist() == [
        "selected for corruption", "labels changed", "test accuracy (clean labels)", "1 − labels changed"
    ]  # fmt: skip
    n = nets.dataset.n_train
    assert summary.loc["uniform", "selected for corruption"] == round(0.2 * n) / n  # exactly gamma N selected
    assert summary.loc["uniform", "labels changed"] < summary.loc["uniform", "selected for corruption"]
    # k-means on the trained features: close to gamma (measured 0.187-0.212, 6 seeds x 3 kernel paths)
    assert 0.1 < summary.loc["concentrated", "selected for corruption"] < 0.3
    np.testing.assert_allclose(summary["1 − labels changed"], 1 - summary["labels changed"])


def test_claims_and_quoted_numbers(nets):
    ((claim, paper, measured),) = nets.claims()
    assert claim.startswith("The same amount of noise") and paper.startswith("Fig. 1")
    assert measured == (
        f"digits net, γ = 0.2: uniform {nets.accuracy('uniform'):.3f}, "
        f"concentrated {nets.accuracy('concentrated'):.3f} (clean {nets.clean_net.test_accuracy:.3f})"
    )
    quoted = nets.quoted()
    assert quoted["concentrated_changed"] == nets.summary.loc["concentrated", "labels changed"]


def test_embedding_of_a_stratified_subset_drawn_in_two_panels(nets):
    emb = fig1.embed(PARAMS, nets)
    assert emb.points.shape == (150, 2) and np.all(np.diff(emb.rows) > 0)
    assert set(nets.dataset.y_train[emb.rows]) == set(range(10))
    assert emb.perplexity == pytest.approx(30.0) and emb.n_features == nets.clean_net.train_features.shape[1]
    args = emb.figure(nets)
    assert [len(lab) for lab in args["labels"]] == [150, 150]
    corruption = nets.noisy["concentrated"][1]
    np.testing.assert_array_equal(args["marked"][1], corruption.selected[emb.rows])  # outlined = changed
    fig = plots.embedding_panels(**args)
    titles = [ax.get_title().split(",")[0] for ax in fig.axes]
    assert titles == ["uniform noise", "locally concentrated noise"]
    small = fig1.embed(parameters("fig1_concentration", **{**VALUES, "tsne_points": 30}), nets)
    assert small.perplexity == pytest.approx(29 / 3)  # capped below a third of the points


def test_concentrated_noise_is_local_in_feature_space(nets):
    table = fig1.locality(PARAMS, nets)
    assert table.index.tolist() == ["uniform", "concentrated"]
    changed = table["changed among its 10 neighbours"]
    plurality = table["neighbours' plurality = its true label"]
    assert changed["concentrated"] > 2 * changed["uniform"]
    assert plurality["uniform"] > 0.8 > plurality["concentrated"]


def test_other_neighbours_drop_the_example_itself():
    features = np.array([[0.0], [1.0], [1.0], [3.0], [10.0]])
    others = fig1.other_neighbours(features, 2)
    assert others.shape == (5, 2)
    assert not np.any(others == np.arange(5)[:, None])
    assert others[1].tolist() == [2, 0] and others[2].tolist() == [1, 0]  # the duplicate is a neighbour
