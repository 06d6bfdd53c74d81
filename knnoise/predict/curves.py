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
    _is_tensor,
    check_int_array,
    check_ks,
    check_noise_levels,
    check_probabilities,
    check_ties,
    fail,
)
from knnoise.predict.diagnose import explain_sums
from knnoise.predict.inputs import corruptions, read_measured, split_measured
from knnoise.predict.readers import Table, column_indices
from knnoise.theory import MAX_K, EffectiveK, expected_accuracy, fit_effective_k

__all__ = ["COLUMNS", "DEFAULT_GAMMAS", "DEFAULT_KS", "FIT_K", "Prediction", "default_fit_ks", "predict",
           "predict_curves"]  # fmt: skip

DEFAULT_GAMMAS = tuple(round(0.05 * i, 2) for i in range(21))
"""The default noise levels, as the CLI's ``--gammas 0:1:0.05``."""
DEFAULT_KS = (1, 5, 25, 51)
"""The default K of the curves, as the CLI's."""
FIT_K = 201
"""The fit searches K = 1..max(FIT_K, max(ks)) by default (:func:`default_fit_ks`)."""

COLUMNS = ("noise", "gamma", "K", "accuracy")
"""The tidy curves' columns: one row per noise model, noise level and K."""


@dataclass(frozen=True)
class Prediction:
    """Predicted accuracy curves, and the effective K fitted to measurements (when there were some).

    ``curves``: tidy, :data:`COLUMNS`, one row per (noise, gamma, K) asked for. ``fits``: noise -> its
    :class:`~knnoise.theory.EffectiveK` over ``fit_ks`` (each noise model fitted to its own measurements).
    ``measured``: the measurements (noise, gamma, accuracy). ``fitted``: noise -> the curve at the fitted
    K at the asked gammas, shape (G,).
    """

    curves: pd.DataFrame
    ties: str
    fits: dict[str, EffectiveK] = field(default_factory=dict)
    measured: pd.DataFrame | None = None
    fitted: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def fit(self) -> dict[str, EffectiveK]:
        """``fits``: noise -> its effective K (empty without measurements)."""
        return self.fits

    @property
    def all_curves(self) -> pd.DataFrame:
        """:attr:`curves` and the curves at the fitted K, tidy: :data:`COLUMNS` plus ``curve`` (``"asked"``
        for the K asked for, ``"fitted"`` for the effective K of the noise model's fit)."""
        parts = [self.curves.assign(curve="asked")]
        for noise, fit in self.fits.items():
            fitted = _tidy(noise, self.gammas, np.array([fit.k]), self.fitted[noise][:, None])
            parts.append(fitted.assign(curve="fitted"))
        return pd.concat(parts, ignore_index=True)

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
        """The fitted effective K of ``noise`` in one line (and where the measurements depart from it)."""
        fit = self.fits[noise]
        n = len(fit.levels) if fit.levels.size else self.measured.gamma.nunique()
        text = (
            f"effective K, {noise} noise: {fit.k} (90% interval {fit.low}-{fit.high}), "
            f"rms error {fit.rmse:.4f} over {n} measured noise level{'s' if n > 1 else ''}"
        )
        departs = fit.departure()
        if departs is not None:
            low, high, worst = departs
            where = f"gamma {low:g}" if low == high else f"gamma {low:g}-{high:g}"
            text += (f"; the measurements depart from every K curve, most at {where} (residual up to "
                     f"{worst:.3f}): one K is only an approximation there")  # fmt: skip
        return text

    def edge_warnings(self) -> list[str]:
        """One line per noise model whose best K lies on the edge of the K searched."""
        lines = []
        for noise, fit in self.fits.items():
            if fit.edge is not None:
                bound = int(fit.ks.max() if fit.edge == "upper" else fit.ks.min())
                side = "largest" if fit.edge == "upper" else "smallest"
                lines.append(
                    f"the effective K of {noise} noise ({fit.k}) is the {side} K searched ({bound}): the "
                    f"best K may lie beyond it; widen the search (--fit-ks / fit_ks)"
                )
        return lines

    def fit_record(self, noise: str) -> dict[str, Any]:
        """The fit of ``noise`` as plain JSON-ready values (K, interval, rms, residuals, edge)."""
        return _fit_record(self.fits[noise])

    def to_json(self) -> dict[str, Any]:
        """The fits per noise model and the curves (:attr:`all_curves`), as JSON-ready values."""
        curves = self.all_curves
        return {
            "ties": self.ties, "noises": self.noises, "gammas": [float(g) for g in self.gammas],
            "ks": self.ks, "fits": {n: self.fit_record(n) for n in self.fits},
            "curves": [
                {"noise": r.noise, "gamma": float(r.gamma), "K": int(r.K), "accuracy": float(r.accuracy),
                 "curve": r.curve} for r in curves.itertuples(index=False)
            ],
        }  # fmt: skip

    def plot(self, **options: Any) -> Figure:
        """:meth:`figure` (``title``, ``path``)."""
        return self.figure(**options)

    def figure(self, *, title: str | None = None, path: str | os.PathLike[str] | None = None) -> Figure:
        """The curves, one panel per noise model (:func:`knnoise.plots.accuracy_curves`), with the
        measurements and the curve at the fitted K when there are some."""
        from knnoise import plots

        panels = {f"{n} noise": self.table(n).to_numpy() for n in self.noises}
        overlays = {}
        for n in self.fits:
            rows = self.measured[self.measured.noise == n]
            point = {"x": rows.gamma, "y": rows.accuracy, "fmt": "s", "color": "black", "ms": 5,
                     "label": "measured"}  # fmt: skip
            fit = {"x": self.gammas, "y": self.fitted[n], "color": "crimson", "lw": 2.5, "alpha": 0.6,
                   "label": f"at the fitted K = {self.fits[n].k}"}  # fmt: skip
            overlays[f"{n} noise"] = [point, fit]
        fig = plots.accuracy_curves(self.gammas, panels, self.ks, overlays=overlays)
        if title:
            fig.suptitle(title)
        if path is not None:
            fig.savefig(path, bbox_inches="tight", dpi=150)
        return fig


