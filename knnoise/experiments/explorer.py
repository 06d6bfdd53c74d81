"""The explorer (beyond the paper): Theorem 1 with Eq. 1-3 on a grid, for an interactive page.

:func:`sources` gathers the clean distributions :math:`C_s` a reader can pick: ideal neighbourhoods with a
given confidence on the true label (the rest spread evenly over the other labels), the clean-trained
network's softmax (Fig. 2 and 4's :math:`C_s`) and the clean K-NN neighbourhoods (Fig. 3's, one per K).
:func:`grid` evaluates the expected accuracy (Eq. 1) on every noise level, K, noise model and tie rule;
:func:`limit` adds the large-K limit (the share of test examples whose true label is the most likely one
in :math:`q`), and :func:`thresholds` the noise levels the paper names. The page draws the result with
:func:`knnoise.plots.interactive.explorer_chart`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from knnoise.knn import clean_distribution, neighbor_graph
from knnoise.pipeline.networks import clean_network, corruption_matrix
from knnoise.pipeline.params import Params
from knnoise.theory import expected_accuracy, noisy_label_distribution, plurality_accuracy

__all__ = [
    "MAX_VALUES",
    "NOISES",
    "RULES",
    "Source",
    "check_size",
    "grid",
    "ideal",
    "limit",
    "sources",
    "table",
    "thresholds",
]

NOISES = ("uniform", "flip", "general")  # the randomly spread noise models (knnoise.noise)
RULES = ("strict", "random", "lowest")  # the tie rules of plurality_accuracy


@dataclass(frozen=True)
class Source:
    """One clean distribution :math:`C_s` of the explorer, with the true labels of its rows.

    ``clean`` is ``(M, L)`` when it is the same for every K, ``(len(ks), M, L)`` when it depends on K
    (K-NN neighbourhoods); ``labels`` is ``(M,)``.
    """

    key: str  # the code the chart filters on: "ideal", "network" or "knn"
    name: str  # what the page calls it
    clean: np.ndarray
    labels: np.ndarray
    confidence: float | None = None  # the ideal source's true-label probability


def ideal(n_labels: int, confidence: float) -> Source:
    """Ideal neighbourhoods: ``confidence`` on the true label, the rest evenly on the others, (L, L)."""
    if not 1.0 / n_labels < confidence <= 1.0:
        raise ValueError(f"confidence must be in (1/L, 1] = ({1 / n_labels:.3g}, 1], got {confidence}")
    clean = np.full((n_labels, n_labels), (1.0 - confidence) / (n_labels - 1))
    np.fill_diagonal(clean, confidence)
    return Source("ideal", f"ideal, c = {confidence:g}", clean, np.arange(n_labels), float(confidence))


def _sample(n_test: int, n_examples: int | None, seed: int) -> np.ndarray:
    """Sorted indices of ``n_examples`` test examples drawn without replacement (all when None)."""
    if n_examples is None or n_examples >= n_test:
        return np.arange(n_test)
    return np.sort(np.random.default_rng(seed).choice(n_test, size=n_examples, replace=False))


MAX_VALUES = 1_500_000  # accuracies the page may hold (about 4 bytes each in its JSON): a few MB


def check_size(n_sources: int, k_max: int, n_gammas: int) -> int:
    """The number of accuracies :func:`grid` computes, which the page holds; ValueError above MAX_VALUES.

    ``n_sources * len(NOISES) * len(RULES) * k_max * n_gammas``, checked before anything is computed.
    """
    size = n_sources * len(NOISES) * len(RULES) * k_max * n_gammas
    if size > MAX_VALUES:
        raise ValueError(
            f"k_max = {k_max}, n_gammas = {n_gammas} and {n_sources} clean distributions (the confidences "
            f"and the network and K-NN ones) make {size:,} accuracies; the page holds at most "
            f"{MAX_VALUES:,}: lower k_max, n_gammas or the number of confidences"
        )
    return size


def sources(p: Params, ks: Sequence[int]) -> tuple[list[Source], str]:
    """Every clean distribution of the explorer, and the dataset's name.

    Parameters
    ----------
    p : Params
        The chapter's parameters: ``data`` and ``schedule``, ``device``, ``confidences``,
        ``n_examples``, ``knn_train_subset`` and ``n_gammas``.
    ks : sequence of int
        The K of the curves (the K-NN neighbourhoods are taken for each).

    Returns
    -------
    list of Source, str
        The ideal sources (one per confidence), the clean network's softmax (the network the DNN chapters
        train on clean labels: the same cache entry when the parameters match) and the K-NN
        neighbourhoods among ``knn_train_subset`` training images (all when None), both on the same
        seeded sample of the network's test examples; and the dataset's name.

    Raises
    ------
    ValueError
        Before any training: a confidence not above 1/L, ``max(ks)`` above the K-NN training images, or
        a grid over :data:`MAX_VALUES` (:func:`check_size`).
    """
    seed = p.seed
    check_size(len(p.confidences) + 2, max(ks), p.n_gammas)
    ds = p.data.load()
    found = [ideal(ds.n_classes, c) for c in p.confidences]  # checks them before training
    knn_ds = p.data.with_subsets(train=p.knn_train_subset, test=None).load()
    if max(ks) > knn_ds.n_train:
        raise ValueError(
            f"k_max must not exceed the {knn_ds.n_train} K-NN training images (knn_train_subset = "
            f"{p.knn_train_subset}), got {max(ks)}"
        )
    net = clean_network(ds, p.schedule, seed=seed, device=p.device)
    rows = _sample(ds.n_test, p.n_examples, seed)
    softmax = np.asarray(net.test_softmax, dtype=np.float64)[rows]
    softmax /= softmax.sum(axis=1, keepdims=True)
    # the network's test examples (ds's test subset), their neighbours among knn_ds's training images
    graph = neighbor_graph(knn_ds.flat("train"), ds.flat("test")[rows], k_max=max(ks), progress=False)
    hoods = clean_distribution(graph, knn_ds.y_train, list(ks), knn_ds.n_classes)
    found.append(Source("network", f"{ds.name} network softmax", softmax, ds.y_test[rows]))
    found.append(Source("knn", f"{ds.name} K-NN neighbourhoods", hoods, ds.y_test[rows]))
    return found, ds.name


def _per_k(source: Source, gammas: np.ndarray, P: np.ndarray, ks: Sequence[int], ties: str) -> np.ndarray:
    """Eq. 1 for a K-dependent :math:`C_s`: each K on its own rows, identical rows evaluated once."""
    out = np.empty((len(gammas), len(ks)))
    for j, k in enumerate(ks):
        keyed = np.column_stack([source.clean[j], source.labels])
        unique, inverse = np.unique(keyed, axis=0, return_inverse=True)
        weights = np.bincount(inverse.ravel(), minlength=len(unique)) / len(keyed)
        clean, labels = unique[:, :-1], unique[:, -1].astype(np.int64)
        q = np.concatenate([noisy_label_distribution(clean, float(g), P) for g in gammas])
        accuracy = plurality_accuracy(q, int(k), np.tile(labels, len(gammas)), ties)
        out[:, j] = accuracy.reshape(len(gammas), len(labels)) @ weights
    return out


def grid(found: Sequence[Source], gammas: np.ndarray, ks: Sequence[int], *, seed: int = 0) -> pd.DataFrame:
    """Expected accuracy (Eq. 1) for every source, noise model, tie rule, K and noise level.

    Returns a tidy frame with columns ``source``, ``confidence``, ``noise``, ``ties``, ``K``, ``gamma``,
    ``accuracy``: ``len(found) * 3 * 3 * len(ks) * len(gammas)`` rows. The general corruption matrix is
    :func:`knnoise.noise.general` seeded with ``seed`` (the one Fig. 4 uses).
    """
    if not found or not all(isinstance(s, Source) for s in found):
        raise ValueError(f"found must be a non-empty sequence of Source, got {found!r:.80}")
    gammas = np.asarray(gammas, dtype=float)
    if gammas.ndim != 1 or gammas.size == 0 or len(ks) == 0:
        raise ValueError(
            f"gammas and ks must be non-empty 1-D sequences, got {gammas.size} gammas, ks={ks!r}"
        )
    frames = []
    for source in found:
        n_labels = source.clean.shape[-1]
        for noise in NOISES:
            P = corruption_matrix(noise, n_labels, seed=seed)
            for ties in RULES:
                if source.clean.ndim == 3:
                    table = _per_k(source, gammas, P, ks, ties)
                else:
                    table = expected_accuracy(
                        source.clean, source.labels, gammas, P, list(ks), ties, progress=False
                    )
                frame = pd.DataFrame(
                    table, index=pd.Index(gammas, name="gamma"), columns=pd.Index(ks, name="K")
                )
                frame = frame.stack().rename("accuracy").reset_index()
                frames.append(
                    frame.assign(source=source.key, confidence=source.confidence, noise=noise, ties=ties)
                )
    columns = ["source", "confidence", "noise", "ties", "K", "gamma", "accuracy"]
    return pd.concat(frames, ignore_index=True)[columns]


def limit(found: Sequence[Source], gammas: np.ndarray, *, seed: int = 0, tol: float = 1e-9) -> pd.DataFrame:
    """The large-K limit of Theorem 1: the share of examples whose true label is the most likely in q.

    As K grows the plurality of K draws from ``q`` (Eq. 3) is its most likely label, so Eq. 1 tends to
    the mean over examples of ``[q_y = max q] / #{j : q_j = max q}`` (equalities within ``tol``): an
    exact tie among m labels splits the votes' lead evenly, each label winning with probability 1/m in
    the limit (K-NN neighbourhoods: their largest K). Columns ``source``, ``confidence``, ``noise``,
    ``gamma``, ``accuracy``.
    """
    rows = []
    for source in found:
        clean = source.clean[-1] if source.clean.ndim == 3 else source.clean
        for noise in NOISES:
            P = corruption_matrix(noise, clean.shape[1], seed=seed)
            for gamma in np.asarray(gammas, dtype=float):
                q = noisy_label_distribution(clean, float(gamma), P)
                top = q >= q.max(axis=1, keepdims=True) - tol
                share = top[np.arange(len(q)), source.labels] / top.sum(axis=1)
                rows.append((source.key, source.confidence, noise, gamma, float(np.mean(share))))
    return pd.DataFrame(rows, columns=["source", "confidence", "noise", "gamma", "accuracy"])


def table(grid_frame: pd.DataFrame, limit_frame: pd.DataFrame, *, decimals: int = 6) -> pd.DataFrame:
    """Every curve the explorer's chart draws as one tidy frame: the page's CSV download.

    ``grid_frame`` (:func:`grid`) rows get ``curve = "Eq. 1"``, ``limit_frame`` (:func:`limit`) rows
    ``curve = "large-K limit"`` (no tie rule or K: left empty). Columns ``curve``, ``source``,
    ``confidence`` (ideal sources only), ``noise``, ``ties``, ``K``, ``gamma``, ``accuracy``; accuracies
    rounded to ``decimals`` (the chart shows three).
    """
    columns = ["curve", "source", "confidence", "noise", "ties", "K", "gamma", "accuracy"]
    frame = pd.concat(
        [grid_frame.assign(curve="Eq. 1"), limit_frame.assign(curve="large-K limit", ties=None, K=None)],
        ignore_index=True,
    )[columns]
    return frame.astype({"K": "Int64"}).round({"accuracy": decimals, "gamma": 12})


def thresholds(n_labels: int, *, seed: int = 0) -> pd.DataFrame:
    """The noise levels the page marks, per noise model (columns ``noise``, ``gamma``, ``label``).

    Uniform: the paper's "noticeable drop in accuracy happens only when approaching 90%" (Sec. 4);
    flip: the "reversal of roles" at 1/2; general: the first level at which, with a clean one-hot
    :math:`C_s`, another label overtakes a true one in Eq. 3, ``min_y 1 / (1 + max_j P[y, j] - P[y, y])``.
    """
    P = corruption_matrix("general", n_labels, seed=seed)
    off = np.where(np.eye(n_labels, dtype=bool), -np.inf, P).max(axis=1)
    general = float(np.min(1.0 / (1.0 + np.maximum(off - np.diag(P), 0.0))))
    return pd.DataFrame(
        [
            ("uniform", 0.9, "the paper: a drop only near 90%"),
            ("flip", 0.5, "the paper: roles reverse at 1/2"),
            ("general", general, "first true label overtaken (one-hot C_s)"),
        ],
        columns=["noise", "gamma", "label"],
    )
