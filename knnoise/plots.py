"""Figure functions the notebooks call; each returns a :class:`matplotlib.figure.Figure`.

Pass ``path=...`` to also save the figure (the suffix picks the format, e.g. ``.png`` or ``.svg``).
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from knnoise.data import Dataset

__all__ = [
    "accuracy_curves",
    "class_balance",
    "corruption_matrix",
    "example_grid",
    "feature_scatter",
    "softmax_profile",
    "true_label_first",
]

Split = Literal["train", "test"]


def _save(fig: Figure, path: str | os.PathLike[str] | None) -> Figure:
    if path is not None:
        fig.savefig(path, bbox_inches="tight", dpi=150)
    return fig


def example_grid(
    dataset: Dataset,
    per_class: int = 8,
    *,
    split: Split = "train",
    max_classes: int = 10,
    seed: int = 0,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """A grid of example images: one row per class, ``per_class`` random examples in each.

    Parameters
    ----------
    dataset : Dataset
        An image dataset (``dataset.is_image``).
    per_class : int
        Examples per row.
    split : {"train", "test"}
        Where the examples come from.
    max_classes : int
        Show at most this many classes (the first ones), so large ``L`` stays readable.
    seed : int
        Which examples are drawn.
    path : path-like, optional
        Save the figure there as well.
    """
    if not dataset.is_image:
        raise ValueError(f"dataset {dataset.name!r} holds features, not images; use feature_scatter")
    if per_class < 1 or max_classes < 1:
        raise ValueError(f"per_class and max_classes must be >= 1, got {per_class}, {max_classes}")
    x, y = dataset.arrays(split)
    rng = np.random.default_rng(seed)
    classes = range(min(dataset.n_classes, max_classes))
    fig = Figure(figsize=(0.9 * per_class + 1.2, 0.9 * len(classes) + 0.4), layout="constrained")
    axes = fig.subplots(len(classes), per_class, squeeze=False)
    gray = x.ndim == 3
    for row, c in zip(axes, classes, strict=True):
        idx = np.flatnonzero(y == c)
        pick = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else idx
        for j, ax in enumerate(row):
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            if j < len(pick):
                ax.imshow(x[pick[j]], cmap="gray_r" if gray else None, vmin=0, vmax=255)
        row[0].set_ylabel(dataset.class_names[c], rotation=0, ha="right", va="center", fontsize=10)
    fig.suptitle(f"{dataset.name}: {per_class} random {split} examples per class")
    return _save(fig, path)


def class_balance(dataset: Dataset, *, path: str | os.PathLike[str] | None = None) -> Figure:
    """Bar chart of the share of each class in the training and test sets.

    Shares (not counts) put both splits on one axis; the legend gives the split sizes.
    """
    n = dataset.n_classes
    fig = Figure(figsize=(min(max(6.0, 0.5 * n + 2), 10.0), 4.0), layout="constrained")
    ax = fig.subplots()
    pos = np.arange(n)
    width = 0.4
    for shift, split in ((-width / 2, "train"), (width / 2, "test")):
        counts = dataset.class_counts(split)
        total = counts.sum()
        ax.bar(pos + shift, counts / total, width=width, label=f"{split} (N = {total:,})")
    ax.axhline(1 / n, color="k", lw=0.8, ls="--", label="balanced (1/L)")
    if n <= 20:
        ax.set_xticks(pos, dataset.class_names, rotation=45 if max(map(len, dataset.class_names)) > 3 else 0)
        ax.set_xlabel("class")
    else:
        ax.set_xlabel("class index")
    ax.set_ylabel("share of examples")
    ax.set_title(f"{dataset.name}: class balance")
    fig.legend(loc="outside lower center", ncols=3, fontsize=9)
    return _save(fig, path)


def feature_scatter(
    dataset: Dataset,
    *,
    split: Split = "train",
    max_points: int = 3000,
    seed: int = 0,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """The examples projected on their first two principal components, coloured by class.

    Works for images (flattened) and features; at most ``max_points`` random examples are drawn.
    """
    x = dataset.flat(split)
    _, y = dataset.arrays(split)
    rng = np.random.default_rng(seed)
    if len(x) > max_points:
        keep = rng.choice(len(x), size=max_points, replace=False)
        x, y = x[keep], y[keep]
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T
    explained = s[:2] ** 2 / max(float((s**2).sum()), np.finfo(np.float32).tiny)
    fig = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = fig.subplots()
    cmap = "tab10" if dataset.n_classes <= 10 else "viridis"
    points = ax.scatter(xy[:, 0], xy[:, 1], c=y, s=6, cmap=cmap, vmin=-0.5, vmax=dataset.n_classes - 0.5)
    ax.set_xlabel(f"PC 1 ({explained[0]:.0%} of variance)")
    if len(explained) > 1:
        ax.set_ylabel(f"PC 2 ({explained[1]:.0%} of variance)")
    ax.set_title(f"{dataset.name}: {len(x):,} {split} examples, first two principal components")
    bar = fig.colorbar(points, ax=ax, label="class")
    if dataset.n_classes <= 10:
        bar.set_ticks(range(dataset.n_classes), labels=list(dataset.class_names))
    return _save(fig, path)


def accuracy_curves(
    gammas,
    panels: dict[str, np.ndarray],
    ks,
    *,
    styles: dict[str, dict] | None = None,
    empirical: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    empirical_gammas=None,
    overlays: dict[str, list[dict]] | None = None,
    xlabel: str = "noise level γ (fraction of labels selected for corruption)",
    ylabel: str = "accuracy",
    ncols: int | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Accuracy against noise level, one panel per entry of ``panels`` and one line per K.

    Parameters
    ----------
    gammas : array_like, shape (G,)
        Noise levels (the x axis).
    panels : dict of str to array, shape (G, len(ks)) or dict of str to dict of str to such arrays
        Panel title -> accuracy table; or panel title -> {series name -> table} to overlay several
        series per K (drawn with ``styles[series name]``, e.g. a tie rule or analytic vs empirical); or
        panel title -> (its own noise levels, table or dict) when panels differ in their noise levels.
    ks : sequence of int
        The K of each column.
    styles : dict of str to dict, optional
        Line style keyword arguments per series name.
    empirical : dict of str to (mean, std), optional
        Panel title -> measured accuracy, mean and standard deviation over repeats, each of shape
        (G', len(ks)), drawn as markers with error bars in the colour of their K.
    empirical_gammas : array_like, optional
        The noise levels of ``empirical`` (default: ``gammas``).
    overlays : dict of str to list of dict, optional
        Panel title -> extra series, each a dict with ``x``, ``y``, optional ``yerr``, ``label`` and any
        matplotlib style (e.g. a measured DNN curve, a fitted curve); each label enters the legend once.
    """
    gammas = np.asarray(gammas, dtype=float)
    ks = list(ks)
    ncols = ncols or min(len(panels), 3)
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.3 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharey=True, squeeze=False)).ravel()
    colours = [f"C{i % 10}" for i in range(len(ks))]
    extra_handles: dict = {}
    for ax, (title, table) in zip(axes, panels.items(), strict=False):
        x = gammas
        if isinstance(table, tuple):  # (its own noise levels, its table)
            x, table = np.asarray(table[0], dtype=float), table[1]
        series = table if isinstance(table, dict) else {"": table}
        for name, values in series.items():
            values = np.asarray(values, dtype=float)
            if values.shape != (len(x), len(ks)):
                raise ValueError(f"panel {title!r} series {name!r}: shape {values.shape}, expected "
                                 f"({len(x)}, {len(ks)})")  # fmt: skip
            style = (styles or {}).get(name, {})
            for j in range(len(ks)):
                ax.plot(x, values[:, j], color=colours[j], **style)
        if empirical and title in empirical:
            mean, std = (np.asarray(a, dtype=float) for a in empirical[title])
            xs = gammas if empirical_gammas is None else np.asarray(empirical_gammas, dtype=float)
            for j in range(len(ks)):
                ax.errorbar(xs, mean[:, j], yerr=std[:, j], fmt="o", ms=3.5, color=colours[j], capsize=2)
        for extra in (overlays or {}).get(title, []):
            extra = dict(extra)
            x, y, yerr = extra.pop("x"), extra.pop("y"), extra.pop("yerr", None)
            extra_handles[extra.get("label")] = ax.errorbar(x, y, yerr=yerr, capsize=2, **extra)
        ax.set_title(title)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel(ylabel)
    for i in range(len(panels)):
        if i + ncols >= len(panels):  # the lowest panel of its column
            axes[i].set_xlabel(xlabel)
    # One compact legend: a colour per K, a line style per series, a marker for measurements.
    handles = [Line2D([], [], color=c, label=f"K = {k}") for c, k in zip(colours, ks, strict=True)]
    tables = [table[1] if isinstance(table, tuple) else table for table in panels.values()]
    names = {name for table in tables if isinstance(table, dict) for name in table if name}
    for name in sorted(
        names, key=lambda n: list((styles or {}).keys()).index(n) if n in (styles or {}) else 99
    ):
        handles.append(Line2D([], [], color="0.3", label=name, **(styles or {}).get(name, {})))
    if empirical:
        handles.append(Line2D([], [], color="0.3", marker="o", ls="none", label="empirical (mean ± sd)"))
    handles += [h for label, h in extra_handles.items() if label]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize="small")
    return _save(fig, path)


