"""Paper-scale results tables: written by a run, converted from the GPU script's JSON, read back."""

import json
from pathlib import Path

import pandas as pd
import pytest

from knnoise.data import load
from knnoise.experiments import paper_results

SCHEDULE = {"model": "mnist", "epochs": 20, "lr": 0.01, "lr_halving_every": 10}


def _measured() -> pd.DataFrame:
    return pd.DataFrame({
        "noise": ["uniform", "uniform", "flip"], "gamma": [0.0, 0.9, 0.45], "repeat": [0, 0, 0],
        "dataset": "digits", "model": "DNN (mnist)", "accuracy": [0.95, 0.80, 0.70],
        "selected": [0.0, 0.9, 0.45], "changed": [0.0, 0.81, 0.45], "best_epoch": [3, 2, 1],
    })  # fmt: skip


def test_a_written_table_reads_back_with_its_provenance(tmp_path):
    folder = tmp_path / "paper"
    path = paper_results.write_table(_measured(), SCHEDULE, folder, train_images=1437, device="cpu")
    assert path.name.startswith("fig4_digits_1437x20_") and path.suffix == ".csv"
    (name, table), = paper_results.load_tables(tmp_path).items()
    assert name == path.name and list(table.columns) == list(paper_results.COLUMNS)
    assert table.device[0].startswith("CPU") and (table.epochs == 20).all() and (table.model == "mnist").all()
    assert paper_results.label(table).endswith(f"1,437 images, 20 epochs, 3 networks ({table.date[0]})")
    summary = paper_results.summarise(table)
    assert summary.loc[("uniform", 0.9), "accuracy"] == 0.80 and summary.networks.sum() == 3


def test_gpu_points_are_converted_with_recomputed_noise_fractions(tmp_path):
    points = tmp_path / "points.json"
    points.write_text(json.dumps([{"noise": "uniform", "gamma": 0.5, "test_accuracy": 0.9, "best_epoch": 4,
                                   "seconds": 1.0}]))  # fmt: skip
    ds = load("digits")
    table = paper_results.from_gpu_points(points, dataset=ds, schedule=SCHEDULE, device="GPU", commit="abc",
                                          date="2026-01-01")  # fmt: skip
    assert table.selected[0] == pytest.approx(0.5, abs=1e-3)
    assert 0.40 < table.changed[0] < 0.5  # uniform noise: about gamma (L-1)/L of the labels change
    assert table.train_images[0] == ds.n_train and table.accuracy[0] == 0.9


def test_unreadable_or_foreign_tables_are_skipped_with_a_warning(tmp_path):
    (tmp_path / "bad.csv").write_text("dataset,noise\nmnist,uniform\n")
    with pytest.warns(UserWarning, match="lacks the columns"):
        assert paper_results.load_tables(tmp_path) == {}
    assert paper_results.load_tables(tmp_path / "missing") == {}


def test_the_committed_h200_table_is_complete():
    tables = paper_results.load_tables(Path(__file__).resolve().parents[2] / "results" / "paper")
    assert tables, "results/paper/ should hold the converted H200 table"
    for table in tables.values():
        assert table.accuracy.between(0, 1).all() and table.device.notna().all()
