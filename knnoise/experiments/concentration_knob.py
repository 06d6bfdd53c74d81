"""Beyond the paper: accuracy against the concentration of the noise, at a fixed amount of it.

:func:`knn_sweep` moves the same noise level gamma from randomly spread to locally concentrated with the
knob kappa of :func:`knnoise.noise.partially_concentrated` (pixels as the embedding), votes through one
neighbour graph, and predicts each setting with Eq. 1-3 at every test example's *local* noise rate (the
corrupted fraction of its own K neighbours, :func:`knnoise.theory.expected_accuracy_local`); the paper's
two extremes are Eq. 3 with the global gamma (randomly spread) and ``1 - gamma`` (concentrated).
:func:`networks` trains one network per knob setting in the clean network's feature space.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from knnoise.data import Dataset
from knnoise.knn import NeighborGraph, clean_distribution, knn_accuracy, neighbor_graph
from knnoise.noise import partially_concentrated
from knnoise.pipeline.networks import KNOB, alternative_matrix, send_networks
from knnoise.pipeline.params import Params
from knnoise.pipeline.sweep import Cell
from knnoise.theory import expected_accuracy, expected_accuracy_local

__all__ = ["KnobSweep", "knn_sweep", "networks"]

MEASURED, ANALYTIC, LOCAL_SD = "measured", "analytic (local rate)", "local rate, std"
NETWORK_COLUMNS = ["gamma", "concentration", "accuracy", "achieved gamma"]


@dataclass(frozen=True)
class KnobSweep:
    """The K-NN side: measured accuracy and the local-rate prediction per (gamma, kappa, repeat, K)."""

    dataset: Dataset
    ks: list[int]
    gammas: np.ndarray  # (G,) the fixed noise levels
    concentrations: np.ndarray  # (C,) the knob's settings
    rows: pd.DataFrame  # tidy: gamma, concentration, repeat, K, measured, local rate std, analytic
    spread: dict[tuple[float, int], float]  # (gamma, K) -> Eq. 3 with the global gamma (kappa = 0 limit)

    def table(self) -> pd.DataFrame:
        """Means over the repeats, per (gamma, concentration) and K (columns: quantity x K)."""
        columns = [MEASURED, ANALYTIC, LOCAL_SD]
        return self.rows.groupby(["gamma", "concentration", "K"])[columns].mean().unstack("K")

    def _stats(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        groups = self.rows.groupby(["gamma", "concentration", "K"])
        return groups.mean(numeric_only=True), groups.std(numeric_only=True).fillna(0.0)

    def measured_at(self, gamma: float, concentration: float, k: int) -> float:
        """The measured accuracy's mean over the repeats at one setting."""
        means, _ = self._stats()
        return float(means.loc[(gamma, concentration, k), MEASURED])

    def summary(self) -> pd.DataFrame:
        """Per (gamma, K): the paper's two extremes beside the measured accuracy at the knob's ends."""
        first, last = self.concentrations[0], self.concentrations[-1]
        return pd.DataFrame([
            {"gamma": g, "K": k, "randomly spread (Eq. 3, global γ)": self.spread[(g, k)],
             "measured at κ = 0": self.measured_at(g, first, k),
             "measured at κ = 1": self.measured_at(g, last, k), "1 − γ": 1 - g}
            for g in self.gammas for k in self.ks
        ])  # fmt: skip

    def gap(self) -> pd.Series:
        """|measured - local-rate analytic| per row (setting, repeat and K)."""
        return (self.rows[MEASURED] - self.rows[ANALYTIC]).abs()

    def figure(self, nets: pd.DataFrame | None = None) -> dict[str, Any]:
        """The arguments of :func:`knnoise.plots.concentration_curves`, a panel per gamma."""
        means, sds = self._stats()
        analytic, measured, floors, dnn = {}, {}, {}, {}
        for gamma in self.gammas:
            title = f"γ = {gamma:g}"
            m, s = means.loc[gamma], sds.loc[gamma]
            analytic[title] = self._per_k(m, ANALYTIC)
            measured[title] = (self._per_k(m, MEASURED), self._per_k(s, MEASURED))
            floors[title] = 1 - gamma
            if nets is not None and len(nets) and np.isclose(gamma, self.gammas[0]):
                dnn[title] = (nets.concentration.to_numpy(), nets.accuracy.to_numpy())
        title = f"{self.dataset.name}: the same noise, from spread to concentrated"
        return {
            "concentrations": self.concentrations, "analytic": analytic, "ks": self.ks, "measured": measured,
            "floors": floors, "networks": dnn, "title": title,
        }  # fmt: skip

    def _per_k(self, frame: pd.DataFrame, column: str) -> np.ndarray:
        """``frame[column]`` as a (len(concentrations), len(ks)) table, rows in the knob's order."""
        return frame[column].unstack("K").reindex(self.concentrations)[self.ks].to_numpy()

    def quoted(self) -> dict[str, Any]:
        """The numbers the chapter's prose quotes, for the first gamma and the largest K."""
        g, k, c0, c1 = self.gammas[0], self.ks[-1], self.concentrations[0], self.concentrations[-1]
        gap = self.gap()
        return {
            "gamma": float(g), "k_big": int(k), "floor": float(1 - g),
            "spread_analytic": float(self.spread[(g, k)]), "spread_measured": self.measured_at(g, c0, k),
            "concentrated_measured": self.measured_at(g, c1, k),
            "k_small": self.ks[0], "k1_concentrated": self.measured_at(g, c1, self.ks[0]),
            "gap_max": float(gap.max()), "gap_mean": float(gap.mean()),
        }  # fmt: skip

    def claims(self) -> list[tuple[str, str, str]]:
        """The chapter's row of the intro's claims table: (claim, the paper's evidence, measured)."""
        g, k_big, c0, c1 = self.gammas[0], self.ks[-1], self.concentrations[0], self.concentrations[-1]
        return [(
            "Resistance depends on the concentration of the noise (the title, as a curve)",
            "two extremes only: randomly spread vs locally concentrated",
            f"K-NN, K = {k_big}, γ = {g:g}: {self.measured_at(g, c0, k_big):.3f} spread → "
            f"{self.measured_at(g, c1, k_big):.3f} concentrated (1 − γ = {1 - g:.2f}); "
            f"local-rate Eq. 3 within {self.gap().max():.3f} everywhere",
        )]  # fmt: skip


