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
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

__all__ = ["MARKER_CLASS", "explorer_chart", "explorer_records", "fig3_chart", "fig4_chart", "html"]

MARKER_CLASS = "knnoise-vega"  # the <div> class; the book's extension adds the script to pages using it
SCALE = 1000  # the explorer stores accuracies as integers in 0..SCALE (three decimals)
WIDTH, HEIGHT = 560, 320
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_GAMMA = "γ (fraction of training labels selected for corruption)"
_GAMMA_SHORT = "γ (fraction selected for corruption)"
# Figs. 3 and 4: the legend under the panels, so that two panels and the legend fit the book's text width
_LEGEND = {"orient": "bottom", "direction": "horizontal", "columns": 4, "labelLimit": 320}
_SOURCES = {"ideal": "ideal neighbourhoods", "network": "the network's softmax", "knn": "K-NN neighbourhoods"}


# ----------------------------------------------------------------------------------------------------
# The explorer


def explorer_records(grid: pd.DataFrame, gammas: Sequence[float]) -> list[dict[str, Any]]:
    """The explorer's grid as compact records, one per curve: ``s``, ``c``, ``n``, ``t``, ``k``, ``a``.

    ``grid``: :func:`knnoise.experiments.explorer.grid`'s tidy frame. ``a`` holds the curve's accuracies
    at ``gammas`` (in order) as integers in ``0..SCALE``; the chart flattens it back into points.
    """
    keys = ["source", "confidence", "noise", "ties", "K"]
    gammas = np.asarray(gammas, dtype=float)
    records = []
    for (source, conf, noise, ties, k), curve in grid.groupby(keys, sort=False, dropna=False):
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
    """The explorer's parameters, each bound to an input (their names are the page's input names)."""
    ks = sorted(grid.K.unique())
    confs = sorted(float(c) for c in grid.confidence.dropna().unique())
    sources = [s for s in _SOURCES if s in set(grid.source)]
    step = _even_step(confs)
    conf_bind = (
        alt.binding_range(min=confs[0], max=confs[-1], step=step, name="ideal: confidence c ")
        if step is not None and len(confs) > 1
        else alt.binding_select(options=confs, name="ideal: confidence c ")
    )
    default_k = min(ks, key=lambda k: abs(k - 25))
    return {
        "source": alt.param(name="clean", value=sources[0], bind=alt.binding_select(
            options=sources, labels=[names.get(s, _SOURCES[s]) for s in sources],
            name="clean distribution ")),
        "confidence": alt.param(name="confidence", value=max(confs), bind=conf_bind),
        "noise": alt.param(name="noise", value="uniform", bind=alt.binding_select(
            options=sorted(set(grid.noise), key=list(grid.noise.unique()).index), name="noise model ")),
        "ties": alt.param(name="ties", value="strict", bind=alt.binding_select(
            options=sorted(set(grid.ties), key=list(grid.ties.unique()).index), name="tie rule ")),
        "k": alt.param(name="K", value=int(default_k), bind=alt.binding_range(
            min=int(ks[0]), max=int(ks[-1]), step=1, name="K ")),
    }  # fmt: skip


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
    """
    gammas = np.asarray(gammas, dtype=float)
    step = _even_step(gammas)
    if step is None or gammas[0] != 0.0:
        raise ValueError(f"gammas must be evenly spaced from 0, got {gammas.tolist()[:5]}...")
    controls = _controls(grid, names or {})
    x = alt.X("gamma:Q", title=_GAMMA, scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("accuracy:Q", title="expected accuracy (Eq. 1)", scale=alt.Scale(domain=[0, 1]))
    unpack = {"gamma": f"(datum.i - 1) * {step!r}", "accuracy": f"datum.a / {SCALE}"}

    def points(data: list[dict[str, Any]], expr: str) -> alt.Chart:
        chart = alt.Chart(alt.Data(values=data)).transform_filter(expr).transform_flatten(["a"])
        return chart.transform_window(i="row_number()").transform_calculate(**unpack)

    curves = explorer_records(grid, gammas)
    curve = points(curves, f"{_PICK_SOURCE} && datum.n == noise && datum.t == ties && datum.k == K")
    line = curve.mark_line(point=alt.OverlayMarkDef(size=18), color="#1f77b4").encode(
        x, y, tooltip=[alt.Tooltip("gamma:Q", title="γ", format=".3f"),
                       alt.Tooltip("accuracy:Q", title="accuracy", format=".3f"),
                       alt.Tooltip("k:Q", title="K")]
    )  # fmt: skip
    lim = explorer_records(limit.assign(ties="strict", K=0), gammas)
    large = points(lim, f"{_PICK_SOURCE} && datum.n == noise").mark_line(
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
# Figs. 3 and 4


def _tidy(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    return frame.astype({"gamma": float, "accuracy": float})


def fig3_frame(panels: Mapping[str, tuple], ks: Sequence[int]) -> pd.DataFrame:
    """Fig. 3's panels (as :func:`knnoise.plots.knn_vs_analytic` takes them) as one tidy frame.

    Columns: ``panel``, ``kind`` (analytic or measured), ``curve``, ``K``, ``gamma``, ``accuracy``,
    ``sd`` (0 for analytic curves).
    """
    rows = []
    for panel, (gammas, curves, (mean, sd)) in panels.items():
        for name, table in curves.items():
            for j, k in enumerate(ks):
                rows += [{"panel": panel, "kind": "analytic", "curve": name, "K": int(k), "gamma": g,
                          "accuracy": table[i, j], "sd": 0.0} for i, g in enumerate(gammas)]  # fmt: skip
        for j, k in enumerate(ks):
            rows += [{"panel": panel, "kind": "measured", "curve": "measured K-NN", "K": int(k), "gamma": g,
                      "accuracy": mean[i, j], "sd": sd[i, j]} for i, g in enumerate(gammas)]  # fmt: skip
    return _tidy(rows)


def _tooltip(*extra: alt.Tooltip) -> list[alt.Tooltip]:
    return [alt.Tooltip("panel:N", title="noise"), *extra,
            alt.Tooltip("gamma:Q", title="γ", format=".3f"), alt.Tooltip("accuracy:Q", format=".3f"),
            alt.Tooltip("sd:Q", title="sd", format=".3f")]  # fmt: skip


def fig3_chart(panels: Mapping[str, tuple], ks: Sequence[int], *, title: str = "") -> alt.FacetChart:
    """Fig. 3 with hover values; click a K in the legend to show only its series (shift-click: several)."""
    frame = fig3_frame(panels, ks)
    pick = alt.selection_point(name="fig3_k", fields=["K"], bind="legend")
    colour = alt.Color("K:O", scale=alt.Scale(scheme="viridis"), title="K")
    shown = alt.condition(pick, alt.value(1.0), alt.value(0.08))
    x = alt.X("gamma:Q", title=_GAMMA_SHORT, scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("accuracy:Q", title="accuracy", scale=alt.Scale(domain=[0, 1]))
    base = alt.Chart().encode(x, y, colour, opacity=shown)
    analytic = (
        base.transform_filter("datum.kind == 'analytic'")
        .mark_line()
        .encode(
            strokeDash=alt.StrokeDash("curve:N", title="curve"),
            tooltip=_tooltip(alt.Tooltip("curve:N"), "K:O"),
        )
    )
    measured = base.transform_filter("datum.kind == 'measured'")
    dots = measured.mark_point(filled=True, size=45).encode(tooltip=_tooltip(alt.Tooltip("curve:N"), "K:O"))
    bars = (
        measured.mark_rule()
        .encode(y="low:Q", y2="high:Q")
        .transform_calculate(low="datum.accuracy - datum.sd", high="datum.accuracy + datum.sd")
    )
    layers = alt.layer(analytic, bars, dots, data=frame).add_params(pick)
    layers = layers.properties(width=WIDTH // 2 - 20, height=HEIGHT - 40)
    column = alt.Column("panel:N", title=None, sort=list(panels))
    return layers.facet(column=column).properties(title=title).configure_legend(**_LEGEND)


def fig4_frame(panels: Mapping[str, Mapping[str, Any]], ks: Sequence[int]) -> pd.DataFrame:
    """Fig. 4's panels (as :func:`knnoise.plots.dnn_vs_analytic` takes them) as one tidy frame.

    Columns: ``panel``, ``kind`` (analytic, fitted, prediction, measured, paper scale), ``series``,
    ``gamma``, ``accuracy``, ``sd``.
    """
    rows: list[dict[str, Any]] = []

    def add(panel: str, kind: str, series: str, gammas, acc, sd=None) -> None:
        sd = np.zeros(len(gammas)) if sd is None else np.nan_to_num(np.asarray(sd, dtype=float))
        rows.extend({"panel": panel, "kind": kind, "series": series, "gamma": g, "accuracy": a, "sd": s}
                    for g, a, s in zip(gammas, acc, sd, strict=True))  # fmt: skip

    for panel, entry in panels.items():
        if "curves" in entry:
            for j, k in enumerate(ks):
                add(panel, "analytic", f"K = {k}", entry["gammas"], entry["curves"][:, j])
            add(panel, "fitted", "effective K (fitted)", entry["gammas"], entry["fitted"])
        else:  # locally concentrated noise: the paper's prediction 1 - gamma
            grid = np.linspace(0.0, 1.0, 21)
            add(panel, "prediction", "1 − γ (the paper)", grid, 1.0 - grid)
        gammas, acc, sd = (np.asarray(v, dtype=float) for v in entry["measured"])
        add(panel, "measured", "networks (this run)", gammas, acc, sd)
        for label, g, a, s in entry.get("others", []):
            add(panel, "paper scale", f"paper scale: {label}", np.asarray(g), np.asarray(a), np.asarray(s))
    return _tidy(rows)


def fig4_chart(
    panels: Mapping[str, Mapping[str, Any]], ks: Sequence[int], *, title: str = ""
) -> alt.FacetChart:
    """Fig. 4 with hover values; click a series in the legend to show only it (shift-click: several)."""
    frame = fig4_frame(panels, ks)
    order = list(dict.fromkeys(frame.series))
    pick = alt.selection_point(name="fig4_series", fields=["series"], bind="legend")
    colour = alt.Color(
        "series:N", sort=order, title="series", scale=alt.Scale(domain=order, range=_fig4_colours(order))
    )
    shown = alt.condition(pick, alt.value(1.0), alt.value(0.08))
    x = alt.X("gamma:Q", title=_GAMMA_SHORT, scale=alt.Scale(domain=[0, 1]))
    y = alt.Y("accuracy:Q", title="clean test accuracy", scale=alt.Scale(domain=[0, 1]))
    base = alt.Chart().encode(x, y, colour, opacity=shown)
    tip = _tooltip(alt.Tooltip("series:N"))
    lines = base.transform_filter("datum.kind != 'measured' && datum.kind != 'paper scale'")
    lines = lines.mark_line().encode(tooltip=tip)
    points = base.transform_filter("datum.kind == 'measured' || datum.kind == 'paper scale'")
    dots = points.mark_point(filled=True, size=55).encode(tooltip=tip)
    bars = (
        points.mark_rule()
        .encode(y="low:Q", y2="high:Q")
        .transform_calculate(low="datum.accuracy - datum.sd", high="datum.accuracy + datum.sd")
    )
    layers = alt.layer(lines, bars, dots, data=frame).add_params(pick)
    layers = layers.properties(width=WIDTH // 2 - 20, height=HEIGHT - 80)
    facet = alt.Facet("panel:N", title=None, sort=list(panels))
    return layers.facet(facet=facet, columns=2).properties(title=title).configure_legend(**_LEGEND)


def _fig4_colours(series: Sequence[str]) -> list[str]:
    """The static figure's colours: K from viridis, the fitted K red, the networks black."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    fixed = {
        "effective K (fitted)": "#d62728",
        "networks (this run)": "#000000",
        "1 − γ (the paper)": "#7f7f7f",
    }
    n_k = sum(s.startswith("K = ") for s in series)
    viridis = iter(to_hex(colormaps["viridis"](x)) for x in np.linspace(0.0, 0.85, max(n_k, 1)))
    others = iter(["#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"] * 4)
    return [fixed.get(s) or next(viridis if s.startswith("K = ") else others) for s in series]


# ----------------------------------------------------------------------------------------------------
# On the page


def spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite specification, data inline (a plain dict, JSON-ready)."""
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


def html(chart: alt.TopLevelMixin, name: str):
    """The chart as an HTML output: a ``<div>`` and a script that renders it with ``vegaEmbed``.

    ``vegaEmbed`` comes from the book's own ``_static/`` (added to every page showing such a ``<div>``);
    where it is missing (a live notebook), the ``<div>`` says so. The embed result is kept in
    ``window.knnoiseCharts[name]`` (its ``view`` holds the data, for the browser test). ``name``: a
    page-unique id (letters, digits, ``-``, ``_``).
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