def _fit_record(fit: EffectiveK) -> dict[str, Any]:
    departs = fit.departure()
    return {
        "K": fit.k, "interval": [fit.low, fit.high], "level": 0.9, "rmse": fit.rmse,
        "fit_ks": [int(fit.ks.min()), int(fit.ks.max())] if fit.ks.size else None,
        "at_edge": fit.at_edge, "edge": fit.edge,
        "departure": None if departs is None else {"gammas": list(departs[:2]),
                                                   "max_abs_residual": departs[2]},
        "residuals": [
            {"gamma": float(g), "measured": float(m), "predicted": float(m - r), "residual": float(r),
             "n": int(n)}
            for g, m, r, n in zip(fit.levels, fit.means, fit.residuals, fit.counts, strict=True)
        ],
    }  # fmt: skip


def _frame_table(softmax: pd.DataFrame, class_columns: str | None) -> Table:
    """A DataFrame's class columns as a :class:`Table` (their own dtype kept: float32 stays float32)."""
    header = [str(c) for c in softmax.columns]
    if class_columns is None:
        return Table(softmax.to_numpy(), None, header, "softmax")
    shape_only = Table(np.empty((0, len(header))), None, header, "softmax")
    indices = column_indices("class_columns", shape_only, class_columns)
    return Table(softmax.iloc[:, indices].to_numpy(), None, [header[i] for i in indices], "softmax")


def _check_inputs(
    softmax: Any, labels: Any, class_columns: str | None = None
) -> tuple[Any, np.ndarray, np.ndarray]:
    """The softmax as given (its class columns, for a DataFrame), checked float64 rows, and the labels."""
    table = None
    if isinstance(softmax, pd.DataFrame):
        if isinstance(labels, str):
            if labels not in softmax.columns:
                raise fail("labels", f"a column of softmax {[str(c) for c in softmax.columns]}", labels)
            labels = softmax[labels].to_numpy()
        table = _frame_table(softmax, class_columns)
        softmax = table.values
    elif class_columns is not None:
        raise fail("class_columns", "None unless softmax is a DataFrame", class_columns)
    try:
        C = check_probabilities("softmax", softmax)
    except ValueError as err:
        if _is_tensor(softmax):
            raise
        table = table or Table(np.asarray(softmax), None, None, "softmax")
        raise ValueError(explain_sums("softmax", table, str(err), api=True)) from None
    if C.ndim != 2 or C.shape[1] < 2:
        raise fail("softmax", "an (M, L) array, one row per test example and L >= 2", f"shape {C.shape}")
    y = check_int_array("labels", np.asarray(labels) if isinstance(labels, pd.Series) else labels,
                        n_labels=C.shape[1])  # fmt: skip
    if y.shape != (C.shape[0],):
        raise fail("labels", f"an array of shape ({C.shape[0]},), one per row of softmax", f"shape {y.shape}")
    return softmax, C, y


def _tidy(noise: str, gammas: np.ndarray, ks: np.ndarray, table: np.ndarray) -> pd.DataFrame:
    g, k = np.meshgrid(gammas, ks, indexing="ij")
    return pd.DataFrame(
        {"noise": noise, "gamma": g.ravel(), "K": k.ravel().astype(np.int64), "accuracy": table.ravel()}
    )


def default_fit_ks(ks: Any) -> np.ndarray:
    """The K the fit searches by default: 1 to ``max(FIT_K, max(ks))`` (at most ``MAX_K``).

    A trained network's effective K is found in the tens (Fig. 4 of the paper); :data:`FIT_K` = 201 is
    four times the CLI's largest default K (51), and a best K on the edge is flagged (``EffectiveK.edge``)
    so that a larger one is never hidden. The bound is not the data's M: K counts *training* neighbours,
    and the solver's time grows with the largest K (1..2000 on 10 000 x 10 rows takes many minutes).
    """
    return np.arange(1, min(MAX_K, max(FIT_K, int(np.max(ks)))) + 1)


