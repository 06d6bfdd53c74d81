"""Fig. 2: the softmax of a network trained on noisy labels against the neighbourhood's label distribution.

:func:`run` loads (or trains) the networks of Fig. 4 — the clean one and one per noise model and level,
repeat 0, the same cached networks when the parameters match (:mod:`knnoise.pipeline.networks`) — and
reorders each test softmax so that the true label comes first (:func:`knnoise.plots.true_label_first`).
:func:`expected_levels` is the label distribution of a clean neighbourhood after the noise (Eq. 3 with a
one-hot :math:`C_s`), which the paper's Fig. 2 compares the softmax with.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from knnoise.data import Dataset
from knnoise.dnn import TrainResult
from knnoise.pipeline.networks import clean_network, noisy_network, send_networks
from knnoise.pipeline.params import Params
from knnoise.pipeline.sweep import Cell
from knnoise.plots import true_label_first

__all__ = ["KINDS", "Fig2Result", "alternative_offset", "expected_levels", "run", "softmax_row"]

KINDS = ("uniform", "flip", "concentrated")  # the panels' order after the clean one
OTHERS = "median softmax, other classes (mean)"
ALTERNATIVE = "median softmax, alternative class"
PREDICTED = "predicted as the alternative"


@dataclass(frozen=True)
class Fig2Result:
    """The networks' softmax (true label first), the expected levels and the per-network summary."""

    dataset: Dataset
    clean_net: TrainResult
    panels: dict[str, np.ndarray]  # panel title -> softmax (M, L), column j: class (label + j) mod L
    expected: dict[str, np.ndarray]  # panel title -> the neighbourhood's label distribution (L,), NaN: none
    table: pd.DataFrame  # a row per noisy network: noise, gamma, accuracy and median softmax levels

    def levels(self, kind: str) -> list[str]:
        """The noisy networks of ``kind`` as text: the median level the paper predicts, and the prediction."""
        n_labels, parts = self.dataset.n_classes, []
        for _, row in self.table[self.table.noise == kind].iterrows():
            if kind == "uniform":
                ideal = row.gamma / n_labels
                parts.append(
                    f"uniform γ = {row.gamma:g}: other classes {row[OTHERS]:.3f} (γ/L = {ideal:.3f})"
                )
            elif kind == "flip":
                parts.append(f"flip γ = {row.gamma:g}: flip target {row[ALTERNATIVE]:.3f}")
            else:
                parts.append(f"concentrated γ = {row.gamma:g}: {row[PREDICTED]:.3f} predicted as alternative")
        return parts

    def quoted(self) -> dict[str, str]:
        """The numbers the chapter's prose quotes, one text per noise model (its levels, ``"; "``-joined)."""
        return {kind: "; ".join(self.levels(kind)) for kind in KINDS}

    def claims(self) -> list[tuple[str, str, str]]:
        """The chapter's row of the intro's claims table: (claim, the paper's evidence, measured)."""
        parts = self.levels("uniform") + self.levels("flip")  # the table's order: uniform rows, then flip
        return [(
            "A network's softmax approximates the label distribution of the neighbourhood",
            "Fig. 2: median softmax ≈ γ/L off the peak (uniform), ≈ γ on the flip target (flip)",
            f"{self.dataset.name} nets, median softmax: " + "; ".join(parts),
        )]  # fmt: skip


def alternative_offset(kind: str, n_labels: int) -> int | None:
    """The position (counted from the true label) of the class the noise sends labels to, if one.

    Flip noise: ``+1`` (``c -> c + 1``); locally concentrated noise: ``+L//2``; uniform noise: None.
    """
    if kind == "concentrated":
        return n_labels // 2
    return 1 if kind == "flip" else None


def expected_levels(kind: str, gamma: float, n_labels: int) -> np.ndarray:
    """The label distribution of a clean neighbourhood after the noise, true label first (Eq. 3).

    Uniform: ``1 - γ + γ/L`` on the true class and ``γ/L`` elsewhere; flip: ``1 - γ`` and ``γ`` on the
    flip target. Locally concentrated noise has no single such distribution: all NaN. Shape ``(L,)``.
    """
    level = np.full(n_labels, np.nan)
    if kind == "uniform":
        level[:] = gamma / n_labels
        level[0] = 1 - gamma + gamma / n_labels
    elif kind == "flip":
        level[0], level[1] = 1 - gamma, gamma
    return level


def softmax_row(kind: str, selected: float, net: TrainResult, ds: Dataset, ordered: np.ndarray) -> dict:
    """One network's row of the summary: its accuracy and median softmax on the true, other and alternative
    classes (``ordered``: its test softmax with the true label first, shape (M, L))."""
    n_labels = ds.n_classes
    alternative = alternative_offset(kind, n_labels)
    median = np.median(ordered, axis=0)
    others = np.delete(median, [0] if alternative is None else [0, alternative])
    predicted = net.test_softmax.argmax(axis=1)
    return {
        "noise": kind,
        "gamma": round(selected, 3),
        "test accuracy": net.test_accuracy,
        "median softmax, true class": median[0],
        OTHERS: others.mean(),
        ALTERNATIVE: np.nan if alternative is None else median[alternative],
        PREDICTED: np.nan
        if alternative is None
        else float((predicted == (ds.y_test + alternative) % n_labels).mean()),
    }


def run(p: Params, *, executor: Executor | None = None) -> Fig2Result:
    """The clean network and one noisy network (repeat 0) per noise model and level of ``p``.

    ``executor`` (:func:`knnoise.pipeline.engine.executor`): train the networks there first
    (:func:`~knnoise.pipeline.networks.send_networks`); None: here.
    """
    seed, device, schedule = p.seed, p.device, p.schedule
    jobs = [(kind, g) for kind in KINDS for g in getattr(p, f"{kind}_gammas")]
    if executor is not None:
        send_networks([Cell(kind, float(g), 0) for kind, g in jobs], p, executor)
    ds = p.data.load()
    clean_net = clean_network(ds, schedule, seed=seed, device=device)
    panels = {"clean labels": true_label_first(clean_net.test_softmax, ds.y_test)}
    expected, rows = {}, []
    for kind, gamma in tqdm(jobs, desc="networks"):
        net, corruption = noisy_network(ds, kind, gamma, 0, schedule, seed=seed, device=device)
        title = f"{kind} noise, γ = {corruption.selected_fraction:.2f}"
        panels[title] = true_label_first(net.test_softmax, ds.y_test)
        expected[title] = expected_levels(kind, gamma, ds.n_classes)
        rows.append(softmax_row(kind, corruption.selected_fraction, net, ds, panels[title]))
    return Fig2Result(ds, clean_net, panels, expected, pd.DataFrame(rows))
