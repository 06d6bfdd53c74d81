"""The concentration knob's figure: local-rate curves, measured markers, the 1 - gamma floor, networks."""

import numpy as np

from knnoise import plots


def _args(**extra):
    ks = [1, 5]
    analytic = {"γ = 0.3": np.array([[0.70, 0.95], [0.70, 0.72]]), "γ = 0.5": np.full((2, 2), 0.5)}
    measured = {name: (table + 0.01, np.full((2, 2), 0.02)) for name, table in analytic.items()}
    return {"concentrations": [0.0, 1.0], "analytic": analytic, "ks": ks, "measured": measured, **extra}


def test_one_panel_per_noise_level_with_every_series_in_the_legend(tmp_path):
    path = tmp_path / "knob.png"
    fig = plots.concentration_curves(
        **_args(floors={"γ = 0.3": 0.7, "γ = 0.5": 0.5}, networks={"γ = 0.3": ([0.0, 1.0], [0.9, 0.75])}),
        title="digits", path=path,
    )  # fmt: skip
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["γ = 0.3", "γ = 0.5"]
    assert axes[0].get_xlabel().startswith("concentration κ")
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["K = 1", "K = 5", "K-NN, measured (mean ± sd)", "1 − γ (concentrated)", "DNN, measured"]
    assert fig.get_suptitle() == "digits" and path.stat().st_size > 0
    # The local-rate lines: one per K and panel, through the analytic table's columns.
    lines = [line for line in axes[0].lines if line.get_linestyle() == "-" and len(line.get_xdata()) == 2]
    np.testing.assert_allclose(lines[1].get_ydata(), [0.95, 0.72])


def test_networks_and_floors_are_optional():
    fig = plots.concentration_curves(**_args())
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["K = 1", "K = 5", "K-NN, measured (mean ± sd)"]
