"""Accuracy curves against the noise level (Figs. 3 and 4, the Theory chapter)."""

import numpy as np

from knnoise import plots


def test_accuracy_curves_legend_names_every_series_even_with_per_panel_noise_levels():
    """Panels given as (their own noise levels, {series: table}) still get a legend entry per series."""
    ks = [1, 5]
    series = {"strict ties": np.full((3, 2), 0.5), "lowest ties": np.full((3, 2), 0.6)}
    styles = {"lowest ties": {"ls": "-"}, "strict ties": {"ls": ":"}}
    fig = plots.accuracy_curves(
        [0.0, 0.5, 0.9],
        {"uniform": ([0.0, 0.5, 0.9], series), "flip": ([0.0, 0.3, 0.6], series)},
        ks,
        styles=styles,
    )
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["K = 1", "K = 5", "lowest ties", "strict ties"]
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["uniform", "flip"]
    assert all(ax.get_xlabel().startswith("noise level") for ax in axes)


def test_knn_vs_analytic_draws_a_line_per_k_and_curve_and_markers_per_k():
    gammas = np.array([0.0, 0.5])
    curves = {"analytic, lowest ties": np.full((2, 2), 0.8), "analytic, strict (paper)": np.full((2, 2), 0.7)}
    measured = (np.full((2, 2), 0.75), np.full((2, 2), 0.01))
    fig = plots.knn_vs_analytic({"uniform noise": (gammas, curves, measured)}, [1, 5], title="t")
    (ax,) = [ax for ax in fig.axes if ax.get_visible()]
    assert len(ax.lines) >= 4  # 2 curves x 2 K (error bars add their own lines)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts[:4] == ["K = 1", "K = 5", "analytic, lowest ties", "analytic, strict (paper)"]
    assert "K-NN, measured (mean ± sd)" in texts
    assert fig._suptitle.get_text() == "t"


def test_dnn_vs_analytic_draws_one_minus_gamma_where_there_are_no_curves():
    fine = np.linspace(0, 1, 5)
    measured = (np.array([0.1, 0.5]), np.array([0.9, 0.5]), np.array([0.0, 0.01]))
    panels = {
        "uniform noise": {"measured": measured, "gammas": fine, "curves": np.ones((5, 2)), "fitted": fine},
        "concentrated noise": {"measured": measured},
    }
    fig = plots.dnn_vs_analytic(panels, [1, 5], gammas=fine)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "analytic at the fitted K" in texts and "1 − γ (concentrated noise)" in texts
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["uniform noise", "concentrated noise"]
