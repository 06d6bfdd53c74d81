"""Fig. 4: networks trained on noisy labels against the analytic K-NN curves, and their effective K.

:func:`clean_softmax` trains (or loads) the network on clean labels, whose softmax is the :math:`C_s`
of Eq. 3. :func:`train_networks` runs the sweep: one network per noise model, level and repeat
(:func:`knnoise.pipeline.networks.dnn_cell`), cached cell by cell. :func:`run` adds the analytic curves
(Theorem 1 with Eq. 1-3) for every K up to ``k_fit_max`` and fits each noise model's effective K.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from knnoise.data import Dataset
from knnoise.dnn import TrainResult, pick_device
from knnoise.pipeline import paper_results
from knnoise.pipeline.networks import (
    cell_options,
    clean_network,
    corruption_matrix,
    dnn_cell,
    train_cells_grouped,
)
from knnoise.pipeline.params import Params
from knnoise.pipeline.sweep import grid, run_sweep
from knnoise.theory import expected_accuracy
from knnoise.theory.fit import EffectiveK, fit_effective_k

__all__ = ["KINDS", "Fig4Result", "clean_softmax", "run", "summarise", "train_networks"]

KINDS = ("uniform", "flip", "general", "concentrated")
SPREAD = ("uniform", "flip", "general")  # the randomly spread kinds, which have analytic curves
FINE = np.round(np.linspace(0.0, 1.0, 41), 3)  # the noise axis of the analytic curves


@dataclass(frozen=True)
class Fig4Result:
    """The networks' measured accuracy, the analytic curves and the fitted effective K."""

    dataset: Dataset
    clean_net: TrainResult
    measured: pd.DataFrame  # tidy, a row per network: noise, gamma, repeat, accuracy, selected, changed
    summary: pd.DataFrame  # per (noise, gamma): accuracy, sd, achieved_gamma, changed, networks
    analytic: dict[str, tuple[np.ndarray, np.ndarray]]  # kind -> (gammas (G,), accuracy (G, k_fit_max))
    fits: dict[str, EffectiveK]  # kind -> its effective K

    def effective_k(self) -> pd.DataFrame:
        """One row per randomly spread noise model: the effective K, its 90% interval and the rms error."""
        return pd.DataFrame(
            [
                {"noise": kind, "effective K": fit.k, "90% interval": f"{fit.low}–{fit.high}",
                 "rms error of the fit": round(fit.rmse, 4)}
                for kind, fit in self.fits.items()
            ]
        )  # fmt: skip

    def accuracy_at(self, kind: str, gamma: float) -> str:
        """The mean accuracy at ``gamma`` as text (``"not run"`` when that level was not trained)."""
        stats = self.summary.loc[kind]
        match = [g for g in stats.index if np.isclose(g, gamma)]
        return f"{stats.accuracy[match[0]]:.3f}" if match else "not run"

    def concentrated_gap(self) -> float:
        """The largest |accuracy - (1 - achieved gamma)| under locally concentrated noise."""
        conc = self.summary.loc["concentrated"]
        return float((conc.accuracy - (1 - conc.achieved_gamma)).abs().max())

    def quoted(self, p: Params) -> dict[str, Any]:
        """The numbers the chapter's prose quotes: the largest uniform level, the flip levels either side
        of 1/2 (``f_lo`` the largest below it), their accuracies, and the concentrated-noise gap."""
        uniform, flip = p.uniform_gammas, p.flip_gammas
        u_hi, f_hi = float(max(uniform)), float(max(flip))
        f_lo = float(max((g for g in flip if g < 0.5), default=min(flip)))
        return {
            "u_hi": u_hi, "u_hi_acc": self.accuracy_at("uniform", u_hi),
            "f_lo": f_lo, "f_lo_acc": self.accuracy_at("flip", f_lo),
            "f_hi": f_hi, "f_hi_acc": self.accuracy_at("flip", f_hi),
            "conc_gap": self.concentrated_gap(),
        }  # fmt: skip

    def claims(
        self, p: Params, tables: Mapping[str, pd.DataFrame] | None = None
    ) -> list[tuple[str, str, str]]:
        """The chapter's rows of the intro's claims table: (claim, the paper's evidence, measured).

        ``tables``: paper-scale results tables (:func:`knnoise.pipeline.paper_results.load_tables`)
        of the same dataset, quoted after this run's numbers with their provenance.
        """
        q = self.quoted(p)
        epochs, n_train = p.schedule.epochs, self.dataset.n_train
        fits = "; ".join(
            f"{r['noise']} {r['effective K']} ({r['90% interval']}), rms {r['rms error of the fit']:.3f}"
            for r in self.effective_k().to_dict("records")
        )
        achieved = ", ".join(f"{g:.2f}" for g in self.summary.loc["concentrated"].achieved_gamma)
        return [
            (
                "DNNs resist uniform noise up to ~90% but flip noise only up to 50%",
                "Fig. 4(a-f): MNIST, CIFAR-10 and ImageNet accuracy vs noise level",
                f"{self.dataset.name} net ({n_train} images, {epochs} epoch{'s' if epochs > 1 else ''}): "
                f"uniform γ = {q['u_hi']:g}: {q['u_hi_acc']}; flip γ = {q['f_lo']:g}: {q['f_lo_acc']}, "
                f"γ = {q['f_hi']:g}: {q['f_hi_acc']} (clean {self.clean_net.test_accuracy:.3f})"
                + "".join(f"; {_quote_table(t)}" for t in self._same_dataset(tables).values()),
            ),
            (
                "The analytic K-NN curves predict DNN accuracy; K is left open",
                "Fig. 4: the DNN curve follows the analytic family for some K",
                f"effective K (90% interval): {fits}",
            ),
            (
                "Locally concentrated noise is not resisted: accuracy ≈ 1 − γ",
                "Fig. 4(h, i) and Fig. 1: ~80% accuracy at 20% concentrated noise",
                f"largest |accuracy − (1 − γ)| = {q['conc_gap']:.3f} over γ ≈ {achieved}",
            ),
        ]

    def _same_dataset(self, tables: Mapping[str, pd.DataFrame] | None) -> dict[str, pd.DataFrame]:
        """The paper-scale experiments on this dataset: the tables' networks merged per experiment
        (however many runs filled it), by provenance label."""
        experiments = paper_results.experiments(tables or {})
        return {n: t for n, t in experiments.items() if (t.dataset == self.dataset.name).all()}

    def paper_scale_text(self, tables: Mapping[str, pd.DataFrame] | None) -> str:
        """One sentence (Markdown) on the paper-scale tables of this dataset, with their numbers."""
        same = self._same_dataset(tables)
        if not same:
            return f"No paper-scale results table for {self.dataset.name} is in the results folder yet."
        return " ".join(
            f"The run on {paper_results.label(t)} (open diamonds) gave {_headline(t)}."
            for t in same.values()
        )

    def panels(self, ks, tables: Mapping[str, pd.DataFrame] | None = None) -> dict[str, dict[str, Any]]:
        """What :func:`knnoise.plots.dnn_vs_analytic` draws, per noise model; paper-scale ``tables`` of
        the same dataset are added as ``others``: (provenance, selected gamma, accuracy, sd)."""
        panels = {}
        for kind in KINDS:
            stats = self.summary.loc[kind]
            panel = {"measured": (stats.achieved_gamma, stats.accuracy, stats.sd)}
            if kind in self.analytic:
                gammas, table = self.analytic[kind]
                k = self.fits[kind].k
                curves = table[:, [j - 1 for j in ks]]
                panel |= {"gammas": gammas, "curves": curves, "fitted": table[:, k - 1]}
            panels[f"{kind} noise"] = panel
        for table in self._same_dataset(tables).values():
            summary = paper_results.summarise(table)
            for kind in summary.index.get_level_values("noise").unique():
                if f"{kind} noise" in panels:
                    s = summary.loc[kind]
                    entry = (paper_results.label(table), s.selected, s.accuracy, s.sd)
                    panels[f"{kind} noise"].setdefault("others", []).append(entry)
        return panels


