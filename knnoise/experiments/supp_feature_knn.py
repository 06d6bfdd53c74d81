"""Supplement: K-NN in a network's own penultimate-feature space against the network's softmax.

For each network (the clean one, and one per noise kind and level, the cached cells of Figs. 2 and 4)
:func:`compare` takes each test example's K nearest training examples in the network's 256-d feature
space, forms the histogram :math:`h_K` of their (noisy) training labels, and sets it beside the softmax:
the mean total-variation distance :math:`\\frac12 \\sum_\\ell |\\mathrm{softmax}(\\ell) - h_K(\\ell)|`
and how often the softmax's argmax is the histogram's plurality label, for every K. The K of least
distance is a second estimate of the network's effective K (beside the one fitted to accuracy in Fig. 4).
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from knnoise.data import Dataset
from knnoise.dnn import TrainResult
from knnoise.knn import clean_distribution, neighbor_graph
from knnoise.pipeline.networks import clean_network, noisy_network, send_networks
from knnoise.pipeline.params import Params
from knnoise.pipeline.sweep import Cell

__all__ = ["CLEAN", "KINDS", "Comparison", "SuppResult", "compare", "run", "settings"]

KINDS = ("uniform", "flip")  # the noise kinds compared, in this order
CLEAN = "clean labels"  # the name of the clean network's setting (the reference curve)


@dataclass(frozen=True)
class Comparison:
    """One network's softmax against its feature-space K-NN histograms, for every K."""

    name: str
    accuracy: float  # the network's clean test accuracy
    distance: np.ndarray  # (len(ks),) mean TV distance between softmax and h_K
    agreement: np.ndarray  # (len(ks),) fraction of test examples with argmax softmax = argmax h_K
    knn_accuracy: np.ndarray  # (len(ks),) accuracy of the feature-space K-NN vote (ties: lower label)


@dataclass(frozen=True)
class SuppResult:
    """The comparisons of every setting and the per-setting table of the best K."""

    dataset: Dataset
    ks: list[int]
    comparisons: list[Comparison]  # the clean network first
    best_k: pd.DataFrame  # per setting: network accuracy, best K, the distance and agreement there, ...

    @property
    def distance(self) -> dict[str, np.ndarray]:
        """Setting name -> mean TV distance per K (what :func:`knnoise.plots.knn_softmax_agreement` draws)."""
        return {c.name: c.distance for c in self.comparisons}

    @property
    def agreement(self) -> dict[str, np.ndarray]:
        """Setting name -> argmax agreement per K."""
        return {c.name: c.agreement for c in self.comparisons}

    def noisy_rows(self) -> pd.DataFrame:
        """The rows of :attr:`best_k` of the networks trained on noisy labels."""
        return self.best_k.drop(index=CLEAN, errors="ignore")

    def quoted(self) -> dict[str, Any]:
        """The numbers the chapter's prose quotes: the range of the best K over the noisy networks, and the
        clean network's largest distance."""
        noisy = self.noisy_rows()
        clean = self.best_k.loc[CLEAN]
        return {
            "best_k_min": int(noisy["best K"].min()), "best_k_max": int(noisy["best K"].max()),
            "tv_first_min": float(noisy[f"TV distance at K = {self.ks[0]}"].min()),
            "tv_best_max": float(noisy["TV distance at best K"].max()),
            "clean_tv_max": float(self.distance[CLEAN].max()),
            "clean_accuracy": float(clean["network accuracy"]),
        }  # fmt: skip

    def claims(self) -> list[tuple[str, str, str]]:
        """The chapter's row of the intro's claims table: (claim, the paper's evidence, measured)."""
        measured = "best K (TV distance, argmax agreement): " + "; ".join(
            f"{name} K = {int(r['best K'])} "
            f"({r['TV distance at best K']:.2f}, {r['argmax agreement at best K']:.2f})"
            for name, r in self.noisy_rows().iterrows()
        )
        return [(
            "The softmax resembles a K-NN in the penultimate-feature space",
            "Supplementary material: K-NN in feature space vs softmax outputs",
            measured,
        )]  # fmt: skip


