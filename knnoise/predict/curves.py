"""The paper's recipe for a given network: its clean softmax as ``C_s``, Eq. 3, Theorem 1, Eq. 1.

For each noise model ``P`` and level ``gamma``, every test example's neighbour-label distribution is
``q = (1 - gamma) C_s + gamma C_s P`` (Eq. 3) and the expected accuracy of a K-NN vote is the mean over
the test set of Theorem 1's probability that the true label wins (Eq. 1), computed exactly by
:func:`knnoise.theory.expected_accuracy`. Given measured accuracies of networks trained on noisy labels,
:func:`knnoise.theory.fit_effective_k` finds the K whose curve matches them best (beyond the paper).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from knnoise._checks import (
    check_int_array,
    check_ks,
    check_noise_levels,
    check_probabilities,
    check_ties,
    fail,
)
from knnoise.predict.inputs import corruptions, read_measured
from knnoise.theory import MAX_K, EffectiveK, expected_accuracy, fit_effective_k

__all__ = ["COLUMNS", "Prediction", "predict", "predict_curves"]

COLUMNS = ("noise", "gamma", "K", "accuracy")
"""The tidy curves' columns: one row per noise model, noise level and K."""


@dataclass(frozen=True)
class Prediction:
    """Predicted accuracy curves, and the effective K fitted to measurements (when there were some).

    ``curves``: tidy, :data:`COLUMNS`, one row per (noise, gamma, K) asked for. ``fits``: noise -> its
    :class:`~knnoise.theory.EffectiveK` over ``fit_ks``. ``measured``: the measurements (gamma, accuracy).
    ``fitted``: noise -> the curve at the fitted K at the asked gammas, shape (G,).
    """

    curves: pd.DataFrame
    ties: str
    fits: dict[str, EffectiveK] = field(default_factory=dict)
    measured: pd.DataFrame | None = None
    fitted: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def noises(self) -> list[str]:
        """The noise models, in the order asked for."""
        return list(dict.fromkeys(self.curves.noise))

    @property
    def gammas(self) -> np.ndarray:
        """The noise levels of the curves, increasing."""
        return np.unique(self.curves.gamma.to_numpy())

    @property
    def ks(self) -> list[int]:
        """The K of the curves, increasing."""
        return sorted(int(k) for k in self.curves.K.unique())

    def table(self, noise: str | None = None) -> pd.DataFrame:
        """One noise model's curves (default: the first) as a table: a row per gamma, a column per K."""
        noise = self.noises[0] if noise is None else noise
        if noise not in self.noises:
            raise fail("noise", f"one of {tuple(self.noises)}", noise)
        rows = self.curves[self.curves.noise == noise]
        return rows.pivot(index="gamma", columns="K", values="accuracy")

    def fit_text(self, noise: str) -> str:
        """The fitted effective K of ``noise`` in one line."""
        fit, n = self.fits[noise], self.measured.gamma.nunique()
        return (
            f"effective K, {noise} noise: {fit.k} (90% interval {fit.low}-{fit.high}), "
            f"rms error {fit.rmse:.4f} over {n} measured noise level{'s' if n > 1 else ''}"
        )

    def figure(self, *, title: str | None = None, path: str | os.PathLike[str] | None = None) -> Figure:
        """The curves, one panel per noise model (:func:`knnoise.plots.accuracy_curves`), with the
        measurements and the curve at the fitted K when there are some."""
        from knnoise import plots

        panels = {f"{n} noise": self.table(n).to_numpy() for n in self.noises}
        overlays = {}
        if self.measured is not None:
            point = {"x": self.measured.gamma, "y": self.measured.accuracy, "fmt": "s", "color": "black",
                     "ms": 5, "label": "measured"}  # fmt: skip
            for n in self.noises:
                fit = {"x": self.gammas, "y": self.fitted[n], "color": "crimson", "lw": 2.5, "alpha": 0.6,
                       "label": "at the fitted K"}  # fmt: skip
                overlays[f"{n} noise"] = [point, fit]
        fig = plots.accuracy_curves(self.gammas, panels, self.ks, overlays=overlays)
        if title:
            fig.suptitle(title)
        if path is not None:
            fig.savefig(path, bbox_inches="tight", dpi=150)
        return fig


