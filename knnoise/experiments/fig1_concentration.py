"""Fig. 1: the same amount of noise, randomly spread or locally concentrated, in one t-SNE embedding.

:func:`networks` trains (or loads) the clean network and one network per noisy training set (uniform and
locally concentrated noise at the same gamma, the cells of the Fig. 4 sweep). :func:`embed` places a
stratified subset of the training examples in 2-D by t-SNE of the clean network's penultimate features.
:func:`locality` measures in the full feature space how local each noise is: how many of a corrupted
example's nearest training examples are corrupted too, and whether their plurality label is still its
true class (what a K-NN vote around it sees).
"""

from __future__ import annotations

import time
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from knnoise.data import Dataset
from knnoise.dnn import TrainResult
from knnoise.knn import neighbor_graph
from knnoise.noise import Corruption
from knnoise.pipeline.networks import clean_network, noisy_network, send_networks
from knnoise.pipeline.params import Params
from knnoise.pipeline.sweep import Cell

__all__ = [
    "KINDS",
    "Embedding",
    "Fig1Networks",
    "embed",
    "locality",
    "locality_quoted",
    "networks",
    "other_neighbours",
    "tsne_rows",
]

KINDS = ("uniform", "concentrated")  # the two panels, left to right (and the order of the training)
PANEL_NAMES = {"uniform": "uniform noise", "concentrated": "locally concentrated noise"}
ACCURACY = "test accuracy (clean labels)"


@dataclass(frozen=True)
class Fig1Networks:
    """The clean network and, per noise kind, the network trained on that noisy training set."""

    dataset: Dataset
    clean_net: TrainResult
    gamma: float
    noisy: dict[str, tuple[TrainResult, Corruption]]  # kind -> (its network, the corruption it saw)
    summary: pd.DataFrame  # per kind: selected and changed fractions, test accuracy, 1 - changed

    def accuracy(self, kind: str) -> float:
        """The clean test accuracy of the network trained on ``kind`` noise."""
        return float(self.summary.loc[kind, ACCURACY])

    def quoted(self) -> dict[str, Any]:
        """The numbers the chapter's prose quotes (glue them with a chapter prefix)."""
        values: dict[str, Any] = {"clean_accuracy": self.clean_net.test_accuracy, "gamma": self.gamma}
        for kind in KINDS:
            values[f"{kind}_accuracy"] = self.accuracy(kind)
            values[f"{kind}_changed"] = float(self.summary.loc[kind, "labels changed"])
            values[f"{kind}_selected"] = float(self.summary.loc[kind, "selected for corruption"])
        return values

    def claims(self) -> list[tuple[str, str, str]]:
        """The chapter's row of the intro's claims table: (claim, the paper's evidence, measured)."""
        return [(
            "The same amount of noise: harmless when spread, costly when concentrated",
            "Fig. 1: ~100% accuracy at 20% uniform noise, ~80% at 20% locally concentrated noise",
            f"{self.dataset.name} net, γ = {self.gamma:g}: uniform {self.accuracy('uniform'):.3f}, "
            f"concentrated {self.accuracy('concentrated'):.3f} (clean {self.clean_net.test_accuracy:.3f})",
        )]  # fmt: skip


@dataclass(frozen=True)
class Embedding:
    """A t-SNE embedding of the clean network's features of a subset of the training examples."""

    rows: np.ndarray  # (n,) the embedded training examples (indices, sorted)
    points: np.ndarray  # (n, 2) their t-SNE coordinates
    n_features: int  # the feature dimension embedded
    perplexity: float  # the perplexity used (the parameter, capped below a third of the points)
    seconds: float  # the t-SNE's wall time

    def figure(self, nets: Fig1Networks) -> dict[str, Any]:
        """The arguments of :func:`knnoise.plots.embedding_panels`: a panel per noise kind."""
        ds, rows = nets.dataset, self.rows
        labels, marked, titles = [], [], []
        for kind in KINDS:
            net, corruption = nets.noisy[kind]
            labels.append(corruption.labels[rows])
            marked.append(corruption.labels[rows] != ds.y_train[rows])
            titles.append(
                f"{PANEL_NAMES[kind]}, γ = {corruption.selected_fraction:.0%} "
                f"({corruption.changed_fraction:.0%} changed)\n"
                f"network trained on it: {net.test_accuracy:.1%} test accuracy"
            )
        suptitle = (
            f"{ds.name}: t-SNE of the clean network's penultimate features, {len(rows):,} training examples"
        )
        return {
            "points": self.points, "labels": labels, "titles": titles, "class_names": ds.class_names,
            "marked": marked, "true_labels": ds.y_train[rows], "suptitle": suptitle,
        }  # fmt: skip


