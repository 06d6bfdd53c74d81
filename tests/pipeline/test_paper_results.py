"""Paper-scale results tables: written by a run, converted from the GPU script's JSON, read back."""

import json
from pathlib import Path

import pandas as pd
import pytest

from knnoise.data import load
from knnoise.pipeline import paper_results

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
    ((name, table),) = paper_results.load_tables(tmp_path).items()
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


def test_an_unwritable_results_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    """save_results: checked before the run computes (check_folder) and before write_table does anything."""
    (tmp_path / "file").write_text("x")
    message = r"^save_results must be a folder that can be written to, got '.*file' \(.*file is a file, not a"
    with pytest.raises(ValueError, match=message):
        paper_results.check_folder(tmp_path / "file")
    with pytest.raises(ValueError, match=r"^save_results .*file/deeper' \(.*file is a file, not a folder\)$"):
        paper_results.check_folder(tmp_path / "file" / "deeper")
    assert paper_results.check_folder(tmp_path / "new" / "paper") == tmp_path / "new" / "paper"
    assert not (tmp_path / "new").exists()  # checked, not made
    monkeypatch.setattr(paper_results, "provenance", lambda device: pytest.fail("worked despite the folder"))
    with pytest.raises(ValueError, match=r"^folder must be a folder that can be written to, got .*file'"):
        paper_results.write_table(_measured(), SCHEDULE, tmp_path / "file", train_images=1437, device="cpu")


def test_a_table_is_written_atomically(tmp_path, monkeypatch):
    monkeypatch.setattr(paper_results, "provenance", lambda device: {"device": "CPU", "commit": "abc",
                                                                      "date": "2026-01-01"})  # fmt: skip
    blocked = tmp_path / "fig4_digits_1437x20_2026-01-01.csv"
    blocked.mkdir()  # a folder where the table would go
    with pytest.raises(ValueError, match=r"^folder must be a file path in a writable folder, got .*\(a fold"):
        paper_results.write_table(_measured(), SCHEDULE, tmp_path, train_images=1437, device="cpu")
    blocked.rmdir()
    path = paper_results.write_table(_measured(), SCHEDULE, tmp_path, train_images=1437, device="cpu")
    assert path == blocked and [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    assert len(pd.read_csv(path)) == 3


def _networks(device: str, date: str, accuracies: dict, epochs: int = 20) -> pd.DataFrame:
    """A results table: one network per (noise, gamma, repeat) key of ``accuracies``."""
    rows = [{"dataset": "mnist", "model": "mnist", "noise": n, "gamma": g, "selected": g, "changed": g,
             "repeat": r, "accuracy": a, "best_epoch": 3, "epochs": epochs, "lr": 0.01,
             "lr_halving_every": 10, "train_images": 60000, "device": device, "commit": "c", "date": date}
            for (n, g, r), a in accuracies.items()]  # fmt: skip
    return pd.DataFrame(rows, columns=list(paper_results.COLUMNS))


def test_runs_of_one_experiment_merge_into_one_series_with_n():
    lease1 = _networks("H200", "2026-12-01", {("uniform", 0.9, 0): 0.93, ("flip", 0.45, 0): 0.86})
    lease2 = _networks("H200", "2026-12-02", {("uniform", 0.9, 1): 0.95, ("flip", 0.45, 0): 0.10})  # a rerun
    cpu = _networks("CPU", "2026-12-03", {("uniform", 0.9, 2): 0.91})
    shorter = _networks("H200", "2026-12-01", {("uniform", 0.9, 0): 0.5}, epochs=3)  # another experiment
    experiments = paper_results.experiments({"a": lease1, "b": lease2, "c": cpu, "d": shorter})
    assert len(experiments) == 2
    (full,) = [t for t in experiments.values() if (t.epochs == 20).all()]
    assert (
        paper_results.label(full)
        == "H200 + CPU, 60,000 images, 20 epochs, 4 networks (2026-12-01 to 2026-12-03)"
    )
    summary = paper_results.summarise(full)
    assert summary.loc[("flip", 0.45)].accuracy == 0.86  # the duplicate network counted once, the earliest
    uniform = summary.loc[("uniform", 0.9)]
    assert uniform.networks == 3 and uniform.accuracy == pytest.approx(0.93)
    assert uniform.sd == pytest.approx(pd.Series([0.93, 0.95, 0.91]).std())
    assert paper_results.experiments({}) == {}
