"""Speed of the K-NN engine (knnoise.knn) on MNIST pixels against scikit-learn's brute force.

The targets of the K-NN issue: the 60,000 x 10,000 pixel graph (784-d, k_max = 100) in <= 60 s and at
least as fast as ``NearestNeighbors(algorithm="brute").kneighbors`` on the same data, in the same run;
one noise draw re-voted for every K in {1, 5, 25, 51, 100} over the 10,000 test examples in <= 0.1 s.
Also: the alternatives tried (torch's matrix product, float32 ranking without the float64 re-ranking)
and what the re-ranking changes.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.neighbors import NearestNeighbors

from knnoise.data import load
from knnoise.knn import knn_accuracy, knn_predict, neighbor_graph
from knnoise.knn.graph import _graph_impl

K_MAX = 100
KS = [1, 5, 25, 51, 100]


def _time(fn, repeat: int = 1):
    best = np.inf
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _uniform_draws(labels: np.ndarray, gamma: float, n_labels: int, draws: int, seed: int) -> np.ndarray:
    """``draws`` uniform-noise label vectors (the paper's noise: round(gamma N) examples get U{0..L-1})."""
    rng = np.random.default_rng(seed)
    out = np.repeat(labels[None], draws, axis=0)
    n_sel = round(gamma * len(labels))
    for r in range(draws):
        sel = rng.choice(len(labels), size=n_sel, replace=False)
        out[r, sel] = rng.integers(n_labels, size=n_sel)
    return out


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> None:
    ds = load("mnist")
    x_train, x_test = ds.flat("train"), ds.flat("test")
    # Compile the numba kernels (cached on disk after the first run).
    small = neighbor_graph(x_train[:500], x_test[:50], 5, cache=False)
    knn_accuracy(small, ds.y_train[:500], ds.y_test[:50], [1, 5], ties="random")
    knn_predict(small, ds.y_train[:500], [1, 5])

    print(
        f"1. MNIST pixel graph: {x_train.shape[0]:,} x {x_test.shape[0]:,}, {x_train.shape[1]}-d,"
        f" k_max = {K_MAX}"
    )
    nn = NearestNeighbors(n_neighbors=K_MAX, algorithm="brute").fit(x_train)
    # The machine may be shared: interleave the contenders over two rounds and keep each one's best.
    contenders = {
        "ours": lambda: neighbor_graph(x_train, x_test, K_MAX, cache=False, progress=False),
        "sklearn": lambda: nn.kneighbors(x_test),
        "torch": lambda: _graph_impl(x_train, x_test, K_MAX, 2048, False, gemm="torch"),
        "float32": lambda: _graph_impl(x_train, x_test, K_MAX, 2048, False, refine=False),
        "breakdown": lambda: _graph_impl(x_train, x_test, K_MAX, 2048, False),
    }
    best = dict.fromkeys(contenders, np.inf)
    results = {}
    for _ in range(2):
        for name, fn in contenders.items():
            t, results[name] = _time(fn)
            best[name] = min(best[name], t)
    graph, (sk_dist, sk_idx) = results["ours"], results["sklearn"]
    t_ours, t_sk = best["ours"], best["sklearn"]
    same = (graph.indices == sk_idx).all(axis=1).mean()
    print(f"   neighbor_graph (numpy float32 product, numba heap, float64 re-ranking): {t_ours:6.2f} s")
    print(f"   scikit-learn NearestNeighbors(brute).kneighbors:                        {t_sk:6.2f} s")
    print(
        f"   ratio sklearn / ours {t_sk / t_ours:4.2f}x; rows with identical neighbour lists {same:.2%},"
        f" max |distance diff| {np.abs(graph.distances - sk_dist).max():.1e}"
    )
    print(
        f"   target <= 60 s: {_verdict(t_ours <= 60)}; target at least as fast as scikit-learn:"
        f" {_verdict(t_ours <= t_sk)}  (best of 2 each, interleaved)"
    )
    stats = results["breakdown"][2]
    print(
        f"   breakdown (last run): product {stats['gemm_s']:.2f} s, heap selection {stats['select_s']:.2f} s,"
        f" float64 re-ranking {stats['refine_s']:.2f} s,\n   exhaustive fallback {stats['fallback_s']:.2f} s"
        f" for the {stats['n_fallback']} rows that failed the certificate"
    )
    print(
        f"   alternative: torch.mm for the product (2 threads):                      {best['torch']:6.2f} s"
    )
    print(
        f"   alternative: float32 ranking only (no re-ranking, not exact):          {best['float32']:6.2f} s"
    )
    idx32 = results["float32"][0]
    differ = (idx32 != graph.indices).any(axis=1)
    sets = {
        k: int((np.sort(idx32[:, :k], 1) != np.sort(graph.indices[:, :k], 1)).any(axis=1).sum()) for k in KS
    }
    print(
        f"   float32-only vs exact: {differ.sum()} rows list neighbours in another order;"
        f" rows with another K-neighbour set: {sets}"
    )

    print("2. the cache (joblib under $KNNOISE_CACHE)")
    t_first, _ = _time(lambda: neighbor_graph(x_train, x_test, K_MAX, progress=False))
    t_second, cached = _time(lambda: neighbor_graph(x_train, x_test, K_MAX, progress=False))
    print(f"   first call {t_first:.2f} s (a load if an earlier run stored it), second call {t_second:.2f} s")
    assert cached == graph

    print(f"3. re-voting: uniform noise gamma = 0.3, K in {KS}, {graph.n_test:,} test examples")
    clean_acc = knn_accuracy(graph, ds.y_train, ds.y_test, KS)
    print(f"   clean accuracy (lowest ties): {np.round(clean_acc, 4).tolist()}")
    draws = _uniform_draws(ds.y_train, 0.3, 10, 10, seed=0)
    for ties in ("lowest", "random", "strict"):
        t_pred, _ = _time(lambda ties=ties: knn_predict(graph, draws[0], KS, ties=ties), repeat=5)
        t_acc, acc = _time(
            lambda ties=ties: knn_accuracy(graph, draws[0], ds.y_test, KS, ties=ties), repeat=5
        )
        print(
            f"   one draw, ties={ties:6s}: knn_predict {t_pred * 1e3:5.1f} ms,"
            f" knn_accuracy {t_acc * 1e3:5.1f} ms (target <= 100 ms: {_verdict(max(t_pred, t_acc) <= 0.1)})"
            f"  accuracy {np.round(acc, 4).tolist()}"
        )
    t_r_pred, _ = _time(lambda: knn_predict(graph, draws, KS), repeat=3)
    t_r_acc, acc_r = _time(lambda: knn_accuracy(graph, draws, ds.y_test, KS), repeat=3)
    print(
        f"   R = {len(draws)} draws at once: knn_predict {t_r_pred * 1e3:6.1f} ms,"
        f" knn_accuracy {t_r_acc * 1e3:6.1f} ms; accuracy mean {np.round(acc_r.mean(0), 4).tolist()}"
        f" sd {np.round(acc_r.std(0), 4).tolist()}"
    )


if __name__ == "__main__":
    main()
