"""Accuracy against noise level (Figs. 3 and 4, the Theory chapter) and the corruption matrix (Fig. 4g)."""

from __future__ import annotations

import os

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from knnoise.plots._common import save as _save

__all__ = ["accuracy_curves", "corruption_matrix", "dnn_vs_analytic", "knn_vs_analytic"]


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
        _draw_panel(ax, title, table, gammas, ks, colours, styles or {})
        if empirical and title in empirical:
            mean, std = (np.asarray(a, dtype=float) for a in empirical[title])
            xs = gammas if empirical_gammas is None else np.asarray(empirical_gammas, dtype=float)
            for j in range(len(ks)):
                ax.errorbar(xs, mean[:, j], yerr=std[:, j], fmt="o", ms=3.5, color=colours[j], capsize=2)
        for extra in (overlays or {}).get(title, []):
            extra = dict(extra)
            x, y, yerr = extra.pop("x"), extra.pop("y"), extra.pop("yerr", None)
            extra_handles[extra.get("label")] = ax.errorbar(x, y, yerr=yerr, capsize=2, **extra)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel(ylabel)
    for i in range(len(panels)):
        if i + ncols >= len(panels):  # the lowest panel of its column
            axes[i].set_xlabel(xlabel)
    handles = _legend_handles(panels, ks, colours, styles or {}, bool(empirical), extra_handles)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize="small")
    return _save(fig, path)


def _draw_panel(ax, title: str, table, gammas: np.ndarray, ks: list, colours: list, styles: dict) -> None:
    """One panel: a line per K for each series of ``table`` (see :func:`accuracy_curves`)."""
    x = gammas
    if isinstance(table, tuple):  # (its own noise levels, its table)
        x, table = np.asarray(table[0], dtype=float), table[1]
    series = table if isinstance(table, dict) else {"": table}
    for name, values in series.items():
        values = np.asarray(values, dtype=float)
        if values.shape != (len(x), len(ks)):
            raise ValueError(f"panel {title!r} series {name!r}: shape {values.shape}, expected "
                             f"({len(x)}, {len(ks)})")  # fmt: skip
        for j in range(len(ks)):
            ax.plot(x, values[:, j], color=colours[j], **styles.get(name, {}))
    ax.set_title(title)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)


def _legend_handles(
    panels: dict, ks: list, colours: list, styles: dict, empirical: bool, extra: dict
) -> list:
    """One compact legend: a colour per K, a line style per series, a marker for measurements."""
    handles = [Line2D([], [], color=c, label=f"K = {k}") for c, k in zip(colours, ks, strict=True)]
    tables = [table[1] if isinstance(table, tuple) else table for table in panels.values()]
    names = {name for table in tables if isinstance(table, dict) for name in table if name}
    order = list(styles)
    for name in sorted(names, key=lambda n: order.index(n) if n in styles else 99):
        handles.append(Line2D([], [], color="0.3", label=name, **styles.get(name, {})))
    if empirical:
        handles.append(Line2D([], [], color="0.3", marker="o", ls="none", label="empirical (mean ± sd)"))
    return handles + [h for label, h in extra.items() if label]


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


def knn_vs_analytic(
    panels: dict[str, tuple[np.ndarray, dict[str, np.ndarray], tuple[np.ndarray, np.ndarray]]],
    ks,
    *,
    styles: dict[str, dict] | None = None,
    measured_label: str = "K-NN, measured (mean ± sd)",
    title: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Fig. 3: analytic curves (one line per K and curve) with the measured accuracy as markers.

    Parameters
    ----------
    panels : dict of str to (gammas, curves, (mean, std))
        Panel title -> its noise levels ``(G,)``, curve name -> analytic table ``(G, len(ks))``, and the
        measured mean and standard deviation, each ``(G, len(ks))``, drawn in the colour of their K.
    ks : sequence of int
        The K of each column.
    styles : dict of str to dict, optional
        Line style per curve name (default: the first solid, the others dotted, dashed).
    """
    ks = list(ks)
    names = list(dict.fromkeys(name for _, curves, _ in panels.values() for name in curves))
    dashes = ["-", ":", "--", "-."]
    styles = styles or {name: {"linestyle": ls} for name, ls in zip(names, dashes, strict=False)}
    overlays = {
        title: [
            {"x": gammas, "y": mean[:, j], "yerr": std[:, j], "fmt": "o", "ms": 3.5, "color": f"C{j}",
             "label": measured_label if j == 0 else None}
            for j in range(len(ks))
        ]
        for title, (gammas, _, (mean, std)) in panels.items()
    }  # fmt: skip
    first = next(iter(panels.values()))[0]
    fig = accuracy_curves(
        first,
        {title: (gammas, curves) for title, (gammas, curves, _) in panels.items()},
        ks,
        styles=styles,
        overlays=overlays,
    )
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def dnn_vs_analytic(
    panels: dict[str, dict],
    ks,
    *,
    gammas=None,
    title: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Fig. 4: networks trained on noisy labels over the analytic K-NN family, one panel per noise model.

    Parameters
    ----------
    panels : dict of str to dict
        Panel title -> ``{"measured": (gamma, mean, sd)}`` (the networks, at their achieved noise level),
        plus, for randomly spread noise, ``"gammas"`` ``(G,)``, ``"curves"`` ``(G, len(ks))`` (Eq. 1-3 per
        K) and ``"fitted"`` ``(G,)`` (the curve at the fitted effective K). A panel without curves is
        locally concentrated noise: the paper's prediction ``1 - gamma`` is drawn instead. ``"others"``:
        a list of (label, gamma, mean, sd) — runs elsewhere (e.g. paper-scale results), drawn as open
        markers with their label.
    ks : sequence of int
        The K of the curves' columns.
    gammas : array_like, optional
        The x axis of the ``1 - gamma`` line (default: 0 to 1 in steps of 0.025).
    """
    fine = np.linspace(0.0, 1.0, 41) if gammas is None else np.asarray(gammas, dtype=float)
    tables, overlays = {}, {}
    for name, panel in panels.items():
        x, mean, sd = panel["measured"]
        dnn = {"x": x, "y": mean, "yerr": sd, "color": "black", "marker": "s", "ms": 5, "lw": 1.5,
               "label": "DNN, measured (mean ± sd)"}  # fmt: skip
        if "curves" in panel:
            tables[name] = (panel["gammas"], panel["curves"])
            fitted = {"x": panel["gammas"], "y": panel["fitted"], "color": "crimson", "lw": 2.5, "alpha": 0.6,
                      "label": "analytic at the fitted K"}  # fmt: skip
            overlays[name] = [dnn, fitted]
        else:
            tables[name] = (fine, np.full((len(fine), len(ks)), np.nan))
            ideal = {"x": fine, "y": 1.0 - fine, "color": "0.4", "ls": "--",
                     "label": "1 − γ (concentrated noise)"}  # fmt: skip
            overlays[name] = [dnn, ideal]
        for i, (label, x, mean, sd) in enumerate(panel.get("others", [])):
            colour = ["darkviolet", "teal", "olive"][i % 3]
            style = {"color": colour, "marker": "D", "mfc": "none", "ms": 6, "ls": "none", "label": label}
            overlays[name].append({"x": x, "y": mean, "yerr": sd, **style})
    fig = accuracy_curves(fine, tables, ks, ncols=2, overlays=overlays)
    if title:
        fig.suptitle(title)
    return _save(fig, path)