def predict(
    softmax: Any,
    labels: Any,
    noise: Any = "uniform",
    gammas: Any = DEFAULT_GAMMAS,
    ks: Any = DEFAULT_KS,
    ties: str = "strict",
    *,
    measured: Any = None,
    fit_ks: Any = None,
    class_columns: str | None = None,
    progress: bool | None = None,
    seed: int = 0,
) -> Prediction:
    """Expected accuracy under label noise of a network whose clean softmax is ``softmax`` (Eq. 1-3).

    The Python twin of ``python -m knnoise predict``: the same checks, numbers and fits.

    Parameters
    ----------
    softmax : array_like, torch.Tensor or pandas.DataFrame, shape (M, L)
        ``C_s``: the softmax of a network trained on clean labels, on M test examples (bfloat16, float16,
        float32 or float64; a tensor on any device, requiring grad or not; rows off from 1 by their
        dtype's own rounding are renormalised in float64). A DataFrame may hold more columns than the L
        class probabilities: name these with ``class_columns``.
    labels : array_like of int, torch.Tensor, pandas.Series, or str; shape (M,)
        The test examples' true labels (whole-number floats such as 2.0 are accepted); a str names a
        column of a ``softmax`` DataFrame (``"label"``).
    noise : str, array or a sequence/mapping of them
        ``"uniform"``, ``"symmetric"``, ``"flip"``, a corruption-matrix file, or an (L, L) matrix.
    gammas : sequence of float in [0, 1]
        Noise levels (the fraction of training labels selected for corruption); default 0, 0.05, ..., 1.
    ks : int or sequence of int
        Neighbourhood sizes K of the curves (at most ``MAX_K``); default 1, 5, 25, 51.
    ties : {"strict", "random", "lowest"}
        Tie rule of the vote (the paper: ``strict``).
    measured : file, DataFrame or sequence of (gamma, accuracy), optional
        Accuracies of networks trained on noisy labels: a tidy ``noise, gamma, accuracy[, repeat]`` table
        (each noise model is fitted to its own rows), or ``gamma, accuracy`` rows for a single noise model.
    fit_ks : sequence of int, optional
        The K searched by the fit (default: :func:`default_fit_ks`, 1..201).
    class_columns : str, optional
        The class columns of a DataFrame ``softmax``: ``"p0-p9"``, a prefix ``"p"``, or ``"a,b,c"``.
    progress : bool, optional
        A progress bar (default: for large problems only).
    seed : int
        Seeds the fit's bootstrap interval.

    Returns
    -------
    Prediction
        ``curves`` (tidy), and with ``measured`` the ``fits`` and ``fitted`` curves.
    """
    given, C, y = _check_inputs(softmax, labels, class_columns)
    matrices = corruptions(noise, C.shape[1])
    g = np.unique(check_noise_levels("gammas", gammas))
    k_arr = np.unique(check_ks("ks", ks, maximum=MAX_K)[0])
    check_ties(ties)
    frame = None if measured is None else read_measured(measured)
    by_noise = {} if frame is None else split_measured(frame, list(matrices))
    fit_k = default_fit_ks(k_arr)
    if fit_ks is not None:
        fit_k = np.unique(check_ks("fit_ks", fit_ks, maximum=MAX_K)[0])
    curves, fits, fitted = [], {}, {}
    for name, P in matrices.items():
        all_k = k_arr
        if name in by_noise:  # the fit first, on the measured levels only: then one pass at its K too
            rows = by_noise[name]
            levels = np.unique(rows.gamma.to_numpy())
            table = expected_accuracy(given, y, levels, P, fit_k, ties, progress=progress)
            fits[name] = fit_effective_k(fit_k, table, levels, rows, seed=seed)
            all_k = np.union1d(k_arr, [fits[name].k])
        # the softmax as given (checked above): the same numbers as expected_accuracy on it, bitwise
        table = expected_accuracy(given, y, g, P, all_k, ties, progress=progress)
        curves.append(_tidy(name, g, k_arr, table[:, np.searchsorted(all_k, k_arr)]))
        if name in fits:
            fitted[name] = table[:, np.searchsorted(all_k, fits[name].k)]
    measured_rows = None if frame is None else pd.concat(list(by_noise.values()), ignore_index=True)
    return Prediction(pd.concat(curves, ignore_index=True), ties, fits, measured_rows, fitted)


def predict_curves(
    softmax: Any, labels: Any, noise: Any, gammas: Any, ks: Any, ties: str = "strict", **options: Any
) -> pd.DataFrame:
    """:func:`predict`'s curves alone: a tidy DataFrame with columns :data:`COLUMNS`."""
    return predict(softmax, labels, noise, gammas, ks, ties, **options).curves
