"""Fig. 4's experiment on the digits: networks per noise cell, analytic family, effective K."""

import numpy as np
import pandas as pd
import pytest
import torch

from knnoise.book import parameters
from knnoise.experiments import fig4_dnn
from knnoise.pipeline.networks import train_cells_grouped

SCHEDULE = {"model": "mnist", "epochs": 1, "lr": 0.003, "lr_halving_every": None}
VALUES = {
    "dataset": "digits", "data_path": None, "train_subset": None, "test_subset": None, "seed": 0,
    **SCHEDULE, "uniform_gammas": [0.0, 0.5], "flip_gammas": [0.0, 0.45],
    "general_gammas": [0.5], "concentrated_gammas": [0.25], "repeats": 1, "ks": [1, 5], "k_fit_max": 6,
    "device": "cpu", "n_jobs": 1,
}  # fmt: skip
PARAMS = parameters("fig4_dnn", **VALUES)


@pytest.fixture(scope="module")
def result(module_cache):
    return fig4_dnn.run(PARAMS)


def test_one_network_per_cell_and_a_summary_per_level(result):
    assert len(result.measured) == 6
    kinds = list(result.summary.index.get_level_values("noise").unique())
    assert kinds == ["concentrated", "flip", "general", "uniform"]
    assert (result.summary.networks == 1).all()
    assert result.measured.accuracy.between(0, 1).all()


def test_analytic_family_and_fits(result):
    for kind in fig4_dnn.SPREAD:
        gammas, table = result.analytic[kind]
        assert table.shape == (len(gammas), 6)
        assert set(fig4_dnn.FINE) <= set(np.round(gammas, 6))
        assert 1 <= result.fits[kind].k <= 6
    # Eq. 1 at gamma = 0 and K = 1 is the mean clean softmax at the true label
    _, table = result.analytic["uniform"]
    y = result.dataset.y_test
    at_label = result.clean_net.test_softmax[np.arange(len(y)), y]
    assert table[0, 0] == pytest.approx(float(np.mean(at_label)), abs=1e-6)


def test_panels_quoted_numbers_and_claims_agree(result):
    panels = result.panels([1, 5])
    assert set(panels) == {f"{kind} noise" for kind in fig4_dnn.KINDS}
    assert "curves" not in panels["concentrated noise"]
    assert panels["uniform noise"]["curves"].shape[1] == 2
    quoted = result.quoted(PARAMS)
    assert quoted["f_lo"] == 0.45 and quoted["u_hi"] == 0.5
    claims = result.claims(PARAMS)
    assert len(claims) == 3
    assert f"uniform γ = 0.5: {quoted['u_hi_acc']}" in claims[0][2]
    assert "1 epoch):" in claims[0][2]


def test_paper_scale_tables_of_the_same_dataset_are_drawn_and_quoted(result):
    table = pd.DataFrame({
        "dataset": "digits", "model": "mnist", "noise": ["uniform", "flip", "flip"],
        "gamma": [0.9, 0.45, 0.55], "selected": [0.9, 0.45, 0.55], "changed": [0.81, 0.45, 0.55], "repeat": 0,
        "accuracy": [0.9, 0.8, 0.4],
        "best_epoch": 5, "epochs": 20, "lr": 0.01, "lr_halving_every": 10, "train_images": 1437,
        "device": "GPU X", "commit": "abc", "date": "2026-01-01",
    })  # fmt: skip
    other = table.assign(dataset="mnist")
    panels = result.panels([1, 5], {"t.csv": table, "m.csv": other})
    (entry,) = panels["uniform noise"]["others"]  # the mnist table is not drawn over digits
    assert entry[0].startswith("GPU X, 1,437 images, 20 epochs, 3 networks")
    assert "others" not in panels["general noise"]
    claim = result.claims(PARAMS, {"t.csv": table})[0][2]
    assert claim.endswith("paper scale (GPU X, 1,437 images, 20 epochs, 3 networks (2026-01-01)): "
                          "uniform γ = 0.9: 0.900 (n = 1); flip γ = 0.45: 0.800 (n = 1), "
                          "γ = 0.55: 0.400 (n = 1)")  # fmt: skip
    assert "0.900" in result.paper_scale_text({"t.csv": table})
    assert "No paper-scale results table" in result.paper_scale_text({})


def test_grouped_training_gives_the_lone_networks_numbers(tmp_path, monkeypatch):
    """On a GPU the cells are first trained as groups; the grouped networks (here on the CPU path of
    train_group, so bitwise) are the ones the cells then load."""
    small = parameters("fig4_dnn", **{**VALUES, "uniform_gammas": [0.0, 0.5], "flip_gammas": [0.45],
                                      "general_gammas": [0.5], "concentrated_gammas": [0.25]})  # fmt: skip
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "lone"))
    lone = fig4_dnn.train_networks(small, group=False)
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "grouped"))
    grouped_calls = []

    def grouped_first(ds, cells, schedule, **kwargs):
        grouped_calls.append(len(cells))
        return train_cells_grouped(ds, cells, schedule, **{**kwargs, "device": "cpu"})

    monkeypatch.setattr(fig4_dnn, "train_cells_grouped", grouped_first)
    assert fig4_dnn.train_networks(small).equals(lone) and grouped_calls == []  # the CPU: one at a time
    monkeypatch.setattr(fig4_dnn, "pick_device", lambda device: torch.device("cuda"))
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "gpu"))
    grouped = fig4_dnn.train_networks(small)
    assert grouped_calls == [5]
    pd.testing.assert_frame_equal(lone, grouped)  # bitwise: the CPU path of train_group is lone training
