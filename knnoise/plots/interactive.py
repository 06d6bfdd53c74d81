"""Interactive figures (Vega-Lite, built with Altair): the explorer and Figs. 3 and 4 with hover values.

The charts are precomputed: every number is in the chart's data when the page is built, and the controls
are Vega-Lite parameters bound to sliders and drop-downs that filter it, so the page needs no kernel.
:func:`html` renders a chart into a ``<div>`` and a short script calling ``vegaEmbed``, which the book
serves once from its own files (``book/_ext/vega_offline.py`` copies ``vl-convert-python``'s bundle of
Vega, Vega-Lite and vega-embed into ``_static/``). The static matplotlib figure stays beside each chart,
for print and for readers without JavaScript.
"""

from __future__ import annotations

import html as _html
import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import altair as alt
import numpy as np
import pandas as pd

from knnoise.plots._interactive_figs import HEIGHT, WIDTH, fig3_chart, fig3_frame, fig4_chart, fig4_frame

if TYPE_CHECKING:
    import IPython.display

__all__ = [
    "MARKER_CLASS",
    "explorer_chart",
    "explorer_records",
    "fig3_chart",
    "fig3_frame",
    "fig4_chart",
    "fig4_frame",
    "html",
    "spec",
]

MARKER_CLASS = "knnoise-vega"  # the <div> class; the book's extension adds the script to pages using it
SCALE = 1000  # the explorer stores accuracies as integers in 0..SCALE (three decimals)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_GAMMA = "γ (fraction of training labels selected for corruption)"
_SOURCES = {"ideal": "ideal neighbourhoods", "network": "the network's softmax", "knn": "K-NN neighbourhoods"}


# ----------------------------------------------------------------------------------------------------
# The explorer

GRID_COLUMNS = ("source", "confidence", "noise", "ties", "K", "gamma", "accuracy")
LIMIT_COLUMNS = ("source", "confidence", "noise", "gamma", "accuracy")
THRESHOLD_COLUMNS = ("noise", "gamma", "label")


