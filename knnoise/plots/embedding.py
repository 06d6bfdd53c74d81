"""Fig. 1: one 2-D embedding of deep features, coloured by a different (noisy) labelling per panel."""

from __future__ import annotations

import os

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from knnoise.plots._common import save as _save

__all__ = ["embedding_panels"]


def embedding_panels(
    points,
    labels,
    titles,
    class_names,
    *,
    marked=None,
    marked_label: str = "label changed by the noise",
    true_labels=None,
    suptitle: str | None = None,
    axis_label: str = "t-SNE",
    point_size: float = 7.0,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Fig. 1: one 2-D embedding (e.g. t-SNE of deep features), coloured by a different labelling per panel.

    The same points appear in every panel; only their colours (the labels a training set assigns them)
    change, so randomly spread noise shows as isolated off-colour points inside the class clusters and
    locally concentrated noise as whole off-colour patches.

    Parameters
    ----------
    points : array_like, shape (n, 2)
        The embedded points, shared by all panels.
    labels : sequence of array_like of int, each of shape (n,)
        One labelling per panel (e.g. the noisy training labels), in ``0..len(class_names)-1``.
    titles : sequence of str
        One title per panel.
    class_names : sequence of str
        The classes' names: the legend, one colour per class (``tab10`` up to 10 classes).
    marked : sequence of (array_like of bool, shape (n,), or None), optional
        Per panel, the points to outline in black (e.g. the corrupted ones), drawn on top.
    marked_label : str
        The legend's text for the outlined points.
    true_labels : array_like of int, shape (n,), optional
        The clean classes: each class's name is written at the median position of its points.
    suptitle : str, optional
        A title over all panels.
    axis_label : str
        The embedding's name on the axes (``"t-SNE 1"``, ``"t-SNE 2"``).
    point_size : float
        Marker area of the unmarked points (the marked ones are drawn 1.6 times larger).
    path : path-like, optional
        Save the figure there as well.
    """
    xy, labels, titles, names, marked = _checked(points, labels, titles, class_names, marked)
    colours = _colours(len(names))
    palette = np.array([_rgba(c) for c in colours])
    ncols = len(labels)
    fig = Figure(figsize=(4.4 * ncols, 4.9), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
    for ax, lab, title, mark in zip(axes, labels, titles, marked, strict=True):
        _draw_panel(ax, xy, lab, mark, palette, point_size)
        if true_labels is not None:
            _name_classes(ax, xy, np.asarray(true_labels), names)
        ax.set_title(title, fontsize="medium")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f"{axis_label} 1", fontsize="small")
        ax.set_aspect("equal", adjustable="box")
    axes[0].set_ylabel(f"{axis_label} 2", fontsize="small")
    _legend(fig, colours, names, any(m is not None and np.any(m) for m in marked), marked_label)
    if suptitle:
        fig.suptitle(suptitle)
    return _save(fig, path)


def _checked(points, labels, titles, class_names, marked) -> tuple:
    """The inputs as arrays and lists, checked before anything is drawn."""
    xy = np.asarray(points, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {xy.shape}")
    labels = [np.asarray(lab) for lab in labels]
    titles, names = list(titles), list(class_names)
    if not labels or len(titles) != len(labels):
        raise ValueError(
            f"need one title per labelling, got {len(titles)} titles and {len(labels)} labellings"
        )
    marked = [None] * len(labels) if marked is None else list(marked)
    if len(marked) != len(labels):
        raise ValueError(f"marked must have one entry per panel ({len(labels)}), got {len(marked)}")
    for lab in labels:
        if lab.shape != (len(xy),) or lab.dtype.kind not in "iu":
            raise ValueError(
                f"each labelling must hold {len(xy)} integer labels, got {lab.dtype} {lab.shape}"
            )
        if lab.size and (lab.min() < 0 or lab.max() >= len(names)):
            raise ValueError(f"labels must lie in 0..{len(names) - 1}, found {lab.min()}..{lab.max()}")
    marked = [None if m is None else np.asarray(m, dtype=bool) for m in marked]
    for mark in marked:
        if mark is not None and mark.shape != (len(xy),):
            raise ValueError(f"marked entries must have shape ({len(xy)},), got {mark.shape}")
    return xy, labels, titles, names, marked


def _colours(n_labels: int) -> list:
    """One colour per class: ``C0..C9`` up to ten classes, else evenly spaced on ``turbo``."""
    if n_labels <= 10:
        return [f"C{i}" for i in range(n_labels)]
    from matplotlib import colormaps

    return [colormaps["turbo"](i / (n_labels - 1)) for i in range(n_labels)]


def _rgba(colour) -> tuple:
    from matplotlib.colors import to_rgba

    return to_rgba(colour)


def _draw_panel(ax: Axes, xy: np.ndarray, lab: np.ndarray, mark, palette: np.ndarray, size: float) -> None:
    """The points coloured by ``lab``; the ``mark`` ones larger, outlined and on top."""
    mark = np.zeros(len(xy), dtype=bool) if mark is None else mark
    plain = ~mark
    ax.scatter(xy[plain, 0], xy[plain, 1], c=palette[lab[plain]], s=size, lw=0, alpha=0.85)
    ax.scatter(xy[mark, 0], xy[mark, 1], c=palette[lab[mark]], s=1.6 * size, edgecolors="black", lw=0.6)


def _name_classes(ax: Axes, xy: np.ndarray, truth: np.ndarray, names: list) -> None:
    """Each true class's name at the median position of its points."""
    from matplotlib.patheffects import withStroke

    for c in np.unique(truth):
        cx, cy = np.median(xy[truth == c], axis=0)
        ax.text(
            cx, cy, names[c], ha="center", va="center", fontsize=11, fontweight="bold",
            path_effects=[withStroke(linewidth=3, foreground="white")],
        )  # fmt: skip


def _legend(fig: Figure, colours: list, names: list, any_marked: bool, marked_label: str) -> None:
    """One legend below the panels: a marker per class, and the outlined marker when any is drawn."""
    handles = [
        Line2D([], [], marker="o", ls="none", color=colour, ms=7, label=name)
        for colour, name in zip(colours, names, strict=True)
    ]
    if any_marked:
        handles.append(
            Line2D([], [], marker="o", ls="none", mfc="0.85", mec="black", mew=1.0, ms=7, label=marked_label)
        )
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(handles), 6 if len(names) > 10 else 11),
        fontsize="small",
        title="colour: the label in the (noisy) training set",
        title_fontsize="small",
        columnspacing=0.8,
        handletextpad=0.2,
    )