@dataclass(frozen=True)
class _Knob:
    """What every draw of the knob shares: the data, its pixels, the neighbour graph and C_s per K."""

    ds: Dataset
    x_train: np.ndarray  # (N, D) the pixels, where the knob's compact regions are formed
    graph: NeighborGraph
    clean: np.ndarray  # (len(ks), M, L) the clean neighbourhood distributions
    P: np.ndarray  # (L, L) class c -> its alternative (c + L//2) mod L


def _knob_rows(knob: _Knob, gamma: float, kappa: float, repeat: int, p: Params) -> list[dict[str, Any]]:
    """One draw of the knob: the measured vote and the local-rate prediction for every K."""
    ds, graph = knob.ds, knob.graph
    ks, ties, seed = list(p.ks), p.ties, p.seed
    corruption = partially_concentrated(knob.x_train, ds.y_train, gamma, kappa, seed=seed * 1000 + repeat)
    measured = knn_accuracy(graph, corruption.labels, ds.y_test, ks, ties=ties, expected=ties == "random")
    rows = []
    for j, k in enumerate(ks):
        local = corruption.selected[graph.indices[:, :k]].mean(axis=1)  # (M,) corrupted share of K neighbours
        predicted = expected_accuracy_local(knob.clean[j], ds.y_test, local, knob.P, [k], ties)
        rows.append({
            "gamma": gamma, "concentration": kappa, "repeat": repeat, "K": k, MEASURED: measured[j],
            LOCAL_SD: local.std(), ANALYTIC: predicted[0],
        })  # fmt: skip
    return rows


def knn_sweep(p: Params) -> KnobSweep:
    """K-NN on the pixels for every gamma x concentration x repeat, with the local-rate Eq. 1-3.

    ``p``: the chapter's parameters (``dataset``, ``knn_train_subset``,
    ``test_subset``, ``gammas``, ``concentrations``, ``ks`` sorted, ``repeats``, ``ties``, ``seed``).
    """
    ks, ties = list(p.ks), p.ties
    gammas = np.asarray(p.gammas, dtype=float)
    concentrations = np.asarray(p.concentrations, dtype=float)
    ds = p.data.with_subsets(train=p.knn_train_subset, test=p.test_subset).load()
    x_train = ds.flat("train")
    graph = neighbor_graph(x_train, ds.flat("test"), k_max=max(ks))
    clean = clean_distribution(graph, ds.y_train, ks, ds.n_classes)
    knob = _Knob(ds, x_train, graph, clean, alternative_matrix(ds.n_classes))
    rows = []
    for gamma in gammas:
        for kappa in tqdm(concentrations, desc=f"γ = {gamma:g}"):
            for r in range(p.repeats):
                rows += _knob_rows(knob, gamma, kappa, r, p)
    spread = {
        (g, k): expected_accuracy(clean[j], ds.y_test, [g], knob.P, [k], ties, progress=False)[0, 0]
        for g in gammas
        for j, k in enumerate(ks)
    }
    return KnobSweep(ds, ks, gammas, concentrations, pd.DataFrame(rows), spread)


def networks(p: Params, *, executor: Executor | None = None) -> pd.DataFrame:
    """One network per ``dnn_concentrations`` setting at the first gamma (none when ``dnn`` is False).

    The knob acts in the clean network's penultimate-feature space; a row per network: gamma,
    concentration, its clean test accuracy and the achieved (selected) noise level. ``p.schedule``
    is the paper's MNIST net with the chapter's ``epochs`` and ``lr`` (the Fig. 4 settings, so the clean
    network is shared). The networks are sweep cells (:func:`knnoise.pipeline.networks.dnn_cell`),
    trained where ``executor`` runs them (:func:`knnoise.pipeline.engine.executor`; None: here).
    """
    if not p.dnn:
        return pd.DataFrame(columns=NETWORK_COLUMNS)
    gamma = float(p.gammas[0])
    kappas = np.asarray(p.dnn_concentrations, dtype=float).tolist()
    cells = [Cell(KNOB, gamma, 0, concentration=kappa) for kappa in kappas]
    table = send_networks(cells, p, executor, name="concentration_networks")
    return table.rename(columns={"selected": "achieved gamma"})[NETWORK_COLUMNS]
