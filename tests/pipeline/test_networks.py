"""The networks of Sec. 4: noisy labels per noise kind, cached networks shared between sweep cells."""

import numpy as np
import pytest

from knnoise.dnn import TrainOptions
from knnoise.pipeline.data_spec import DataSpec, load_dataset
from knnoise.pipeline.networks import corruption_matrix, dnn_cell, noisy_labels, noisy_network
from knnoise.pipeline.sweep import Cell

SCHEDULE = TrainOptions(model="mnist", epochs=1, lr=0.003, lr_halving_every=None)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))


def test_noisy_labels_are_reproducible_and_follow_the_kind():
    ds = load_dataset("digits")
    a = noisy_labels(ds, "flip", 0.3, 0, seed=1)
    b = noisy_labels(ds, "flip", 0.3, 0, seed=1)
    c = noisy_labels(ds, "flip", 0.3, 1, seed=1)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.labels, c.labels)
    assert np.all(a.labels[a.selected] == (ds.y_train[a.selected] + 1) % 10)
    assert corruption_matrix("concentrated", 10) is None
    with pytest.raises(ValueError, match="noise kind must be one of"):
        corruption_matrix("salt", 10)
    with pytest.raises(ValueError, match="needs embedding"):
        noisy_labels(ds, "concentrated", 0.2, 0)


def test_cells_share_cached_networks():
    data = DataSpec("digits", train_subset=400, test_subset=100)
    params = {"data": data, "schedule": SCHEDULE, "device": "cpu"}
    row = dnn_cell(Cell("concentrated", 0.25, 0), **params)
    # k-means on the clean net's features: measured 0.2425-0.265 (6 seeds x 3 kernel paths)
    assert 0.15 < row["selected"] < 0.4 and 0 <= row["accuracy"] <= 1
    clean_a = dnn_cell(Cell("uniform", 0.0, 0), **params)
    clean_b = dnn_cell(Cell("flip", 0.0, 0), **params)  # gamma = 0: the same clean network
    assert clean_a["accuracy"] == clean_b["accuracy"] and clean_a["selected"] == 0.0
    ds = load_dataset("digits", train_subset=400, test_subset=100)
    net, corruption = noisy_network(ds, "uniform", 0.5, 0, SCHEDULE, seed=0, device="cpu")
    assert corruption.selected_fraction == 0.5 and net.test_softmax.shape == (100, 10)
