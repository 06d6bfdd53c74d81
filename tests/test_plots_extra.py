"""The figure functions of Fig. 1 (embedding panels) and the feature-space K-NN supplement."""

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from knnoise import plots


def _embedding(n: int = 60, n_labels: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = np.arange(n) % n_labels
    points = rng.normal(size=(n, 2)) + 4 * truth[:, None]
    noisy = truth.copy()
    noisy[:6] = (truth[:6] + 1) % n_labels
    return points, truth, noisy


def test_embedding_panels_draws_one_panel_per_labelling_with_marked_points(tmp_path):
    points, truth, noisy = _embedding()
    path = tmp_path / "fig1.png"
    fig = plots.embedding_panels(
        points,
        [truth, noisy],
        ["clean", "noisy"],
        ["a", "b", "c"],
        marked=[None, noisy != truth],
        true_labels=truth,
        path=path,
    )
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["clean", "noisy"]
    # Unmarked and marked points are two scatter layers per panel; all points are drawn once.
    assert sum(len(c.get_offsets()) for c in axes[1].collections) == len(points)
    assert len(axes[1].collections[1].get_offsets()) == 6
    assert {t.get_text() for t in axes[0].texts} == {"a", "b", "c"}
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["a", "b", "c", "label changed by the noise"]
    assert path.stat().st_size > 0


def test_embedding_panels_colours_follow_the_labels():
    points, truth, noisy = _embedding()
    fig = plots.embedding_panels(points, [noisy], ["noisy"], ["a", "b", "c"])
    colours = fig.axes[0].collections[0].get_facecolors()
    expected = np.array([to_rgba(f"C{c}") for c in noisy])
    np.testing.assert_allclose(colours[:, :3], expected[:, :3])
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["a", "b", "c"]  # nothing marked


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"points": np.zeros((4, 3))}, "shape"),
        ({"titles": ["one", "two"]}, "one title per labelling"),
        ({"labels": [np.array([0, 1, 5, 0])]}, "must lie in"),
        ({"labels": [np.zeros(3, dtype=int)]}, "integer labels"),
        ({"marked": [np.ones(3, dtype=bool)]}, "marked entries"),
    ],
)
def test_embedding_panels_rejects_bad_input(kwargs, message):
    args = {"points": np.zeros((4, 2)), "labels": [np.array([0, 1, 2, 0])], "titles": ["t"]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        plots.embedding_panels(args["points"], args["labels"], args["titles"], ["a", "b", "c"],
                               marked=args.get("marked"))  # fmt: skip


def test_knn_softmax_agreement_marks_the_k_of_least_distance():
    ks = [1, 5, 25]
    distance = {"clean": np.array([0.3, 0.2, 0.25]), "noisy": np.array([0.6, 0.4, 0.5])}
    agreement = {"clean": np.array([0.9, 0.95, 0.94]), "noisy": np.array([0.7, 0.9, 0.85])}
    fig = plots.knn_softmax_agreement(ks, distance, agreement, reference="clean")
    ax_d, ax_a = fig.axes
    assert ax_d.get_xscale() == "log"
    stars = [line for line in ax_d.lines if line.get_marker() == "*"]
    assert [tuple(s.get_xydata()[0]) for s in stars] == [(5.0, 0.2), (5.0, 0.4)]
    clean_line = ax_d.lines[0]
    assert clean_line.get_linestyle() == "--" and clean_line.get_color() == "black"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["clean", "noisy", "K of least distance"]
    assert ax_a.get_ylabel() and ax_d.get_ylabel()


def test_knn_softmax_agreement_rejects_mismatched_curves():
    with pytest.raises(ValueError, match="same settings"):
        plots.knn_softmax_agreement([1, 2], {"a": np.zeros(2)}, {"b": np.zeros(2)})
    with pytest.raises(ValueError, match="expected 2 values"):
        plots.knn_softmax_agreement([1, 2], {"a": np.zeros(3)}, {"a": np.zeros(2)})


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
