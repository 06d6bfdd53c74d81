"""Fig. 3: K-NN under label noise, analytic (Theorem 1 with Eq. 1-3) against the measured vote.

:func:`neighbourhoods` computes what every noise draw shares: the exact neighbour graph of the test
examples (on the pixels, or on a clean-trained network's features) and each test example's clean
neighbourhood distribution :math:`C_s` for every K. :func:`run` then corrupts the training labels for
real, votes through the graph, and sets the measured accuracy beside the analytic curves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from knnoise.data import Dataset
from knnoise.knn import NeighborGraph, clean_distribution, knn_accuracy, neighbor_graph
from knnoise.noise import corrupt, flip, uniform
from knnoise.pipeline.networks import clean_network
from knnoise.pipeline.params import Params
from knnoise.theory import expected_accuracy

__all__ = ["Fig3Result", "Neighbourhoods", "neighbourhoods", "run"]

NOISES = ("uniform", "flip")  # the order seeds the noise draws: keep it
PAPER_RULE = "analytic, strict (paper)"


@dataclass(frozen=True)
class Neighbourhoods:
    """What every noise draw shares: the data, the neighbour graph and the clean distributions."""

    dataset: Dataset
    graph: NeighborGraph
    ks: list[int]
    clean: np.ndarray  # (len(ks), M, L): the label histogram of each test example's K clean neighbours
    clean_accuracy: pd.Series  # the clean K-NN accuracy, indexed by "K = k"
    embedding: str  # what K-NN runs on, in words


@dataclass(frozen=True)
class Fig3Result:
    """Analytic curves and measured K-NN accuracy per noise model (the panels of Fig. 3)."""

    hood: Neighbourhoods
    ties: str
    gammas: dict[str, np.ndarray]  # noise model -> its noise levels, shape (G,)
    analytic: dict[str, dict[str, np.ndarray]]  # noise model -> {curve name -> (G, len(ks))}
    measured: pd.DataFrame  # tidy: dataset, model, noise, gamma, changed, K, repeat, accuracy
    gaps: pd.DataFrame  # per noise model, curve and K: the largest and mean |analytic - measured|

    @property
    def own_rule(self) -> str:
        """The name of the analytic curve with the vote's own tie rule."""
        return f"analytic, {self.ties} ties"

    def empirical(self, noise: str) -> tuple[np.ndarray, np.ndarray]:
        """The measured accuracy's mean and standard deviation over the draws, each (G, len(ks))."""
        return _empirical(self.measured, noise, self.hood.ks)

    def largest_gap(self, curve: str) -> float:
        """The largest |analytic - measured| of ``curve`` over both noise models and every K."""
        return float(self.gaps[self.gaps.curve == curve]["max |analytic - empirical|"].max())

    def claims(self) -> list[tuple[str, str, str]]:
        """The chapter's rows of the intro's claims table: (claim, the paper's evidence, measured)."""
        own, paper = self.largest_gap(self.own_rule), self.largest_gap(PAPER_RULE)
        return [(
            "Theorem 1 with Eq. 3 predicts K-NN accuracy under randomly spread noise",
            "Fig. 3: analytic and empirical curves for MNIST pixels and CIFAR-10 features 'fit well'",
            f"{self.hood.dataset.name}, K in {self.hood.ks}: largest gap {own:.3f} with the vote's own tie "
            f"rule ({self.ties}); {paper:.3f} with the paper's strict rule",
        )]  # fmt: skip


def neighbourhoods(p: Params) -> Neighbourhoods:
    """The dataset, its neighbour graph up to ``max(ks)`` and the clean neighbourhoods :math:`C_s`.

    ``p``: the chapter's parameters (``dataset``, ``data_path``, ``train_subset``,
    ``test_subset``, ``seed``, ``ks``, ``ties``, ``embedding`` and, for a network embedding, ``model``,
    ``epochs``, ``lr``).
    """
    ks, seed = list(p.ks), p.seed
    ds = p.data.load()
    if max(ks) > ds.n_train:
        raise ValueError(f"ks must not exceed the {ds.n_train} training examples, got {max(ks)}")
    if p.embedding == "network":  # the penultimate features of a network trained on clean labels
        net = clean_network(ds, p.schedule, seed=seed)
        x_train, x_test = net.train_features, net.test_features
        embedding = f"the 256-d features of a clean-trained {p.model} network"
    else:
        x_train, x_test = ds.flat("train"), ds.flat("test")
        embedding = "the pixels"
    graph = neighbor_graph(x_train, x_test, k_max=max(ks))
    ties = p.ties
    accuracy = knn_accuracy(
        graph, ds.y_train, ds.y_test, ks, n_labels=ds.n_classes, ties=ties, expected=ties == "random"
    )
    clean = clean_distribution(graph, ds.y_train, ks, ds.n_classes)
    return Neighbourhoods(
        ds, graph, ks, clean, pd.Series(accuracy, index=[f"K = {k}" for k in ks]), embedding
    )


