"""What a matplotlib figure plots, as one tidy table: the data behind a figure of the book.

:func:`figure_data` reads the figure's own artists, so the table is exactly what is drawn, whatever
function drew it: one row per plotted value. :func:`knnoise.book.page.glue_figure` writes it beside the
figure (``book/executed/results/<chapter>/<figure>.csv``) unless the chapter passes a table of its own.

Columns: ``panel`` (the axes' title, else its place in the grid), ``x_axis``/``y_axis`` (the axes'
labels), ``series`` (the artist's legend label, else its kind and number), ``mark`` (``line``,
``points``, ``bar``, ``segment`` — an error bar or a level —, ``area``, ``image``), ``x``, ``y``,
``x_end``/``y_end`` (a segment's other end), ``value`` (an image's pixel, at column ``x`` and row ``y``),
``colour`` (hex), ``style`` (a line's style: ``-``, ``--``, ``:``, ``-.``), ``legend`` (the texts of the
legend entries drawn in that colour: legends often map colours to a meaning, such as K) and ``x_tick``
(the tick label at ``x``, when it is a name rather than a number).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["COLUMNS", "figure_data"]

COLUMNS = (
    "panel", "x_axis", "y_axis", "series", "mark", "x", "y", "x_end", "y_end", "value", "colour", "style",
    "legend", "x_tick",
)  # fmt: skip


def _hex(colour: Any) -> str:
    from matplotlib.colors import to_hex

    try:
        return to_hex(colour, keep_alpha=False)
    except (ValueError, TypeError):
        return ""


def _panel(ax: Any, index: int) -> str:
    title = ax.get_title() or ax.get_title(loc="left") or ax.get_title(loc="right")
    if title:
        return title
    spec = ax.get_subplotspec()
    if spec is None:
        return f"panel {index + 1}"
    return f"row {spec.rowspan.start + 1}, column {spec.colspan.start + 1}"


def _series(artist: Any, kind: str, number: int) -> str:
    label = str(artist.get_label() or "")
    return label if label and not label.startswith("_") else f"{kind} {number}"


def _colours(collection: Any, n: int) -> list[str]:
    faces = collection.get_facecolors()
    if len(faces) == 0:
        faces = collection.get_edgecolors()
    if len(faces) == 0:
        return [""] * n
    return [_hex(faces[i % len(faces)]) for i in range(n)]


def _drawn(*values: Any) -> bool:
    """Whether a point is drawn: matplotlib leaves out NaN and infinite coordinates (names are drawn)."""
    for value in values:
        try:
            if not np.isfinite(float(value)):
                return False
        except (TypeError, ValueError):
            continue
    return True


def _line_points(ax: Any, line: Any) -> tuple[np.ndarray, np.ndarray]:
    """A line's points in data coordinates: a level drawn across the axes (``axhline``, ``axvline``) has
    one coordinate in axes units (0 to 1), mapped here to the axes' limits."""
    transform = line.get_transform()
    if transform is ax.transData or transform == ax.transData:
        return np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    xy = np.column_stack([line.get_xdata(orig=False), line.get_ydata(orig=False)]).astype(float)
    x, y = (transform - ax.transData).transform(xy).T
    return x, y


