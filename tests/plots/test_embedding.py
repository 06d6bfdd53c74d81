"""Fig. 1's figure: one 2-D embedding, a panel per (noisy) labelling, the changed points outlined."""

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


def test_embedding_panels_names_classes_beyond_ten_with_distinct_colours():
    n_labels = 12
    truth = np.arange(48) % n_labels
    points = np.column_stack([truth, truth % 3]).astype(float)
    names = [f"class {c}" for c in range(n_labels)]
    fig = plots.embedding_panels(points, [truth], ["many"], names, suptitle="twelve classes")
    colours = {tuple(c) for c in fig.axes[0].collections[0].get_facecolors()}
    assert len(colours) == n_labels
    assert fig.get_suptitle() == "twelve classes"