def settings(p: Params) -> list[tuple[str, float]]:
    """The networks compared: ``("clean", 0.0)``, then every (kind, gamma) of ``<kind>_gammas``."""
    levels = [(kind, float(g)) for kind in KINDS for g in getattr(p, f"{kind}_gammas")]
    return [("clean", 0.0), *levels]


def compare(
    name: str, net: TrainResult, ds: Dataset, train_features: np.ndarray, labels: np.ndarray, ks: list[int]
) -> Comparison:
    """Softmax vs the histogram of the K nearest fitted training examples' ``labels``, for every K.

    Parameters
    ----------
    net : TrainResult
        The network (its test softmax and features, and the training rows it was fitted to).
    ds : Dataset
        Its dataset (the number of classes, the clean test labels of the K-NN vote's accuracy).
    train_features : ndarray, shape (N, F)
        The network's features of every training example; only the ``net.train_index`` rows it was fitted
        to (not its clean validation split) are neighbours.
    labels : ndarray of int, shape (N,)
        The labels the network was trained on.
    """
    fitted = np.sort(net.train_index)
    graph = neighbor_graph(train_features[fitted], net.test_features, k_max=max(ks), progress=False)
    hist = clean_distribution(graph, labels[fitted], ks, ds.n_classes)  # (len(ks), M, L)
    softmax = net.test_softmax.astype(np.float64)
    tv = 0.5 * np.abs(hist - softmax[None]).sum(axis=2).mean(axis=1)
    agree = (hist.argmax(axis=2) == softmax.argmax(axis=1)[None]).mean(axis=1)
    knn_acc = (hist.argmax(axis=2) == ds.y_test[None]).mean(axis=1)
    return Comparison(name, float(net.test_accuracy), tv, agree, knn_acc)


def _best_k_row(c: Comparison, ks: list[int]) -> dict[str, Any]:
    best = int(np.argmin(c.distance))
    return {
        "setting": c.name, "network accuracy": c.accuracy, "best K": ks[best],
        "TV distance at best K": c.distance[best], "argmax agreement at best K": c.agreement[best],
        "K-NN accuracy at best K": c.knn_accuracy[best],
        "K of most agreement": ks[int(np.argmax(c.agreement))],
        f"TV distance at K = {ks[0]}": c.distance[0],
    }  # fmt: skip


def run(p: Params, *, executor: Executor | None = None) -> SuppResult:
    """Every setting's comparison (networks trained or loaded from the cache) and the best-K table.

    ``p``: the chapter's parameters (the data options, ``schedule``, ``<kind>_gammas``,
    ``ks`` sorted, ``seed``, ``device``). ``executor`` (:func:`knnoise.pipeline.engine.executor`): train
    the networks there first (:func:`~knnoise.pipeline.networks.send_networks`); None: here.
    """
    seed, device, schedule, ks = p.seed, p.device, p.schedule, list(p.ks)
    if executor is not None:
        noisy = [Cell(kind, float(g), 0) for kind, g in settings(p) if kind != "clean"]
        send_networks(noisy, p, executor)
    ds = p.data.load()
    clean_net = clean_network(ds, schedule, seed=seed, device=device)
    if max(ks) > len(clean_net.train_index):
        raise ValueError(f"ks must not exceed the {len(clean_net.train_index)} fitted training examples")
    comparisons = []
    for kind, gamma in tqdm(settings(p), desc="networks"):
        if kind == "clean":
            net, labels, name, features = clean_net, ds.y_train, CLEAN, clean_net.train_features
        else:
            net, corruption = noisy_network(ds, kind, gamma, 0, schedule, seed=seed, device=device)
            labels, name = corruption.labels, f"{kind}, γ = {corruption.selected_fraction:.2f}"
            features = net.predict(ds.x_train, device=device)[1]
        comparisons.append(compare(name, net, ds, features, labels, ks))
    best_k = pd.DataFrame([_best_k_row(c, ks) for c in comparisons]).set_index("setting")
    return SuppResult(ds, ks, comparisons, best_k)