def _corruption(noise: str, n_labels: int) -> np.ndarray:
    return uniform(n_labels) if noise == "uniform" else flip(n_labels)


def analytic_curves(hood: Neighbourhoods, noise: str, gammas: np.ndarray, ties: str) -> dict[str, np.ndarray]:
    """Eq. 1-3 from the clean neighbourhoods, with the vote's tie rule and the paper's strict rule.

    Returns curve name -> expected accuracy of shape ``(len(gammas), len(ks))``.
    """
    P = _corruption(noise, hood.dataset.n_classes)
    y = hood.dataset.y_test
    curves = {}
    for name, rule in ((f"analytic, {ties} ties", ties), (PAPER_RULE, "strict")):
        columns = [
            expected_accuracy(hood.clean[j], y, gammas, P, [k], rule, progress=False)[:, 0]
            for j, k in enumerate(hood.ks)
        ]
        curves[name] = np.column_stack(columns)
    return curves


def measure(
    hood: Neighbourhoods, noise: str, gammas: np.ndarray, *, repeats: int, ties: str, seed: int
) -> pd.DataFrame:
    """Corrupt the training labels ``repeats`` times per level, vote, and return the tidy accuracy rows."""
    ds, ks = hood.dataset, hood.ks
    P, noise_index = _corruption(noise, ds.n_classes), NOISES.index(noise)
    rows = []
    for g_index, gamma in enumerate(gammas):
        draws = [corrupt(ds.y_train, gamma, P, seed=[seed, noise_index, g_index, r]) for r in range(repeats)]
        labels = np.stack([d.labels for d in draws])
        acc = knn_accuracy(
            hood.graph, labels, ds.y_test, ks, n_labels=ds.n_classes, ties=ties, expected=ties == "random",
            seed=seed,
        )  # fmt: skip
        rows += [
            {"dataset": ds.name, "model": "K-NN", "noise": noise, "gamma": gamma,
             "changed": d.changed_fraction, "K": k, "repeat": r, "accuracy": acc[r, j]}
            for r, d in enumerate(draws) for j, k in enumerate(ks)
        ]  # fmt: skip
    return pd.DataFrame(rows)


def _empirical(measured: pd.DataFrame, noise: str, ks: list[int]) -> tuple[np.ndarray, np.ndarray]:
    stats = measured.groupby(["noise", "gamma", "K"]).accuracy.agg(["mean", "std"]).fillna(0.0)
    return tuple(stats.loc[noise][col].unstack("K")[ks].to_numpy() for col in ("mean", "std"))


def gaps(
    analytic: dict[str, dict[str, np.ndarray]], measured: pd.DataFrame, gammas: dict[str, np.ndarray], ks
) -> pd.DataFrame:
    """Per noise model, curve and K: how far the analytic curve lies from the measured mean."""
    rows = []
    for noise, curves in analytic.items():
        mean, _ = _empirical(measured, noise, list(ks))
        for curve, table in curves.items():
            for j, k in enumerate(ks):
                diff = table[:, j] - mean[:, j]
                worst = int(np.argmax(np.abs(diff)))
                rows.append({
                    "noise": f"{noise} noise", "curve": curve, "K": k,
                    "max |analytic - empirical|": abs(diff[worst]), "at gamma": gammas[noise][worst],
                    "analytic - empirical there": diff[worst],
                    "mean |analytic - empirical|": np.abs(diff).mean(),
                })  # fmt: skip
    return pd.DataFrame(rows)


def run(p: Params, hood: Neighbourhoods | None = None) -> Fig3Result:
    """Fig. 3 for uniform and flip noise: analytic curves, measured accuracy and their gaps."""
    hood = hood or neighbourhoods(p)
    ties = p.ties
    gammas = {noise: np.asarray(getattr(p, f"{noise}_gammas"), dtype=float) for noise in NOISES}
    analytic = {noise: analytic_curves(hood, noise, gammas[noise], ties) for noise in NOISES}
    draws = {"repeats": p.repeats, "ties": ties, "seed": p.seed}
    measured = pd.concat([measure(hood, n, gammas[n], **draws) for n in NOISES], ignore_index=True)
    return Fig3Result(hood, ties, gammas, analytic, measured, gaps(analytic, measured, gammas, hood.ks))