def _check_inputs(softmax: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    C = check_probabilities("softmax", softmax)
    if C.ndim != 2 or C.shape[1] < 2:
        raise fail("softmax", "an (M, L) array, one row per test example and L >= 2", f"shape {C.shape}")
    y = check_int_array("labels", labels, n_labels=C.shape[1])
    if y.shape != (C.shape[0],):
        raise fail("labels", f"an array of shape ({C.shape[0]},), one per row of softmax", f"shape {y.shape}")
    return C, y


def _new_levels(measured: np.ndarray, gammas: np.ndarray) -> np.ndarray:
    """The measured noise levels that are not (up to rounding) among ``gammas``."""
    return np.array([m for m in np.unique(measured) if not np.any(np.isclose(gammas, m))], dtype=float)


def _tidy(noise: str, gammas: np.ndarray, ks: np.ndarray, table: np.ndarray) -> pd.DataFrame:
    g, k = np.meshgrid(gammas, ks, indexing="ij")
    return pd.DataFrame(
        {"noise": noise, "gamma": g.ravel(), "K": k.ravel().astype(np.int64), "accuracy": table.ravel()}
    )


def predict(
    softmax: Any,
    labels: Any,
    noise: Any,
    gammas: Any,
    ks: Any,
    ties: str = "strict",
    *,
    measured: Any = None,
    fit_ks: Any = None,
    progress: bool | None = None,
    seed: int = 0,
) -> Prediction:
    """Expected accuracy under label noise of a network whose clean softmax is ``softmax`` (Eq. 1-3).

    Parameters
    ----------
    softmax : array_like or torch.Tensor, shape (M, L)
        ``C_s``: the softmax of a network trained on clean labels, on M test examples (bfloat16, float16,
        float32 or float64; a tensor on any device, requiring grad or not; rows off from 1 by their
        dtype's own rounding are renormalised in float64).
    labels : array_like of int or torch.Tensor, shape (M,)
        The test examples' true labels (whole-number floats such as 2.0 are accepted).
    noise : str, array or a sequence/mapping of them
        ``"uniform"``, ``"symmetric"``, ``"flip"``, a corruption-matrix file, or an (L, L) matrix.
    gammas : sequence of float in [0, 1]
        Noise levels (the fraction of training labels selected for corruption).
    ks : int or sequence of int
        Neighbourhood sizes K of the curves (at most ``MAX_K``).
    ties : {"strict", "random", "lowest"}
        Tie rule of the vote (the paper: ``strict``).
    measured : file, DataFrame or sequence of (gamma, accuracy), optional
        Accuracies of networks trained on noisy labels: fit each noise model's effective K to them.
    fit_ks : sequence of int, optional
        The K searched by the fit (default: every K from 1 to ``max(ks)``).
    progress : bool, optional
        A progress bar (default: for large problems only).
    seed : int
        Seeds the fit's bootstrap interval.

    Returns
    -------
    Prediction
        ``curves`` (tidy), and with ``measured`` the ``fits`` and ``fitted`` curves.
    """
    C, y = _check_inputs(softmax, labels)
    matrices = corruptions(noise, C.shape[1])
    g = np.unique(check_noise_levels("gammas", gammas))
    k_arr = np.unique(check_ks("ks", ks, maximum=MAX_K)[0])
    check_ties(ties)
    frame = None if measured is None else read_measured(measured)
    fit_k = np.arange(1, k_arr.max() + 1)
    if fit_ks is not None:
        fit_k = np.unique(check_ks("fit_ks", fit_ks, maximum=MAX_K)[0])
    all_g = g if frame is None else np.union1d(g, _new_levels(frame.gamma.to_numpy(), g))
    all_k = k_arr if frame is None else np.union1d(k_arr, fit_k)
    curves, fits, fitted = [], {}, {}
    for name, P in matrices.items():
        # the softmax as given (checked above): the same numbers as expected_accuracy on it, bitwise
        table = expected_accuracy(softmax, y, all_g, P, all_k, ties, progress=progress)
        rows, cols = np.searchsorted(all_g, g), np.searchsorted(all_k, k_arr)
        curves.append(_tidy(name, g, k_arr, table[np.ix_(rows, cols)]))
        if frame is not None:
            fit_cols = np.searchsorted(all_k, fit_k)
            fits[name] = fit_effective_k(fit_k, table[:, fit_cols], all_g, frame, seed=seed)
            fitted[name] = table[rows, np.searchsorted(all_k, fits[name].k)]
    return Prediction(pd.concat(curves, ignore_index=True), ties, fits, frame, fitted)


def predict_curves(
    softmax: Any, labels: Any, noise: Any, gammas: Any, ks: Any, ties: str = "strict", **options: Any
) -> pd.DataFrame:
    """:func:`predict`'s curves alone: a tidy DataFrame with columns :data:`COLUMNS`."""
    return predict(softmax, labels, noise, gammas, ks, ties, **options).curves
