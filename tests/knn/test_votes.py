"""Votes through the graph (knnoise.knn.votes): three tie modes, accuracy, C_s, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from knnoise.data import load
from knnoise.knn import NeighborGraph, clean_distribution, knn_accuracy, knn_predict, neighbor_graph

KS = [1, 2, 4, 6, 10, 30]


@pytest.fixture(scope="module")
def tie_data():
    """Continuous features (no equal distances), 3 labels, even K: many tied votes."""
    rng = np.random.default_rng(1)
    x_train = rng.normal(size=(400, 6))
    x_test = rng.normal(size=(150, 6))
    labels = rng.integers(0, 3, size=(4, 400))
    graph = neighbor_graph(x_train, x_test, 30, cache=False)
    return x_train, x_test, labels, graph


def test_lowest_ties_equal_sklearn(tie_data):
    x_train, x_test, labels, graph = tie_data
    many = knn_predict(graph, labels, KS)
    one = knn_predict(graph, labels[0], KS)
    assert many.shape == (4, 150, len(KS)) and one.shape == (150, len(KS))
    np.testing.assert_array_equal(one, many[0])
    for r in range(len(labels)):
        for j, k in enumerate(KS):
            clf = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(x_train, labels[r])
            np.testing.assert_array_equal(many[r, :, j], clf.predict(x_test), err_msg=f"r={r}, K={k}")
    # The data do exercise tied votes.
    strict = knn_predict(graph, labels, KS, ties="strict")
    assert (strict[..., KS.index(2)] == -1).mean() > 0.2
    assert (strict[..., KS.index(1)] != -1).all()


def test_lowest_ties_equal_sklearn_on_digits():
    """scikit-learn's digits (integer pixels): equal up to neighbours at exactly equal distance."""
    ds = load("digits")
    x_train, x_test = ds.flat("train"), ds.flat("test")
    graph = neighbor_graph(x_train, x_test, 21, cache=False)
    ks = [1, 4, 10, 20]
    ours = knn_predict(graph, ds.y_train, ks)
    for j, k in enumerate(ks):
        clf = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(x_train, ds.y_train)
        unambiguous = graph.distances[:, k - 1] < graph.distances[:, k]  # no tie at the K-th neighbour
        assert unambiguous.mean() > 0.8
        np.testing.assert_array_equal(ours[unambiguous, j], clf.predict(x_test[unambiguous]))


def test_ks_any_order_and_scalar(tie_data):
    _, _, labels, graph = tie_data
    for ties in ("lowest", "random", "strict"):
        full = knn_predict(graph, labels, [1, 2, 4, 6], ties=ties, seed=5)
        shuffled = knn_predict(graph, labels, [6, 1, 4, 2], ties=ties, seed=5)
        np.testing.assert_array_equal(shuffled, full[..., [3, 0, 2, 1]])
        np.testing.assert_array_equal(knn_predict(graph, labels, 4, ties=ties, seed=5), full[..., 2])
        np.testing.assert_array_equal(
            knn_predict(graph, labels, range(1, 3), ties=ties, seed=5), full[..., :2]
        )


def test_random_ties_reproducible_and_uniform():
    # Every test example's 4 neighbours carry the 4 labels once: a 4-way tie at K = 4.
    m = 8000
    rng = np.random.default_rng(6)
    indices = np.argsort(rng.random((m, 4)), axis=1)
    graph = NeighborGraph(indices=indices, distances=np.tile(np.arange(4.0), (m, 1)), n_train=4)
    labels = np.arange(4)
    a = knn_predict(graph, labels, [1, 4], ties="random", seed=11)
    np.testing.assert_array_equal(a, knn_predict(graph, labels, [1, 4], ties="random", seed=11))
    assert not np.array_equal(a[:, 1], knn_predict(graph, labels, 4, ties="random", seed=12))
    np.testing.assert_array_equal(a[:, 0], indices[:, 0])  # K = 1 has no tie
    freq = np.bincount(a[:, 1], minlength=4) / m
    np.testing.assert_allclose(freq, 0.25, atol=0.02)
    # The same seed from a Generator is reproducible too.
    g1 = knn_predict(graph, labels, 4, ties="random", seed=np.random.default_rng(3))
    g2 = knn_predict(graph, labels, 4, ties="random", seed=np.random.default_rng(3))
    np.testing.assert_array_equal(g1, g2)
    # Strict: a tie predicts -1; lowest: label 0.
    assert (knn_predict(graph, labels, 4, ties="strict") == -1).all()
    assert (knn_predict(graph, labels, 4, ties="lowest") == 0).all()
    # Seeds beyond 63 bits are reduced modulo 2**63.
    np.testing.assert_array_equal(knn_predict(graph, labels, 4, ties="random", seed=2**63 + 11), a[:, 1])


