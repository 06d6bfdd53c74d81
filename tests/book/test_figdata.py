"""knnoise.book.figdata: what a matplotlib figure plots, read from its artists."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from knnoise import plots
from knnoise.book.figdata import COLUMNS, figure_data


def test_lines_points_and_legend_proxies() -> None:
    fig = Figure()
    left, right = fig.subplots(1, 2)
    left.plot([0, 1], [1.0, 0.5], color="C0")
    left.plot([0, 1], [0.9, 0.2], "o", color="C1", label="measured")
    left.set(title="uniform", xlabel="γ", ylabel="accuracy")
    right.set_visible(False)
    fig.legend(handles=[Line2D([], [], color="C0", label="K = 5")])
    table = figure_data(fig)
    assert list(table.columns) == list(COLUMNS)
    assert set(table.panel) == {"uniform"}, "a hidden panel plots nothing"
    assert table[["series", "mark", "x", "y", "legend"]].values.tolist() == [
        ["line 1", "line", 0, 1.0, "K = 5"],
        ["line 1", "line", 1, 0.5, "K = 5"],
        ["measured", "points", 0, 0.9, ""],
        ["measured", "points", 1, 0.2, ""],
    ]
    assert set(table.x_axis) == {"γ"} and set(table["style"].fillna("")) == {"-", ""}


def test_bars_error_bars_scatter_and_images() -> None:
    fig = Figure()
    bars, scatter, image = fig.subplots(1, 3)
    bars.bar([0, 1], [0.7, 0.3], label="train")
    bars.errorbar([0, 1], [0.7, 0.3], yerr=[[0.1, 0.1], [0.2, 0.05]], fmt="none")
    bars.set_xticks([0, 1], ["cat", "dog"])
    scatter.scatter([1.0, 2.0], [3.0, 4.0], c=["red", "blue"])
    image.imshow(np.arange(6).reshape(2, 3))
    table = figure_data(fig)
    got = table[table.mark == "bar"]
    expected = [["train", 0.0, 0.7, "cat"], ["train", 1.0, 0.3, "dog"]]
    assert got[["series", "x", "y", "x_tick"]].values.tolist() == expected
    seg = table[table.mark == "segment"]
    ends = seg[["x", "y", "x_end", "y_end"]].to_numpy(float)
    np.testing.assert_allclose(ends, [[0, 0.6, 0, 0.9], [1, 0.2, 1, 0.35]])
    pts = table[table.mark == "points"]
    assert pts[["x", "y", "colour"]].values.tolist() == [[1.0, 3.0, "#ff0000"], [2.0, 4.0, "#0000ff"]]
    img = table[table.mark == "image"]
    assert len(img) == 6 and img[["x", "y", "value"]].iloc[-1].tolist() == [2, 1, 5]
    assert set(img.panel) == {"row 1, column 3"}  # no title: its place in the grid


def test_a_book_figure_keeps_its_numbers() -> None:
    gammas = np.linspace(0, 1, 5)
    curves = {"uniform noise": np.column_stack([1 - 0.9 * gammas, 1 - 0.5 * gammas])}
    fig = plots.accuracy_curves(gammas, curves, [1, 5])
    table = figure_data(fig)
    for j, k in enumerate([1, 5]):
        rows = table[table.legend == f"K = {k}"]
        np.testing.assert_allclose(rows.x.to_numpy(float), gammas)
        np.testing.assert_allclose(rows.y.to_numpy(float), curves["uniform noise"][:, j])


def test_points_matplotlib_does_not_draw_are_left_out() -> None:
    fig = Figure()
    ax = fig.subplots()
    ax.plot([0.0, 0.5, 1.0], [1.0, np.nan, 0.5])
    ax.plot([0.0, 1.0], [np.nan, np.nan])  # a whole curve without values (nothing drawn)
    table = figure_data(fig)
    assert table[["x", "y"]].values.tolist() == [[0.0, 1.0], [1.0, 0.5]]


def test_levels_across_the_axes_are_in_data_coordinates() -> None:
    """axhline/axvline draw one coordinate in axes units (0 to 1): the table gives the axes' limits."""
    fig = Figure()
    ax = fig.subplots()
    ax.bar(range(10), np.full(10, 0.1))
    ax.axhline(0.1, color="k", linestyle="--", label="balanced (1/L)")
    ax.axvline(4.5, color="r", label="median")
    ax.set_yscale("log")  # a scale between the data and the axes, mapped back too
    left, right = ax.get_xlim()
    bottom, top = ax.get_ylim()
    table = figure_data(fig)
    level = table[table.series == "balanced (1/L)"]
    np.testing.assert_allclose(level[["x", "y"]].to_numpy(float), [[left, 0.1], [right, 0.1]])
    assert left < 0 and right > 9, "the bars' axis: around 0..9, not the axes' 0..1"
    median = table[table.series == "median"]
    np.testing.assert_allclose(median[["x", "y"]].to_numpy(float), [[4.5, bottom], [4.5, top]])