def _quote_table(table: pd.DataFrame) -> str:
    """A paper-scale table's provenance and headline numbers, as the claims table quotes this run's."""
    return f"paper scale ({paper_results.label(table)}): {_headline(table)}"


def _headline(table: pd.DataFrame) -> str:
    """The accuracy (mean ± sd, n networks) at the largest uniform level and at the flip levels either
    side of 1/2."""
    summary = paper_results.summarise(table)
    parts = []
    for kind in ("uniform", "flip"):
        if kind in summary.index.get_level_values("noise"):
            levels = summary.loc[kind]
            picks = [max(levels.index)] if kind == "uniform" else sorted(
                {max((g for g in levels.index if g < 0.5), default=min(levels.index)), max(levels.index)}
            )  # fmt: skip
            parts.append(f"{kind} " + ", ".join(f"γ = {g:g}: {_mean_sd(levels.loc[g])}" for g in picks))
    return "; ".join(parts)


def _mean_sd(level: pd.Series) -> str:
    """``0.932 (n = 1)`` or ``0.951 ± 0.004 (n = 10)``: one level of :func:`paper_results.summarise`."""
    n = int(level.networks)
    spread = f" ± {level.sd:.3f}" if n > 1 else ""
    return f"{level.accuracy:.3f}{spread} (n = {n})"


