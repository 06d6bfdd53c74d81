"""The exact neighbour graph (knnoise.knn.graph): against brute force, ties, exactness, cache, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

import knnoise.knn as knn
import knnoise.knn.graph as graph_mod
from knnoise.knn import NeighborGraph, neighbor_graph


def _brute_force(x_train, x_test, k):
    """Exact float64 squared distances, ordered by (distance, training index)."""
    a = np.asarray(x_test, dtype=np.float64)
    b = np.asarray(x_train, dtype=np.float64)
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    order = np.argsort(d2, axis=1, kind="stable")[:, :k]
    return order, np.sqrt(np.take_along_axis(d2, order, 1))


def test_public_names():
    assert set(knn.__all__) == {
        "TIE_MODES", "NeighborGraph", "clean_distribution", "knn_accuracy", "knn_predict", "neighbor_graph"
    }  # fmt: skip
    assert knn.TIE_MODES == ("strict", "random", "lowest")
    assert knn.neighbor_graph is graph_mod.neighbor_graph


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_graph_equals_sklearn_brute_force(monkeypatch, dtype):
    monkeypatch.setattr(graph_mod, "_TRAIN_BLOCK", 128)  # several training blocks, merged through the heap
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
    float32_only, _, stats = graph_mod._graph_impl(x_train, x_test, 10, 2048, False, refine=False)
    assert (float32_only != exact).any(axis=1).mean() > 0.5  # the float32 ranking alone is wrong here


def test_failed_certificates_fall_back_to_the_exhaustive_search():
    """Duplicated rows tie at the k_max boundary: those rows are recomputed, and still exact."""
    rng = np.random.default_rng(5)
    x_train = rng.integers(0, 2, size=(400, 3), dtype=np.uint8)
    x_test = rng.integers(0, 2, size=(50, 3), dtype=np.uint8)
    indices, distances, stats = graph_mod._graph_impl(x_train, x_test, 20, 16, False)
    assert stats["n_fallback"] > 0
    order, dist = _brute_force(x_train, x_test, 20)
    np.testing.assert_array_equal(indices, order)
    np.testing.assert_allclose(distances, dist, rtol=1e-6)


def test_graph_is_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))
    rng = np.random.default_rng(4)
    x_train, x_test = rng.random((120, 5)), rng.random((30, 5))
    first = neighbor_graph(x_train, x_test, 8)
    assert any((tmp_path / "joblib").rglob("*.pkl"))

    def boom(*args, **kwargs):
        raise AssertionError("recomputed instead of loaded from the cache")

    monkeypatch.setattr(graph_mod, "_graph_impl", boom)
    second = neighbor_graph(x_train, x_test, 8, chunk_size=7)  # chunk_size does not change the graph
    assert second == first and second is not first
    assert isinstance(second, NeighborGraph)
    with pytest.raises(AssertionError, match="recomputed"):
        neighbor_graph(x_train, x_test, 9)  # another k_max is another graph


@pytest.mark.parametrize("damage", [lambda b: b[: len(b) // 2], lambda b: b"not a pickle", lambda b: b""],
                         ids=["truncated", "garbage", "empty"])  # fmt: skip
def test_a_damaged_cached_graph_is_reported_once_dropped_and_recomputed(
    monkeypatch, tmp_path, caplog, damage
):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))
    rng = np.random.default_rng(5)
    x_train, x_test = rng.random((120, 5)), rng.random((30, 5))
    first = neighbor_graph(x_train, x_test, 8)
    (output,) = (tmp_path / "joblib").rglob("output.pkl")
    output.write_bytes(damage(output.read_bytes()))
    calls = []
    impl = graph_mod._graph_impl
    monkeypatch.setattr(graph_mod, "_graph_impl", lambda *a: calls.append(1) or impl(*a))
    message = r"damaged cache entry .*_graph_arrays.* it will be recomputed"
    with pytest.warns(UserWarning, match=message) as rec:
        again = neighbor_graph(x_train, x_test, 8)
    assert len([w for w in rec if "damaged" in str(w.message)]) == 1
    assert not [r for r in caplog.records if r.name == "joblib"]  # no second report: joblib's traceback
    assert again == first and calls == [1]
    assert neighbor_graph(x_train, x_test, 8) == first and calls == [1]  # stored again, loaded


def test_neighbor_graph_container():
    graph = NeighborGraph(indices=[[0, 2], [1, 0]], distances=[[0.0, 1.5], [0.5, 2.0]], n_train=np.int64(3))
    assert graph.indices.dtype == np.int32 and graph.distances.dtype == np.float32
    assert graph.indices.flags.c_contiguous and type(graph.n_train) is int
    assert (graph.n_test, graph.k_max, graph.n_train) == (2, 2, 3)
    assert repr(graph) == "NeighborGraph(n_test=2, k_max=2, n_train=3)"
    same = NeighborGraph(indices=graph.indices.copy(), distances=graph.distances.copy(), n_train=3)
    assert graph == same and graph != NeighborGraph(graph.indices, graph.distances, n_train=4)
    assert graph.__eq__("graph") is NotImplemented
    with pytest.raises(TypeError):
        hash(graph)


def test_neighbor_graph_container_bad_input():
    idx, dist = np.zeros((3, 2), dtype=int), np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"indices and distances must be arrays of one shape \(M, k_max\)"):
        NeighborGraph(indices=idx, distances=dist[:, :1], n_train=5)
    with pytest.raises(ValueError, match="with k_max >= 1, got shape"):
        NeighborGraph(indices=idx[:, :0], distances=dist[:, :0], n_train=5)
    with pytest.raises(ValueError, match=r"n_train must be an integer >= 2 \(the k_max of indices\), got 1"):
        NeighborGraph(indices=idx, distances=dist, n_train=1)
    with pytest.raises(TypeError, match="n_train must be an integer"):
        NeighborGraph(indices=idx, distances=dist, n_train=5.0)
    with pytest.raises(ValueError, match=r"indices must be training rows in 0..4 \(n_train = 5\), got 5"):
        NeighborGraph(indices=idx + 5, distances=dist, n_train=5)
    with pytest.raises(ValueError, match="indices must be training rows in 0..4 .*got -1"):
        NeighborGraph(indices=idx - 1, distances=dist, n_train=5)


def test_graph_bad_input():
    x = np.zeros((10, 3))
    with pytest.raises(ValueError, match="x_train must be a 2-D array"):
        neighbor_graph(np.zeros(10), x, 2, cache=False)
    with pytest.raises(ValueError, match="flatten images"):
        neighbor_graph(np.zeros((10, 2, 2)), x, 2, cache=False)
    with pytest.raises(
        ValueError, match="x_test must be an array with the same number of columns as x_train"
    ):
        neighbor_graph(x, np.zeros((4, 2)), 2, cache=False)
    with pytest.raises(ValueError, match=r"k_max must be an integer in 1..10 \(n_train = 10\), got 11"):
        neighbor_graph(x, x, 11, cache=False)
    with pytest.raises(ValueError, match="k_max"):
        neighbor_graph(x, x, 0, cache=False)
    with pytest.raises(TypeError, match="k_max"):
        neighbor_graph(x, x, 2.0, cache=False)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"x_test must be finite, got nan at index \(3, 1\)"):
        neighbor_graph(x, bad, 2, cache=False)
    with pytest.raises(ValueError, match="x_train must be an array with at least one row"):
        neighbor_graph(np.zeros((0, 3)), x, 1, cache=False)
    with pytest.raises(TypeError, match="x_train must be a numeric"):
        neighbor_graph(np.full((10, 3), "a"), x, 1, cache=False)
    with pytest.raises(ValueError, match="chunk_size"):
        neighbor_graph(x, x, 2, chunk_size=0, cache=False)