def test_generator_seed_is_drawn_only_for_random_ties(tie_data):
    _, _, labels, graph = tie_data
    truth = labels[0][:150]
    gen = np.random.default_rng(4)
    state = gen.bit_generator.state
    knn_predict(graph, labels, KS, ties="lowest", seed=gen)
    knn_accuracy(graph, labels, truth, KS, ties="strict", seed=gen)
    assert gen.bit_generator.state == state
    # With random ties a Generator gives one 63-bit seed per call: the same as passing that integer.
    seed = int(np.random.default_rng(4).integers(0, 2**63 - 1))
    np.testing.assert_array_equal(
        knn_predict(graph, labels, KS, ties="random", seed=gen),
        knn_predict(graph, labels, KS, ties="random", seed=seed),
    )
    assert gen.bit_generator.state != state


def test_accuracy_matches_predictions(tie_data):
    _, _, labels, graph = tie_data
    truth = np.random.default_rng(7).integers(0, 3, size=150)
    for ties in ("lowest", "random", "strict"):
        pred = knn_predict(graph, labels, KS, ties=ties, seed=9)
        acc = knn_accuracy(graph, labels, truth, KS, ties=ties, seed=9)
        assert acc.shape == (4, len(KS))
        np.testing.assert_allclose(acc, (pred == truth[None, :, None]).mean(axis=1), rtol=0, atol=1e-12)
        one = knn_accuracy(graph, labels[1], truth, KS, ties=ties, seed=9)
        assert one.shape == (len(KS),)
    assert isinstance(knn_accuracy(graph, labels[0], truth, 3), float)


def test_integral_float_labels_equal_integer_labels(tie_data):
    _, _, labels, graph = tie_data
    truth = np.random.default_rng(7).integers(0, 3, size=150)
    for ties in ("lowest", "random", "strict"):
        np.testing.assert_array_equal(
            knn_predict(graph, labels.astype(np.float32), KS, ties=ties),
            knn_predict(graph, labels.astype(np.uint8), KS, ties=ties),
        )
        np.testing.assert_array_equal(
            knn_accuracy(graph, labels.astype(float), truth.astype(float), KS, ties=ties),
            knn_accuracy(graph, labels, truth, KS, ties=ties),
        )


def test_n_labels_default_covers_the_test_labels(tie_data):
    """L defaults to max(train, test labels) + 1: a test label unseen in training is simply never right."""
    _, _, labels, graph = tie_data
    truth = np.full(150, 5)
    assert (knn_accuracy(graph, labels[0], truth, KS) == 0).all()
    np.testing.assert_array_equal(
        knn_predict(graph, labels[0], KS, n_labels=7, ties="random"),
        knn_predict(graph, labels[0], KS, ties="random"),
    )


def test_expected_accuracy_is_mean_of_random_ties(tie_data):
    _, _, labels, graph = tie_data
    truth = np.random.default_rng(8).integers(0, 3, size=150)
    reps = np.repeat(labels[:1], 400, axis=0)  # 400 copies: independent tie draws per copy
    random_acc = knn_accuracy(graph, reps, truth, KS, ties="random", seed=1).mean(axis=0)
    expected = knn_accuracy(graph, labels[0], truth, KS, ties="random", expected=True)
    strict = knn_accuracy(graph, labels[0], truth, KS, ties="strict")
    np.testing.assert_allclose(random_acc, expected, atol=0.01)
    assert np.all(strict <= expected + 1e-12)
    assert strict[KS.index(2)] < expected[KS.index(2)]  # ties at K = 2 do occur
    # K = 1 has no ties: every mode gives the same accuracy.
    k1 = [knn_accuracy(graph, labels[0], truth, 1, ties=t) for t in ("lowest", "random", "strict")]
    assert k1[0] == k1[1] == k1[2] == expected[0]


def test_clean_distribution(tie_data):
    _, _, labels, graph = tie_data
    y = labels[0]
    c = clean_distribution(graph, y, 6, 3)
    assert c.shape == (150, 3) and c.dtype == np.float64
    np.testing.assert_allclose(c.sum(axis=1), 1.0)
    manual = np.stack([np.bincount(y[row[:6]], minlength=3) / 6 for row in graph.indices])
    np.testing.assert_allclose(c, manual)
    pred = knn_predict(graph, y, 6)
    unique = (c == c.max(axis=1, keepdims=True)).sum(axis=1) == 1
    assert unique.any() and not unique.all()
    np.testing.assert_array_equal(c.argmax(axis=1)[unique], pred[unique])
    several = clean_distribution(graph, y, [10, 6, 1], 4)
    assert several.shape == (3, 150, 4)
    np.testing.assert_allclose(several[1, :, :3], c)
    assert (several[..., 3] == 0).all()