def networks(p: Params, *, executor: Executor | None = None) -> Fig1Networks:
    """The clean network and one network per noise kind at ``gamma`` (repeat 0), cached and shared.

    ``p``: the chapter's parameters (the data options, ``schedule``, ``gamma``,
    ``seed``, ``device``). ``executor`` (:func:`knnoise.pipeline.engine.executor`): train the networks
    there first (:func:`~knnoise.pipeline.networks.send_networks`); None: here.
    """
    seed, device, schedule, gamma = p.seed, p.device, p.schedule, p.gamma
    if executor is not None:
        send_networks([Cell(kind, gamma, 0) for kind in KINDS], p, executor)
    ds = p.data.load()
    clean_net = clean_network(ds, schedule, seed=seed, device=device)
    noisy = {kind: noisy_network(ds, kind, gamma, 0, schedule, seed=seed, device=device) for kind in KINDS}
    summary = pd.DataFrame(
        [
            {"noise": kind, "selected for corruption": corruption.selected_fraction,
             "labels changed": corruption.changed_fraction, ACCURACY: net.test_accuracy,
             "1 − labels changed": 1 - corruption.changed_fraction}
            for kind, (net, corruption) in noisy.items()
        ]
    ).set_index("noise")  # fmt: skip
    return Fig1Networks(ds, clean_net, gamma, noisy, summary)


def tsne_rows(labels: np.ndarray, n_points: int | None, seed: int) -> np.ndarray:
    """A stratified subset of ``n_points`` training indices (sorted; all of them for None or more)."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(labels))
    if n_points is not None and n_points < len(labels):
        rows = np.sort(train_test_split(rows, train_size=n_points, stratify=labels, random_state=seed)[0])
    return rows


def embed(p: Params, nets: Fig1Networks) -> Embedding:
    """t-SNE (PCA initialisation, seeded) of the clean network's features of ``tsne_points`` examples."""
    from sklearn.manifold import TSNE

    features = nets.clean_net.train_features
    rows = tsne_rows(nets.dataset.y_train, p.tsne_points, p.seed)
    perplexity = min(float(p.perplexity), (len(rows) - 1) / 3)
    start = time.perf_counter()
    tsne = TSNE(
        n_components=2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=p.seed
    )
    points = tsne.fit_transform(features[rows])
    return Embedding(rows, points, features.shape[1], perplexity, time.perf_counter() - start)


def other_neighbours(features: np.ndarray, k: int) -> np.ndarray:
    """Each training example's ``k`` nearest other training examples, shape ``(N, k)``.

    The exact graph of the set against itself with ``k + 1`` neighbours, each example's own index
    dropped (among exact duplicates, it is dropped only where it is listed).
    """
    graph = neighbor_graph(features, features, k_max=k + 1, progress=False)
    not_self = graph.indices != np.arange(len(features))[:, None]
    order = np.argsort(~not_self, axis=1, kind="stable")
    return np.take_along_axis(graph.indices, order, axis=1)[:, :k]


def locality(p: Params, nets: Fig1Networks) -> pd.DataFrame:
    """Per noise kind, over the corrupted training examples: how local the noise is in feature space.

    Columns: the mean number of corrupted examples among each one's ``neighbours`` nearest others, the
    fraction whose neighbours' plurality (noisy) label is its true label, and the changed fraction.
    """
    k = p.neighbours
    others = other_neighbours(nets.clean_net.train_features, k)
    rows = []
    for kind, (_, corruption) in nets.noisy.items():
        changed = corruption.labels != corruption.clean
        votes = (corruption.labels[others][:, :, None] == np.arange(nets.dataset.n_classes)).sum(axis=1)
        rows.append({
            "noise": kind,
            f"changed among its {k} neighbours": changed[others[changed]].sum(axis=1).mean(),
            "neighbours' plurality = its true label": (
                votes[changed].argmax(axis=1) == corruption.clean[changed]
            ).mean(),
            "labels changed (all examples)": changed.mean(),
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("noise")


def locality_quoted(table: pd.DataFrame) -> dict[str, float]:
    """The numbers the prose quotes from :func:`locality`'s table: per kind, ``<kind>_changed_nearby``
    (corrupted among a corrupted example's neighbours) and ``<kind>_plurality_true``."""
    changed = next(c for c in table.columns if c.startswith("changed among"))
    values = {}
    for kind in table.index:
        values[f"{kind}_changed_nearby"] = float(table.loc[kind, changed])
        values[f"{kind}_plurality_true"] = float(table.loc[kind, "neighbours' plurality = its true label"])
    return values