def _lines(ax: Any, skip: set[int]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate((ln for ln in ax.get_lines() if id(ln) not in skip), start=1):
        x, y = _line_points(ax, line)
        mark = "line" if line.get_linestyle() not in ("None", "none", "", " ") else "points"
        series, colour = _series(line, mark, number), _hex(line.get_color())
        style = line.get_linestyle() if mark == "line" else ""
        for xi, yi in zip(x.ravel(), y.ravel(), strict=False):
            if _drawn(xi, yi):
                yield {"series": series, "mark": mark, "x": xi, "y": yi, "colour": colour, "style": style}


def _bars(ax: Any) -> Iterator[dict[str, Any]]:
    from matplotlib.container import BarContainer

    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    for number, container in enumerate(bars, start=1):
        series = _series(container, "bars", number)
        horizontal = getattr(container, "orientation", "vertical") == "horizontal"
        for patch in container.patches:
            centre_x, centre_y = patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height() / 2
            x, y = (patch.get_width(), centre_y) if horizontal else (centre_x, patch.get_height())
            yield {"series": series, "mark": "bar", "x": x, "y": y, "colour": _hex(patch.get_facecolor())}


def _collections(ax: Any) -> Iterator[dict[str, Any]]:
    from matplotlib.collections import LineCollection, PathCollection, PolyCollection

    for number, coll in enumerate(ax.collections, start=1):
        if isinstance(coll, PathCollection):  # a scatter
            offsets = np.asarray(coll.get_offsets())
            series = _series(coll, "points", number)
            for (x, y), colour in zip(offsets, _colours(coll, len(offsets)), strict=True):
                if _drawn(x, y):
                    yield {"series": series, "mark": "points", "x": x, "y": y, "colour": colour}
        elif isinstance(coll, LineCollection):  # error bars, hlines/vlines
            segments = coll.get_segments()
            series = _series(coll, "segments", number)
            for seg, colour in zip(segments, _colours(coll, len(segments)), strict=True):
                if len(seg) == 0:  # an error bar of a missing value
                    continue
                (x, y), (x_end, y_end) = np.asarray(seg)[0], np.asarray(seg)[-1]
                yield {"series": series, "mark": "segment", "x": x, "y": y, "x_end": x_end, "y_end": y_end,
                       "colour": colour}  # fmt: skip
        elif isinstance(coll, PolyCollection):  # fill_between: the outline of the area
            series = _series(coll, "area", number)
            colours = _colours(coll, len(coll.get_paths()))
            for path, colour in zip(coll.get_paths(), colours, strict=True):
                for x, y in path.vertices:
                    yield {"series": series, "mark": "area", "x": x, "y": y, "colour": colour}


def _images(ax: Any) -> Iterator[dict[str, Any]]:
    for number, image in enumerate(ax.get_images(), start=1):
        array = np.ma.getdata(image.get_array())
        series = _series(image, "image", number)
        if array.ndim == 2:
            for (row, col), value in np.ndenumerate(array):
                yield {"series": series, "mark": "image", "x": col, "y": row, "value": value}
        else:  # RGB(A): the colour of each pixel
            scale = 255.0 if array.dtype.kind in "ui" else 1.0
            for row, col in np.ndindex(array.shape[:2]):
                yield {"series": series, "mark": "image", "x": col, "y": row,
                       "colour": _hex(np.clip(array[row, col, :3] / scale, 0, 1))}  # fmt: skip


def _errorbar_caps(ax: Any) -> set[int]:
    from matplotlib.container import ErrorbarContainer

    caps = set()
    for container in ax.containers:
        if isinstance(container, ErrorbarContainer):
            caps.update(id(cap) for cap in container.lines[1])
    return caps


def _is_number(text: str) -> bool:
    if text.startswith("+"):  # "+1": a position named from another (Fig. 2's label + 1)
        return False
    try:
        float(text.replace("\u2212", "-"))
    except ValueError:
        return False
    return True


def _ticks(ax: Any) -> dict[float, str]:
    """Tick position -> its label, for labels that name something (not numbers)."""
    try:
        pairs = zip(ax.get_xticks(), ax.get_xticklabels(), strict=True)
        return {round(float(loc), 9): lab.get_text() for loc, lab in pairs if not _is_number(lab.get_text())}
    except (TypeError, ValueError):
        return {}


def _handle_colour(handle: Any) -> str:
    for getter in ("get_color", "get_facecolor", "get_edgecolor"):
        if hasattr(handle, getter):
            colour = getattr(handle, getter)()
            if isinstance(colour, np.ndarray) and colour.ndim == 2:  # a collection: its first colour
                colour = colour[0] if len(colour) else None
            return "" if colour is None else _hex(colour)
    return ""


def _legend_names(fig: Any) -> dict[str, str]:
    """Colour (hex) -> the texts of the figure's legend entries drawn in it."""
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
    names: dict[str, list[str]] = {}
    for legend in filter(None, legends):
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=False):
            colour = _handle_colour(handle) if handle is not None else ""
            if colour and text.get_text() not in names.setdefault(colour, []):
                names[colour].append(text.get_text())
    return {colour: "; ".join(texts) for colour, texts in names.items()}


def figure_data(fig: Any) -> pd.DataFrame:
    """What ``fig`` plots: one row per drawn value (a line's point, a bar, a segment, a pixel).

    Parameters
    ----------
    fig : matplotlib.figure.Figure

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`; hidden axes and text are left out.
    """
    rows = []
    legend = _legend_names(fig)
    for index, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        common = {"panel": _panel(ax, index), "x_axis": ax.get_xlabel(), "y_axis": ax.get_ylabel()}
        ticks = _ticks(ax)
        drawn = [*_lines(ax, _errorbar_caps(ax)), *_bars(ax), *_collections(ax), *_images(ax)]
        for row in drawn:
            numeric = isinstance(row["x"], (int, float, np.number))
            tick = ticks.get(round(float(row["x"]), 9), "") if numeric else ""
            rows.append({**common, **row, "legend": legend.get(row.get("colour", ""), ""), "x_tick": tick})
    return pd.DataFrame(rows, columns=list(COLUMNS))