def test_vote_bad_input(tie_data):
    _, _, labels, graph = tie_data
    y = labels[0]
    with pytest.raises(ValueError, match=r"train_labels must be labels in 0..2 \(L = 3\), got 3"):
        knn_predict(graph, np.where(y == 0, 3, y), 2, n_labels=3)
    with pytest.raises(ValueError, match="train_labels must be labels >= 0, got -1"):
        knn_predict(graph, np.where(y == 0, -1, y), 2)
    with pytest.raises(
        ValueError, match=r"train_labels must be an array of shape \(400,\) or \(R, 400\) \(n_train = 400 of"
    ):
        knn_predict(graph, y[:-1], 2)
    with pytest.raises(ValueError, match=r"train_labels must be an array of at least one label vector"):
        knn_predict(graph, labels[:0], 2)
    with pytest.raises(TypeError, match=r"train_labels must be integer labels \(whole numbers"):
        knn_predict(graph, y + 0.5, 2)
    with pytest.raises(TypeError, match="train_labels must be integer labels, got dtype bool"):
        knn_predict(graph, y == 0, 2)
    with pytest.raises(ValueError, match=r"ks\[1\] must be an integer in 1..30 .*got 31"):
        knn_predict(graph, y, [1, 31])
    with pytest.raises(
        ValueError, match=r"ks must be an integer in 1..30 \(K <= k_max = 30 of the graph\), got 0"
    ):
        knn_predict(graph, y, 0)
    with pytest.raises(ValueError, match=r"ties must be one of \('strict', 'random', 'lowest'\), got 'up'"):
        knn_predict(graph, y, 2, ties="up")
    with pytest.raises(ValueError, match="ks must be a non-empty sequence"):
        knn_predict(graph, y, [])
    with pytest.raises(TypeError, match="ks must be a positive integer K or a 1-D sequence"):
        knn_predict(graph, y, "2")
    with pytest.raises(TypeError, match="graph must be a NeighborGraph .*, got ndarray"):
        knn_predict(graph.indices, y, 2)
    with pytest.raises(TypeError, match="seed must be a non-negative integer or a numpy.random.Generator"):
        knn_predict(graph, y, 2, ties="random", seed=-1)
    with pytest.raises(TypeError, match="seed"):
        knn_predict(graph, y, 2, ties="lowest", seed=1.5)  # checked whatever the tie rule
    with pytest.raises(ValueError, match="n_labels must be an integer >= 1 or None, got 0"):
        knn_predict(graph, y, 2, n_labels=0)
    with pytest.raises(ValueError, match=r"test_labels must be an array of shape \(150,\)"):
        knn_accuracy(graph, y, np.zeros(149, dtype=int), 2)
    with pytest.raises(ValueError, match=r"test_labels must be an array of shape \(150,\)"):
        knn_accuracy(graph, y, np.zeros((2, 150), dtype=int), 2)
    with pytest.raises(ValueError, match=r"test_labels must be labels in 0..1 \(L = 2\), got 2"):
        knn_accuracy(graph, np.minimum(y, 1), np.full(150, 2), 2, n_labels=2)
    with pytest.raises(ValueError, match=r"ties must be 'random' when expected=True .*got 'lowest'"):
        knn_accuracy(graph, y, np.zeros(150, dtype=int), 2, expected=True)
    with pytest.raises(TypeError, match="expected must be a bool, got 1"):
        knn_accuracy(graph, y, np.zeros(150, dtype=int), 2, ties="random", expected=1)
    with pytest.raises(ValueError, match=r"train_labels must be labels in 0..1 \(L = 2\)"):
        clean_distribution(graph, y, 2, 2)
    with pytest.raises(ValueError, match=r"train_labels must be an array of shape \(400,\) \(n_train"):
        clean_distribution(graph, labels, 2, 3)
    with pytest.raises(ValueError, match=r"k must be an integer in 1..30"):
        clean_distribution(graph, y, 40, 3)
    with pytest.raises(TypeError, match="n_labels must be an integer"):
        clean_distribution(graph, y, 2, None)
    with pytest.raises(TypeError, match="graph must be a NeighborGraph"):
        clean_distribution(None, y, 2, 3)