def corruption_matrix(
    P, *, title: str = "corruption matrix P", path: str | os.PathLike[str] | None = None
) -> Figure:
    """The corruption matrix as an image: rows are the true label, columns the noisy one (Fig. 4g)."""
    P = np.asarray(P, dtype=float)
    fig = Figure(figsize=(3.6, 3.2), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(P, cmap="gray", vmin=0, vmax=max(P.max(), 1e-12))
    ax.set_xlabel("noisy label")
    ax.set_ylabel("true label")
    ax.set_title(title)
    ax.set_xticks(range(P.shape[1]))
    ax.set_yticks(range(P.shape[0]))
    fig.colorbar(image, ax=ax, label="probability")
    return _save(fig, path)


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
    from matplotlib import colormaps
    from matplotlib.colors import to_rgba
    from matplotlib.patheffects import withStroke

    xy = np.asarray(points, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {xy.shape}")
    labels = [np.asarray(lab) for lab in labels]
    titles = list(titles)
    names = list(class_names)
    if not labels or len(titles) != len(labels):
        raise ValueError(
            f"need one title per labelling, got {len(titles)} titles and {len(labels)} labellings"
        )
    if marked is None:
        marked = [None] * len(labels)
    marked = list(marked)
    if len(marked) != len(labels):
        raise ValueError(f"marked must have one entry per panel ({len(labels)}), got {len(marked)}")
    for lab in labels:
        if lab.shape != (len(xy),) or lab.dtype.kind not in "iu":
            raise ValueError(
                f"each labelling must hold {len(xy)} integer labels, got {lab.dtype} {lab.shape}"
            )
        if lab.size and (lab.min() < 0 or lab.max() >= len(names)):
            raise ValueError(f"labels must lie in 0..{len(names) - 1}, found {lab.min()}..{lab.max()}")
    n_labels = len(names)
    if n_labels <= 10:
        colours = [f"C{i}" for i in range(n_labels)]
    else:
        colours = [colormaps["turbo"](i / (n_labels - 1)) for i in range(n_labels)]
    palette = np.array([to_rgba(c) for c in colours])
    ncols = len(labels)
    fig = Figure(figsize=(4.4 * ncols, 4.9), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
    for ax, lab, title, mark in zip(axes, labels, titles, marked, strict=True):
        mark = np.zeros(len(xy), dtype=bool) if mark is None else np.asarray(mark, dtype=bool)
        if mark.shape != (len(xy),):
            raise ValueError(f"marked entries must have shape ({len(xy)},), got {mark.shape}")
        plain = ~mark
        ax.scatter(xy[plain, 0], xy[plain, 1], c=palette[lab[plain]], s=point_size, lw=0, alpha=0.85)
        ax.scatter(
            xy[mark, 0], xy[mark, 1], c=palette[lab[mark]], s=1.6 * point_size, edgecolors="black", lw=0.6
        )
        if true_labels is not None:
            truth = np.asarray(true_labels)
            for c in np.unique(truth):
                cx, cy = np.median(xy[truth == c], axis=0)
                ax.text(
                    cx, cy, names[c], ha="center", va="center", fontsize=11, fontweight="bold",
                    path_effects=[withStroke(linewidth=3, foreground="white")],
                )  # fmt: skip
        ax.set_title(title, fontsize="medium")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f"{axis_label} 1", fontsize="small")
        ax.set_aspect("equal", adjustable="box")
    axes[0].set_ylabel(f"{axis_label} 2", fontsize="small")
    handles = [
        Line2D([], [], marker="o", ls="none", color=colours[c], ms=7, label=names[c]) for c in range(n_labels)
    ]
    if any(m is not None and np.any(m) for m in marked):
        handles.append(
            Line2D([], [], marker="o", ls="none", mfc="0.85", mec="black", mew=1.0, ms=7, label=marked_label)
        )
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(handles), 6 if n_labels > 10 else 11),
        fontsize="small",
        title="colour: the label in the (noisy) training set",
        title_fontsize="small",
        columnspacing=0.8,
        handletextpad=0.2,
    )
    if suptitle:
        fig.suptitle(suptitle)
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


__all__ += ["embedding_panels", "knn_softmax_agreement"]
