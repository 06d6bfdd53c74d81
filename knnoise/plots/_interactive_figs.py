"""Figs. 3 and 4 as Vega-Lite charts (Altair) with hover values and series toggled from the legend.

Part of :mod:`knnoise.plots.interactive`, which re-exports :func:`fig3_frame`, :func:`fig3_chart`,
:func:`fig4_frame` and :func:`fig4_chart`; the frames are also the figures' tidy data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

__all__ = ["HEIGHT", "WIDTH", "fig3_chart", "fig3_frame", "fig4_chart", "fig4_frame"]

WIDTH, HEIGHT = 560, 320
_GAMMA_SHORT = "γ (fraction selected for corruption)"
# the legend under the panels, so that two panels and the legend fit the book's text width
_LEGEND = {"orient": "bottom", "direction": "horizontal", "columns": 4, "labelLimit": 320}


def _tidy(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    return frame.astype({"gamma": float, "accuracy": float})


def fig3_frame(panels: Mapping[str, tuple], ks: Sequence[int]) -> pd.DataFrame:
    """Fig. 3's panels (as :func:`knnoise.plots.knn_vs_analytic` takes them) as one tidy frame.

    Parameters
    ----------
    panels : mapping
        Panel title -> ``(gammas, curves, (mean, sd))``: the analytic curves (Eq. 1, name -> (G, len(ks)))
        and the measured K-NN accuracy's mean and sd, (G, len(ks)).
    ks : sequence of int
        The K of the tables' columns.

    Returns
    -------
    pandas.DataFrame
        Columns ``panel``, ``kind`` (analytic or measured), ``curve``, ``K``, ``gamma``, ``accuracy``,
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


def _error_bars(points: alt.Chart) -> alt.Chart:
    """A rule from mean - sd to mean + sd at each of ``points`` (its ``accuracy`` and ``sd`` fields)."""
    return (
        points.mark_rule()
        .encode(y="low:Q", y2="high:Q")
        .transform_calculate(low="datum.accuracy - datum.sd", high="datum.accuracy + datum.sd")
    )


def _tooltip(*extra: alt.Tooltip) -> list[alt.Tooltip]:
    return [alt.Tooltip("panel:N", title="noise"), *extra,
            alt.Tooltip("gamma:Q", title="γ", format=".3f"), alt.Tooltip("accuracy:Q", format=".3f"),
            alt.Tooltip("sd:Q", title="sd", format=".3f")]  # fmt: skip


def fig3_chart(panels: Mapping[str, tuple], ks: Sequence[int], *, title: str = "") -> alt.FacetChart:
    """Fig. 3 with hover values; click a K in the legend to show only its series (shift-click: several).

    Parameters
    ----------
    panels, ks
        As :func:`fig3_frame` takes them.
    title : str
        The chart's title.

    Returns
    -------
    altair.FacetChart
        One panel per noise model: analytic lines (Eq. 1), measured means with ± sd bars.
    """
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
    bars = _error_bars(measured)
    layers = alt.layer(analytic, bars, dots, data=frame).add_params(pick)
    layers = layers.properties(width=WIDTH // 2 - 20, height=HEIGHT - 40)
    column = alt.Column("panel:N", title=None, sort=list(panels))
    return layers.facet(column=column).properties(title=title).configure_legend(**_LEGEND)


def fig4_frame(panels: Mapping[str, Mapping[str, Any]], ks: Sequence[int]) -> pd.DataFrame:
    """Fig. 4's panels (as :func:`knnoise.plots.dnn_vs_analytic` takes them) as one tidy frame.

    Parameters
    ----------
    panels : mapping
        Panel title -> a dict with ``measured`` ``(gammas, mean, sd)``, optionally ``gammas``, ``curves``
        (Eq. 1 with the network's softmax as :math:`C_s`, (G, len(ks))) and ``fitted``, and ``others``
        (the paper-scale runs: ``(label, gammas, mean, sd)``).
    ks : sequence of int
        The K of ``curves``' columns.

    Returns
    -------
    pandas.DataFrame
        Columns ``panel``, ``kind`` (analytic, fitted, prediction, measured, paper scale), ``series``,
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
    """Fig. 4 with hover values; click a series in the legend to show only it (shift-click: several).

    Parameters
    ----------
    panels, ks
        As :func:`fig4_frame` takes them.
    title : str
        The chart's title.

    Returns
    -------
    altair.FacetChart
        Two panels a row: analytic and fitted lines, measured means with ± sd bars.
    """
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
    bars = _error_bars(points)
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
