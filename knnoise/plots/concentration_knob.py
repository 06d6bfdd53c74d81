"""Beyond the paper: accuracy against the concentration knob at fixed noise levels."""

from __future__ import annotations

import os

import numpy as np
from matplotlib.figure import Figure

from knnoise.plots._common import save as _save
from knnoise.plots.curves import accuracy_curves

__all__ = ["concentration_curves"]

KNOB_LABEL = "concentration κ (0: randomly spread, 1: one compact region per class)"


def concentration_curves(
    concentrations,
    analytic: dict[str, np.ndarray],
    ks,
    *,
    measured: dict[str, tuple[np.ndarray, np.ndarray]],
    floors: dict[str, float] | None = None,
    networks: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    title: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """K-NN accuracy against the concentration κ, one panel per noise level, one colour per K.

    Parameters
    ----------
    concentrations : array_like, shape (C,)
        The knob's settings (the x axis).
    analytic : dict of str to array, shape (C, len(ks))
        Panel title -> the local-rate prediction (Eq. 1-3 with each test example's local noise rate).
    ks : sequence of int
        The K of each column.
    measured : dict of str to (mean, sd), each of shape (C, len(ks))
        Panel title -> the measured K-NN accuracy over the draws, drawn as markers with error bars.
    floors : dict of str to float, optional
        Panel title -> ``1 - gamma``, the paper's prediction for concentrated noise (a dashed line).
    networks : dict of str to (concentrations, accuracy), optional
        Panel title -> the accuracy of networks trained at those settings (black squares).
    title : str, optional
        A title over all panels.
    path : path-like, optional
        Save the figure there as well.
    """
    x = np.asarray(concentrations, dtype=float)
    overlays = {}
    for name in analytic:
        mean, sd = (np.asarray(a, dtype=float) for a in measured[name])
        overlays[name] = [
            {"x": x, "y": mean[:, j], "yerr": sd[:, j], "fmt": "o", "ms": 4, "color": f"C{j}",
             "label": "K-NN, measured (mean ± sd)" if j == 0 else None}
            for j in range(len(ks))
        ]  # fmt: skip
        if floors and name in floors:
            floor = floors[name]
            overlays[name].append(
                {"x": [0, 1], "y": [floor] * 2, "color": "0.4", "ls": "--", "label": "1 − γ (concentrated)"}
            )
        if networks and name in networks:
            nx, ny = networks[name]
            overlays[name].append(
                {"x": nx, "y": ny, "color": "black", "marker": "s", "ms": 5, "label": "DNN, measured"}
            )
    fig = accuracy_curves(x, analytic, ks, overlays=overlays, ncols=len(analytic), xlabel=KNOB_LABEL)
    if title:
        fig.suptitle(title)
    return _save(fig, path)