def _check_frame(name: str, frame: Any, columns: Sequence[str]) -> pd.DataFrame:
    """``frame`` when it is a non-empty DataFrame with ``columns`` whose sources are known; else an error."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"{name} must be a pandas DataFrame with columns {list(columns)}, got {type(frame).__name__}"
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} must have the columns {list(columns)}; it lacks {missing}")
    if frame.empty:
        raise ValueError(f"{name} must have at least one row, got an empty frame")
    if "source" in columns:
        unknown = sorted(set(frame.source) - set(_SOURCES), key=str)
        if unknown:
            raise ValueError(f"{name}: source must be one of {list(_SOURCES)}, got {unknown}")
    return frame


def explorer_records(grid: pd.DataFrame, gammas: Sequence[float]) -> list[dict[str, Any]]:
    """The explorer's grid as compact records, one per curve: ``s``, ``c``, ``n``, ``t``, ``k``, ``a``.

    Parameters
    ----------
    grid : pandas.DataFrame
        :func:`knnoise.experiments.explorer.grid`'s tidy frame (:data:`GRID_COLUMNS`).
    gammas : sequence of float, shape (G,)
        The noise levels of every curve, in order.

    Returns
    -------
    list of dict
        One per curve: source ``s``, confidence ``c`` (None but for ideal sources), noise ``n``, tie rule
        ``t``, ``k`` and ``a``, the accuracies at ``gammas`` as integers in ``0..SCALE``; the chart
        flattens ``a`` back into points.

    Raises
    ------
    TypeError, ValueError
        ``grid`` is not such a frame, or a curve has an accuracy that is NaN or lacks one of ``gammas``.
    """
    _check_frame("grid", grid, GRID_COLUMNS)
    keys = ["source", "confidence", "noise", "ties", "K"]
    gammas = np.asarray(gammas, dtype=float)
    records = []
    for (source, conf, noise, ties, k), curve in grid.groupby(keys, sort=False, dropna=False):
        if curve.accuracy.isna().any():
            raise ValueError(f"grid: the curve {source, conf, noise, ties, k} has NaN accuracies")
        curve = curve.set_index("gamma").accuracy.reindex(gammas)
        if curve.isna().any():
            raise ValueError(f"grid: the curve {source, conf, noise, ties, k} misses noise levels")
        a = np.rint(np.clip(curve.to_numpy(), 0.0, 1.0) * SCALE).astype(int).tolist()
        c = None if pd.isna(conf) else round(float(conf), 6)
        records.append({"s": source, "c": c, "n": noise, "t": ties, "k": int(k), "a": a})
    return records


def _even_step(values: Sequence[float]) -> float | None:
    diffs = np.diff(np.sort(np.asarray(values, dtype=float)))
    return float(diffs[0]) if len(diffs) and np.allclose(diffs, diffs[0]) else None


def _controls(grid: pd.DataFrame, names: Mapping[str, str]) -> dict[str, alt.Parameter]:
    """The explorer's parameters, each bound to an input (their names are the page's input names).

    The confidence control only when the grid has an ideal source (with its confidences).
    """
    ks = sorted(grid.K.unique())
    sources = [s for s in _SOURCES if s in set(grid.source)]
    default_k = min(ks, key=lambda k: abs(k - 25))
    controls = {
        "source": alt.param(name="clean", value=sources[0], bind=alt.binding_select(
            options=sources, labels=[names.get(s, _SOURCES[s]) for s in sources],
            name="clean distribution ")),
        "noise": alt.param(name="noise", value="uniform", bind=alt.binding_select(
            options=sorted(set(grid.noise), key=list(grid.noise.unique()).index), name="noise model ")),
        "ties": alt.param(name="ties", value="strict", bind=alt.binding_select(
            options=sorted(set(grid.ties), key=list(grid.ties.unique()).index), name="tie rule ")),
        "k": alt.param(name="K", value=int(default_k), bind=alt.binding_range(
            min=int(ks[0]), max=int(ks[-1]), step=1, name="K ")),
    }  # fmt: skip
    confs = sorted(float(c) for c in grid.confidence[grid.source == "ideal"].dropna().unique())
    if confs:
        step = _even_step(confs)
        conf_bind = (
            alt.binding_range(min=confs[0], max=confs[-1], step=step, name="ideal: confidence c ")
            if step is not None and len(confs) > 1
            else alt.binding_select(options=confs, name="ideal: confidence c ")
        )
        controls["confidence"] = alt.param(name="confidence", value=max(confs), bind=conf_bind)
    order = ("source", "confidence", "noise", "ties", "k")  # the inputs' order under the chart
    return {key: controls[key] for key in order if key in controls}


_SUBTITLE = "solid: Eq. 1 at the chosen K; dashed: the large-K limit; red: the noise level the paper names"
_PICK_SOURCE = "datum.s == clean && (clean != 'ideal' || abs(datum.c - confidence) < 1e-6)"


def explorer_chart(
    grid: pd.DataFrame,
    limit: pd.DataFrame,
    thresholds: pd.DataFrame,
    gammas: Sequence[float],
    *,
    names: Mapping[str, str] | None = None,
    title: str = "Theorem 1: expected accuracy against the noise level",
) -> alt.LayerChart:
    """Eq. 1-3's accuracy against γ, with controls for K, noise model, tie rule and clean distribution.

    Parameters
    ----------
    grid : pandas.DataFrame
        :func:`knnoise.experiments.explorer.grid`: source, confidence, noise, ties, K, gamma, accuracy.
    limit : pandas.DataFrame
        :func:`knnoise.experiments.explorer.limit`: the large-K limit per source and noise model (dashed).
    thresholds : pandas.DataFrame
        :func:`knnoise.experiments.explorer.thresholds`: a vertical rule per noise model.
    gammas : sequence of float, shape (G,)
        The noise levels of every curve, evenly spaced from 0.
    names : mapping, optional
        Source code (``ideal``, ``network``, ``knn``) -> its label in the drop-down.
    title : str
        The chart's title.

    Returns
    -------
    altair.LayerChart
        The chart; :func:`html` puts it on a page.

    Raises
    ------
    TypeError, ValueError
        A frame that is not a non-empty DataFrame with its columns (:data:`GRID_COLUMNS`,
        :data:`LIMIT_COLUMNS`, :data:`THRESHOLD_COLUMNS`), an unknown source, or ``gammas`` not evenly
        spaced from 0.
    """
    _check_frame("grid", grid, GRID_COLUMNS)
    _check_frame("limit", limit, LIMIT_COLUMNS)
    _check_frame("thresholds", thresholds, THRESHOLD_COLUMNS)
    gammas = np.asarray(gammas, dtype=float)
    step = _even_step(gammas)
    if step is None or gammas[0] != 0.0:
        raise ValueError(f"gammas must be evenly spaced from 0, got {gammas.tolist()[:5]}...")
    controls = _controls(grid, names or {})
    pick = _PICK_SOURCE if "confidence" in controls else "datum.s == clean"
    x = alt.X("gamma:Q", title=_GAMMA, scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("accuracy:Q", title="expected accuracy (Eq. 1)", scale=alt.Scale(domain=[0, 1]))
    unpack = {"gamma": f"(datum.i - 1) * {step!r}", "accuracy": f"datum.a / {SCALE}"}

    def points(data: list[dict[str, Any]], expr: str) -> alt.Chart:
        chart = alt.Chart(alt.Data(values=data)).transform_filter(expr).transform_flatten(["a"])
        return chart.transform_window(i="row_number()").transform_calculate(**unpack)

    curves = explorer_records(grid, gammas)
    curve = points(curves, f"{pick} && datum.n == noise && datum.t == ties && datum.k == K")
    line = curve.mark_line(point=alt.OverlayMarkDef(size=18), color="#1f77b4").encode(
        x, y, tooltip=[alt.Tooltip("gamma:Q", title="γ", format=".3f"),
                       alt.Tooltip("accuracy:Q", title="accuracy", format=".3f"),
                       alt.Tooltip("k:Q", title="K")]
    )  # fmt: skip
    lim = explorer_records(limit.assign(ties="strict", K=0), gammas)
    large = points(lim, f"{pick} && datum.n == noise").mark_line(
        color="#7f7f7f", strokeDash=[5, 4]
    ).encode(x, y, tooltip=[alt.Tooltip("gamma:Q", title="γ", format=".3f"),
                            alt.Tooltip("accuracy:Q", title="large-K limit", format=".3f")])  # fmt: skip
    marks = alt.Chart(alt.Data(values=thresholds.to_dict("records"))).transform_filter("datum.noise == noise")
    rule = marks.mark_rule(color="#d62728", strokeDash=[2, 2]).encode(x="gamma:Q", tooltip=["label:N"])
    text = marks.mark_text(align="right", dx=-4, color="#d62728").encode(
        x="gamma:Q", y=alt.value(12), text="label:N"
    )
    return (
        alt.layer(line, large, rule, text)
        .add_params(*controls.values())
        .properties(width=WIDTH, height=HEIGHT, title=alt.TitleParams(title, subtitle=_SUBTITLE))
    )


# ----------------------------------------------------------------------------------------------------
# On the page


def spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite specification, data inline.

    Parameters
    ----------
    chart : altair chart

    Returns
    -------
    dict
        The specification as a plain, JSON-ready dict (``chart.to_dict()``).
    """
    return chart.to_dict()