def clean_softmax(p: Params) -> tuple[Dataset, TrainResult]:
    """The dataset and the network trained on its clean labels (its test softmax is :math:`C_s`)."""
    ds = p.data.load()
    net = clean_network(ds, p.schedule, seed=p.seed, device=p.device)
    return ds, net


def train_networks(
    p: Params, *, executor=None, group: bool = True, ds: Dataset | None = None
) -> pd.DataFrame:
    """The sweep: one network per noise model, level and repeat; a tidy row per network.

    In this process (no ``executor``, ``n_jobs = 1``), on a GPU and with ``group``, the randomly spread
    cells' networks are first trained together as stacked groups (:func:`~knnoise.pipeline.networks.
    train_cells_grouped`: many networks per pass), then every cell loads its network from the cache. On the
    CPU grouping gives the same results, bitwise, at the same speed but holds a group's activations at once
    (a group of 4 took Fig. 4's quick run from 1.35 to 1.95 GB), so there the cells train one at a time.
    ``ds``: the chapter's dataset, when the caller already loaded it (the cells load their own, in whatever
    process runs them).
    """
    levels = {kind: _gammas(p, kind).tolist() for kind in KINDS}
    cells = grid(levels, p.repeats)
    if group and executor is None and p.n_jobs == 1 and pick_device(p.device).type == "cuda":
        ds = ds or p.data.load()
        train_cells_grouped(ds, cells, p.schedule, seed=p.seed, device=p.device)
    options = cell_options(p)
    return run_sweep(dnn_cell, cells, name="fig4_dnn", n_jobs=p.n_jobs, executor=executor, params=options)


def _gammas(p: Params, kind: str) -> np.ndarray:
    """The chapter's noise levels of ``kind`` (``p.<kind>_gammas``)."""
    return np.asarray(getattr(p, f"{kind}_gammas"), dtype=float)


def summarise(measured: pd.DataFrame) -> pd.DataFrame:
    """Per (noise, gamma): mean accuracy, its sd, the achieved and changed noise, the network count."""
    return (
        measured.groupby(["noise", "gamma"])
        .agg(
            accuracy=("accuracy", "mean"),
            sd=("accuracy", "std"),
            achieved_gamma=("selected", "mean"),
            changed=("changed", "mean"),
            networks=("accuracy", "size"),
        )
        .fillna({"sd": 0.0})
    )


def run(p: Params, *, executor=None) -> Fig4Result:
    """Fig. 4: train the networks, draw the analytic family for K = 1..k_fit_max, fit the effective K."""
    ds, net = clean_softmax(p)
    clean = net.test_softmax  # a float32 softmax: renormalised in float64 by the solver
    measured = train_networks(p, executor=executor, ds=ds)
    all_k = np.arange(1, p.k_fit_max + 1)
    analytic, fits = {}, {}
    for kind in SPREAD:
        gammas = np.union1d(FINE, _gammas(p, kind))
        P = corruption_matrix(kind, ds.n_classes, seed=p.seed)
        table = expected_accuracy(clean, ds.y_test, gammas, P, all_k, progress=False)
        analytic[kind] = (gammas, table)
        points = measured[measured.noise == kind][["gamma", "accuracy"]]
        fits[kind] = fit_effective_k(all_k, table, gammas, points, seed=p.seed)
    return Fig4Result(ds, net, measured, summarise(measured), analytic, fits)
