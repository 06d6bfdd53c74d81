"""The explorer's grid: Eq. 1 for K-dependent clean distributions, deduplicated, equals the plain mean."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from knnoise import expected_accuracy
from knnoise.book import Params, parameters
from knnoise.experiments import explorer
from knnoise.knn import clean_distribution, neighbor_graph
from knnoise.pipeline.data_spec import load_dataset
from knnoise.pipeline.networks import corruption_matrix


def test_k_dependent_source_matches_expected_accuracy_per_k() -> None:
    rng = np.random.default_rng(1)
    ks, gammas = [1, 2, 4], np.linspace(0.0, 1.0, 4)
    counts = rng.multinomial(4, np.full(3, 1 / 3), size=8)  # repeated histograms: deduplication is used
    hoods = np.stack([counts / 4.0] * len(ks))
    labels = rng.integers(3, size=8)
    grid = explorer.grid([explorer.Source("knn", "K-NN", hoods, labels)], gammas, ks, seed=0)
    for noise in explorer.NOISES:
        P = corruption_matrix(noise, 3, seed=0)
        for ties in explorer.RULES:
            want = expected_accuracy(hoods[0], labels, gammas, P, ks, ties, progress=False)
            got = grid[(grid.noise == noise) & (grid.ties == ties)].pivot(
                index="gamma", columns="K", values="accuracy"
            )
            np.testing.assert_allclose(got[ks].to_numpy(), want, atol=1e-12)


def test_limit_is_the_share_of_examples_whose_true_label_leads() -> None:
    src = explorer.ideal(4, 1.0)
    limit = explorer.limit([src], [0.0, 0.4, 0.6]).set_index(["noise", "gamma"]).accuracy
    assert limit["flip", 0.4] == 1.0 and limit["flip", 0.6] == 0.0  # roles reverse at 1/2
    assert limit["uniform", 0.6] == 1.0


@pytest.mark.parametrize("confidence", [0.25, 1.5])
def test_ideal_rejects_a_confidence_outside_the_plurality_range(confidence: float) -> None:
    with pytest.raises(ValueError, match=r"confidence must be in \(1/L, 1\]"):
        explorer.ideal(4, confidence)


def test_limit_at_exact_ties_is_the_tied_share_as_eq1_tends_to_it() -> None:
    src = explorer.ideal(4, 1.0)
    gammas = [0.0, 0.25, 0.5, 0.75, 1.0]
    limit = explorer.limit([src], gammas).set_index(["noise", "gamma"]).accuracy
    assert limit["flip", 0.5] == 0.5  # true and flipped label tie: each wins half of the large-K votes
    assert limit["uniform", 1.0] == 0.25  # every label tied
    for noise in ("flip", "uniform"):
        P = corruption_matrix(noise, 4, seed=0)
        eq1 = expected_accuracy(src.clean, src.labels, np.array(gammas), P, [1999], "random", progress=False)
        np.testing.assert_allclose(eq1[:, 0], limit[noise].to_numpy(), atol=0.01)


def _fake_network(calls: list[str]):
    def clean_network(ds, schedule, *, seed, device):
        calls.append("trained")
        return SimpleNamespace(test_softmax=np.eye(ds.n_classes)[ds.y_test] * 0.9 + 0.01)

    return clean_network


VALUES = {
    "seed": 0, "dataset": "digits", "data_path": None, "train_subset": 300, "test_subset": 80,
    "device": "cpu", "confidences": [0.5, 1.0], "n_examples": 30, "knn_train_subset": 200,
    "n_gammas": 11,
}  # fmt: skip
PARAMS = parameters("explorer", **VALUES)


def _changed(change: dict) -> Params:
    """PARAMS with ``change`` unchecked: values the schema may refuse, to reach the function's own checks."""
    return Params("explorer", {**PARAMS, **change})


def test_knn_and_network_sources_share_the_test_examples(monkeypatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(explorer, "clean_network", _fake_network(calls))
    found, name = explorer.sources(PARAMS, [1, 3, 5])
    network, knn = found[-2], found[-1]
    assert calls == ["trained"] and name == "digits"
    np.testing.assert_array_equal(network.labels, knn.labels)
    ds = load_dataset("digits", train_subset=300, test_subset=80, seed=0)
    rows = np.flatnonzero(np.isin(np.arange(ds.n_test), explorer._sample(ds.n_test, 30, 0)))
    np.testing.assert_array_equal(network.labels, ds.y_test[rows])
    knn_ds = load_dataset("digits", train_subset=200, seed=0)
    graph = neighbor_graph(knn_ds.flat("train"), ds.flat("test")[rows], k_max=5, progress=False)
    np.testing.assert_allclose(knn.clean, clean_distribution(graph, knn_ds.y_train, [1, 3, 5], 10))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"confidences": [0.1, 0.9]}, r"confidence must be in \(1/L, 1\]"),
        ({"knn_train_subset": 20}, "k_max must not exceed the 20 K-NN training images"),
        ({"n_gammas": 401}, "the page holds at most"),
    ],
)
def test_sources_reject_bad_settings_before_training(monkeypatch, change, match) -> None:
    calls: list[str] = []
    monkeypatch.setattr(explorer, "clean_network", _fake_network(calls))
    with pytest.raises(ValueError, match=match):
        explorer.sources(_changed(change), list(range(1, 2000 if "n_gammas" in change else 26)))
    assert calls == []  # nothing trained


def test_check_size_counts_the_page_values() -> None:
    assert explorer.check_size(8, 101, 41) == 8 * 9 * 101 * 41 < explorer.MAX_VALUES
    with pytest.raises(ValueError, match="k_max = 2000, n_gammas = 401"):
        explorer.check_size(8, 2000, 401)


def test_grid_rejects_empty_input() -> None:
    with pytest.raises(ValueError, match="found must be a non-empty sequence of Source"):
        explorer.grid([], np.linspace(0, 1, 3), [1])
    with pytest.raises(ValueError, match="gammas and ks must be non-empty"):
        explorer.grid([explorer.ideal(3, 1.0)], [], [1])


@pytest.mark.parametrize(("name", "value"), [("k_max", 2000), ("n_gammas", 401)])
def test_the_schema_caps_the_page_size(name: str, value: int) -> None:
    from knnoise.book.chapters import validate
    from knnoise.book.errors import ParameterError

    with pytest.raises(ParameterError, match=rf"explorer: {name} must be"):
        validate("explorer", {name: value}, partial=True)
    assert validate("explorer", {name: value // 4}, partial=True) == {name: value // 4}


def test_table_holds_every_curve_of_the_chart() -> None:
    found, gammas, ks = [explorer.ideal(3, 0.8)], np.linspace(0.0, 1.0, 3), [1, 2]
    grid, limit = explorer.grid(found, gammas, ks), explorer.limit(found, gammas)
    table = explorer.table(grid, limit)
    assert list(table.columns) == ["curve", "source", "confidence", "noise", "ties", "K", "gamma", "accuracy"]
    assert len(table) == len(grid) + len(limit) and set(table.curve) == {"Eq. 1", "large-K limit"}
    lim = table[table.curve == "large-K limit"]
    assert lim.ties.isna().all() and lim.K.isna().all() and table.K.dtype == "Int64"
    text = table.to_csv(index=False)
    assert "large-K limit,ideal,0.8,flip,,,1.0," in text and "Eq. 1,ideal,0.8,uniform,strict,2,0.0," in text