# Waits for vegaEmbed (the book's <head> loads it; a live notebook has none and says so), then renders.
_SCRIPT = (
    "(function(){var id=@ID@,el=document.getElementById(id),tries=0;"
    "function draw(){if(!window.vegaEmbed){if(tries++<400){setTimeout(draw,50);}else{el.textContent="
    "'The interactive chart needs the built book (its Vega scripts); the figure above shows the same.';}"
    "return;}window.vegaEmbed(el,@SPEC@,{actions:false,renderer:'svg'}).then(function(r){"
    "(window.knnoiseCharts=window.knnoiseCharts||{})[@NAME@]=r;}).catch(function(e){el.textContent="
    "'chart error: '+e;});}draw();})();"
)


def html(chart: alt.TopLevelMixin, name: str) -> IPython.display.HTML:
    """The chart as an HTML output: a ``<div>`` and a script that renders it with ``vegaEmbed``.

    ``vegaEmbed`` comes from the book's own ``_static/`` (added to every page showing such a ``<div>``);
    where it is missing (a live notebook), the ``<div>`` says so.

    Parameters
    ----------
    chart : altair chart
        The chart, its data inline (:func:`spec`).
    name : str
        A page-unique id (a letter, then letters, digits, ``-``, ``_``): the ``<div>`` is
        ``knnoise-chart-<name>`` and the embed result is kept in ``window.knnoiseCharts[name]`` (its
        ``view`` holds the data, for the browser test).

    Returns
    -------
    IPython.display.HTML
        The ``<div>`` and its script, for the cell's output.

    Raises
    ------
    ValueError
        ``name`` is not such an id.
    """
    from IPython.display import HTML

    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name must be an id of letters, digits, '-' and '_', got {name!r}")
    body = json.dumps(spec(chart), separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    div = f"knnoise-chart-{name}"
    script = (
        _SCRIPT.replace("@ID@", json.dumps(div)).replace("@NAME@", json.dumps(name)).replace("@SPEC@", body)
    )
    return HTML(f'<div id="{_html.escape(div)}" class="{MARKER_CLASS}"></div>\n<script>{script}</script>')
