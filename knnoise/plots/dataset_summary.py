"""The data chapter's figures: example images, class balance, a principal-component scatter."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

import numpy as np
from matplotlib.figure import Figure

from knnoise.plots._common import save as _save

if TYPE_CHECKING:
    from knnoise.data import Dataset

__all__ = ["class_balance", "example_grid", "feature_scatter"]

Split = Literal["train", "test"]


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
