"""The K-NN engine (knnoise.knn): exact graph, votes in three tie modes, C_s, cache, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from knnoise import knn
from knnoise.data import load
from knnoise.knn import NeighborGraph, clean_distribution, knn_accuracy, knn_predict, neighbor_graph


def _brute_force(x_train, x_test, k):
    """Exact float64 squared distances, ordered by (distance, training index)."""
    a = np.asarray(x_test, dtype=np.float64)
    b = np.asarray(x_train, dtype=np.float64)
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    order = np.argsort(d2, axis=1, kind="stable")[:, :k]
    return order, np.sqrt(np.take_along_axis(d2, order, 1))


@pytest.fixture(scope="module")
def tie_data():
    """Continuous features (no equal distances), 3 labels, even K: many tied votes."""
    rng = np.random.default_rng(1)
    x_train = rng.normal(size=(400, 6))
    x_test = rng.normal(size=(150, 6))
    labels = rng.integers(0, 3, size=(4, 400))
    graph = neighbor_graph(x_train, x_test, 30, cache=False)
    return x_train, x_test, labels, graph


# ----------------------------------------------------------------------------------------------------
# The graph
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_graph_equals_sklearn_brute_force(monkeypatch, dtype):
    monkeypatch.setattr(knn, "_TRAIN_BLOCK", 128)  # several training blocks, merged through the heap
    rng = np.random.default_rng(0)
    x_train = rng.normal(size=(500, 7)).astype(dtype)
    x_test = rng.normal(size=(90, 7)).astype(dtype)
    graph = neighbor_graph(x_train, x_test, 25, chunk_size=32, cache=False)
    dist, idx = NearestNeighbors(n_neighbors=25, algorithm="brute").fit(x_train).kneighbors(x_test)
    assert graph.indices.dtype == np.int32 and graph.distances.dtype == np.float32
    assert graph.indices.shape == (90, 25) and graph.n_train == 500 and graph.k_max == 25
    np.testing.assert_array_equal(graph.indices, idx)
    np.testing.assert_allclose(graph.distances, dist, rtol=1e-5, atol=1e-6)


def test_graph_breaks_distance_ties_by_lower_index():
    rng = np.random.default_rng(2)
    x_train = rng.integers(0, 3, size=(300, 4))  # small integers: many exactly equal distances
    x_test = rng.integers(0, 3, size=(60, 4))
    graph = neighbor_graph(x_train, x_test, 40, chunk_size=16, cache=False)
    order, dist = _brute_force(x_train, x_test, 40)
    np.testing.assert_array_equal(graph.indices, order)
    np.testing.assert_allclose(graph.distances, dist, rtol=1e-6)
    # scikit-learn orders equal distances arbitrarily: the same distances, possibly other indices.
    sk_dist, _ = NearestNeighbors(n_neighbors=40, algorithm="brute").fit(x_train).kneighbors(x_test)
    np.testing.assert_allclose(graph.distances, sk_dist, rtol=1e-6)
    # Every training row is a candidate when k_max = n_train; float32 input gives the same graph.
    full = neighbor_graph(x_train.astype(np.float32), x_test, 300, cache=False)
    np.testing.assert_array_equal(full.indices, _brute_force(x_train, x_test, 300)[0])
    np.testing.assert_array_equal(full.indices[:, :40], graph.indices)


def test_graph_exact_where_float32_is_not():
    """Near-equal distances that float32 scores cannot order: the float64 re-ranking orders them."""
    rng = np.random.default_rng(3)
    base = rng.normal(size=(1, 16)) * 100.0  # large norms: float32 rounding of ||b||^2 - 2ab is ~1e-3
    x_train = base + rng.normal(size=(200, 16)) * 1e-3
    x_test = base + rng.normal(size=(20, 16)) * 1e-3
    graph = neighbor_graph(x_train, x_test, 10, cache=False)
    exact = _brute_force(x_train, x_test, 10)[0]
    np.testing.assert_array_equal(graph.indices, exact)
    float32_only, _, stats = knn._graph_impl(x_train, x_test, 10, 2048, False, refine=False)
    assert (float32_only != exact).any(axis=1).mean() > 0.5  # the float32 ranking alone is wrong here


def test_graph_is_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))
    rng = np.random.default_rng(4)
    x_train, x_test = rng.random((120, 5)), rng.random((30, 5))
    first = neighbor_graph(x_train, x_test, 8)
    assert any((tmp_path / "joblib").rglob("*.pkl"))

    def boom(*args, **kwargs):
        raise AssertionError("recomputed instead of loaded from the cache")

    monkeypatch.setattr(knn, "_graph_impl", boom)
    second = neighbor_graph(x_train, x_test, 8, chunk_size=7)  # chunk_size does not change the graph
    assert second == first and second is not first
    assert isinstance(second, NeighborGraph)
    with pytest.raises(AssertionError, match="recomputed"):
        neighbor_graph(x_train, x_test, 9)  # another k_max is another graph


# ----------------------------------------------------------------------------------------------------
# Votes
# ----------------------------------------------------------------------------------------------------
KS = [1, 2, 4, 6, 10, 30]


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


# ----------------------------------------------------------------------------------------------------
# Clean neighbourhood distribution
# ----------------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------------
def test_graph_bad_input():
    x = np.zeros((10, 3))
    with pytest.raises(ValueError, match="x_train must be a 2-D array"):
        neighbor_graph(np.zeros(10), x, 2, cache=False)
    with pytest.raises(ValueError, match="same number of columns"):
        neighbor_graph(x, np.zeros((4, 2)), 2, cache=False)
    with pytest.raises(ValueError, match=r"k_max must be an integer in 1..10"):
        neighbor_graph(x, x, 11, cache=False)
    with pytest.raises(ValueError, match="k_max"):
        neighbor_graph(x, x, 0, cache=False)
    with pytest.raises(TypeError, match="k_max"):
        neighbor_graph(x, x, 2.0, cache=False)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"x_test must be finite, got nan at index \(3, 1\)"):
        neighbor_graph(x, bad, 2, cache=False)
    with pytest.raises(ValueError, match="x_train must have at least one row"):
        neighbor_graph(np.zeros((0, 3)), x, 1, cache=False)
    with pytest.raises(ValueError, match="chunk_size"):
        neighbor_graph(x, x, 2, chunk_size=0, cache=False)


def test_vote_bad_input(tie_data):
    _, _, labels, graph = tie_data
    y = labels[0]
    with pytest.raises(ValueError, match=r"train_labels must be labels in 0..2 \(n_labels = 3\), got 3"):
        knn_predict(graph, np.where(y == 0, 3, y), 2, n_labels=3)
    with pytest.raises(ValueError, match="train_labels must be labels in >= 0, got -1"):
        knn_predict(graph, np.where(y == 0, -1, y), 2)
    with pytest.raises(ValueError, match=r"train_labels must have shape \(400,\) or \(R, 400\)"):
        knn_predict(graph, y[:-1], 2)
    with pytest.raises(ValueError, match=r"ks\[1\] must be an integer in 1..30 .*got 31"):
        knn_predict(graph, y, [1, 31])
    with pytest.raises(ValueError, match="ks must be an integer in 1..30"):
        knn_predict(graph, y, 0)
    with pytest.raises(ValueError, match=r"ties must be one of \('strict', 'random', 'lowest'\), got 'up'"):
        knn_predict(graph, y, 2, ties="up")
    with pytest.raises(ValueError, match="ks must contain at least one K"):
        knn_predict(graph, y, [])
    with pytest.raises(TypeError, match="graph must be a NeighborGraph"):
        knn_predict(graph.indices, y, 2)
    with pytest.raises(TypeError, match="seed"):
        knn_predict(graph, y, 2, ties="random", seed=-1)
    with pytest.raises(ValueError, match=r"test_labels must have shape \(150,\)"):
        knn_accuracy(graph, y, np.zeros(149, dtype=int), 2)
    with pytest.raises(ValueError, match="test_labels must be labels in 0..1"):
        knn_accuracy(graph, np.minimum(y, 1), np.full(150, 2), 2, n_labels=2)
    with pytest.raises(ValueError, match="expected=True needs ties='random'"):
        knn_accuracy(graph, y, np.zeros(150, dtype=int), 2, expected=True)
    with pytest.raises(ValueError, match="n_labels = 2"):
        clean_distribution(graph, y, 2, 2)
    with pytest.raises(ValueError, match=r"train_labels must have shape \(400,\)"):
        clean_distribution(graph, labels, 2, 3)
    with pytest.raises(ValueError, match=r"k must be an integer in 1..30"):
        clean_distribution(graph, y, 40, 3)
