"""Fig. 2 (the softmax against the neighbourhood's label distribution) and the feature-space supplement."""

from __future__ import annotations

import os

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from knnoise.plots._common import save as _save

__all__ = ["knn_softmax_agreement", "softmax_profile", "true_label_first"]


def true_label_first(softmax, labels) -> np.ndarray:
    """Reorder each row so that column ``j`` holds the class ``(label + j) mod L`` (true label first).

    With the default flip noise (``c -> c + 1``) column 1 is then the flip target, and with locally
    concentrated noise (``c -> c + L//2``) column ``L//2`` is the alternative class.
    """
    softmax = np.asarray(softmax)
    labels = np.asarray(labels)
    n_labels = softmax.shape[1]
    columns = (labels[:, None] + np.arange(n_labels)[None, :]) % n_labels
    return np.take_along_axis(softmax, columns, axis=1)


def softmax_profile(
    panels: dict[str, np.ndarray],
    *,
    expected: dict[str, np.ndarray] | None = None,
    ncols: int = 3,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Fig. 2: the median softmax output per class position (true label first), with the central 50%.

    Parameters
    ----------
    panels : dict of str to array, shape (M, L)
        Panel title -> softmax outputs already reordered by :func:`true_label_first`.
    expected : dict of str to array, shape (L,), optional
        Panel title -> the levels the K-NN picture predicts, drawn as short red lines.
    """
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(3.3 * ncols, 2.6 * nrows + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharey=True, squeeze=False)).ravel()
    for ax, (title, values) in zip(axes, panels.items(), strict=False):
        values = np.asarray(values, dtype=float)
        positions = np.arange(values.shape[1])
        q25, median, q75 = np.quantile(values, [0.25, 0.5, 0.75], axis=0)
        bars = ax.bar(positions, median, color="C0", alpha=0.8, edgecolor="none")
        bars[0].set_edgecolor("black")
        bars[0].set_linewidth(1.5)
        ax.errorbar(positions, median, yerr=[median - q25, q75 - median], fmt="none", ecolor="0.2", capsize=2)
        if expected and title in expected:
            ax.hlines(expected[title], positions - 0.4, positions + 0.4, colors="crimson", lw=2)
        ax.set_title(title, fontsize="medium")
        ax.set_xticks(positions, ["true"] + [f"+{j}" for j in positions[1:]], fontsize="small")
        ax.set_ylim(0, 1.02)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel("softmax output")
    fig.supxlabel("class, counted from the true label (+j: label + j mod L)", fontsize="medium")
    handles = [
        Line2D([], [], color="C0", lw=6, alpha=0.8, label="median over test examples"),
        Line2D([], [], color="0.2", marker="_", ls="none", label="central 50%"),
    ]
    if expected:
        handles.append(Line2D([], [], color="crimson", lw=2, label="expected from the neighbourhood"))
    fig.legend(handles=handles, loc="outside upper center", ncols=3, fontsize="small")
    return _save(fig, path)


def knn_softmax_agreement(
    ks,
    distance: dict[str, np.ndarray],
    agreement: dict[str, np.ndarray],
    *,
    reference: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Supplement: how close a network's softmax is to the label histogram of its K nearest neighbours.

    Two panels against K (log axis): the mean total-variation distance between each test example's softmax
    and the (noisy) label histogram of its K nearest training examples in the network's feature space, and
    the fraction of test examples whose softmax argmax equals the histogram's plurality label. The K with
    the smallest distance is marked on each curve — the K-NN that the network's output is closest to.

    Parameters
    ----------
    ks : array_like of int, shape (len(ks),)
        The neighbourhood sizes (x axis).
    distance, agreement : dict of str to array, shape (len(ks),)
        Setting name (e.g. ``"uniform, γ = 0.5"``) -> mean TV distance, and -> argmax agreement.
    reference : str, optional
        A setting drawn as a dashed black line (e.g. the clean network).
    path : path-like, optional
        Save the figure there as well.
    """
    from matplotlib.ticker import FuncFormatter

    ks = np.asarray(ks, dtype=float)
    if set(distance) != set(agreement):
        raise ValueError("distance and agreement must name the same settings")
    fig = Figure(figsize=(9.0, 4.2), layout="constrained")
    ax_d, ax_a = fig.subplots(1, 2, sharex=True)
    colour = 0
    handles = []
    for name in distance:
        d = np.asarray(distance[name], dtype=float)
        a = np.asarray(agreement[name], dtype=float)
        if d.shape != ks.shape or a.shape != ks.shape:
            raise ValueError(f"{name!r}: expected {len(ks)} values per curve, got {d.shape} and {a.shape}")
        if name == reference:
            style = {"color": "black", "ls": "--", "marker": "o", "ms": 3.5, "lw": 1.3}
        else:
            style = {"color": f"C{colour % 10}", "marker": "o", "ms": 3.5, "lw": 1.6}
            colour += 1
        (line,) = ax_d.plot(ks, d, label=name, **style)
        ax_a.plot(ks, a, **style)
        best = int(np.nanargmin(d))
        ax_d.plot(ks[best], d[best], marker="*", ms=14, color=style["color"], mec="black", mew=0.7, ls="none")
        ax_a.plot(ks[best], a[best], marker="*", ms=14, color=style["color"], mec="black", mew=0.7, ls="none")
        handles.append(line)
    handles.append(
        Line2D(
            [],
            [],
            marker="*",
            ms=12,
            color="0.7",
            mec="black",
            mew=0.7,
            ls="none",
            label="K of least distance",
        )
    )
    for ax in (ax_d, ax_a):
        ax.set_xscale("log")
        ax.set_xlabel("K (nearest training examples in feature space)")
        ax.grid(alpha=0.3, which="both")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax_d.set_ylabel("mean total-variation distance")
    ax_d.set_title("softmax vs K-NN label histogram", fontsize="medium")
    ax_d.set_ylim(bottom=0)
    ax_a.set_ylabel("fraction of test examples")
    ax_a.set_title("softmax argmax = K-NN plurality label", fontsize="medium")
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize="small")
    return _save(fig, path)

