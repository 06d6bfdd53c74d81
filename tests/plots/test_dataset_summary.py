"""The data chapter's figures: example images per class, the class balance, a 2-D PCA scatter."""

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

from knnoise import plots
from knnoise.data import Dataset, load


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))


def _tiny() -> Dataset:
    """Two 4x4 grayscale classes with fewer examples than a row of the grid holds."""
    x = np.zeros((4, 4, 4), dtype=np.uint8)
    y = np.array([0, 0, 1, 1], dtype=np.int64)
    return Dataset(x, y, x.copy(), y.copy(), ("a", "b"), "tiny")


def test_example_grid_one_row_per_class(tmp_path):
    digits = load("digits")
    path = tmp_path / "grid.png"
    grid = plots.example_grid(digits, per_class=4, path=path)
    assert isinstance(grid, Figure) and len(grid.axes) == 40 and path.stat().st_size > 0
    assert [grid.axes[4 * c].get_ylabel() for c in range(10)] == list(digits.class_names)
    assert len(plots.example_grid(digits, per_class=2, max_classes=3).axes) == 6
    buf = io.BytesIO()
    plots.example_grid(_tiny(), per_class=3).savefig(buf, format="svg")  # fewer examples than per_class
    assert buf.getvalue().startswith(b"<?xml")


def test_example_grid_refuses_features_and_bad_sizes():
    synthetic = load("synthetic", n_classes=3, n_train=60)
    with pytest.raises(ValueError, match="features, not images"):
        plots.example_grid(synthetic)
    with pytest.raises(ValueError, match="per_class and max_classes must be >= 1"):
        plots.example_grid(load("digits"), per_class=0)


def test_class_balance_bars_are_the_shares_of_each_split():
    digits = load("digits")
    fig = plots.class_balance(digits)
    (ax,) = fig.axes
    shares = [bar.get_height() for bar in ax.patches]
    counts = digits.class_counts("train")
    np.testing.assert_allclose(shares[:10], counts / counts.sum())
    assert len(shares) == 20
    many = load("synthetic", n_classes=30, n_train=300)
    assert plots.class_balance(many).axes[0].get_xlabel() == "class index"


def test_feature_scatter_draws_at_most_max_points():
    synthetic = load("synthetic", n_classes=30, n_train=300)
    fig = plots.feature_scatter(synthetic, max_points=100)
    assert len(fig.axes[0].collections[0].get_offsets()) == 100
    assert fig.axes[0].get_xlabel().startswith("PC 1")
