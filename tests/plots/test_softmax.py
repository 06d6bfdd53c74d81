"""Fig. 2's figure (the softmax profile, true label first) and the feature-space K-NN supplement's."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from knnoise import plots


def test_true_label_first_rotates_each_row_to_start_at_its_label():
    softmax = np.array([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2]])
    ordered = plots.true_label_first(softmax, [2, 1])
    np.testing.assert_array_equal(ordered, [[0.7, 0.1, 0.2], [0.3, 0.2, 0.5]])


def test_softmax_profile_draws_medians_quartiles_and_expected_levels(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.dirichlet(np.ones(4), size=50)
    expected = np.array([0.7, 0.1, 0.1, 0.1])
    path = tmp_path / "fig2.png"
    panels = {"clean": values, "noisy": values[::-1]}
    fig = plots.softmax_profile(panels, expected={"noisy": expected}, ncols=3, path=path)
    assert isinstance(fig, Figure) and path.stat().st_size > 0
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["clean", "noisy"]
    heights = [bar.get_height() for bar in axes[0].patches]
    np.testing.assert_allclose(heights, np.median(values, axis=0))
    assert axes[0].patches[0].get_linewidth() == 1.5  # the true label is outlined
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["true", "+1", "+2", "+3"]
    assert len(axes[0].collections) < len(axes[1].collections)  # only the second panel has red levels
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["median over test examples", "central 50%", "expected from the neighbourhood"]


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
