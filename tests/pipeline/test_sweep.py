"""Sweeps: one atomic file per cell, resume after a kill, damaged cells recomputed, tidy results, pools."""

from __future__ import annotations

import json
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from knnoise.pipeline.sweep import Cell, grid, run_sweep, sweep_dir


def _accuracy(cell: Cell, *, scale: float, log: str) -> list[dict]:
    """A stand-in experiment that logs each call."""
    with open(log, "a") as f:
        f.write(f"{cell.noise} {cell.gamma} {cell.repeat}\n")
    return [{"k": k, "accuracy": scale * (1 - cell.gamma) / k} for k in (1, 5)]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache"))


def test_grid_and_tidy_table(tmp_path):
    cells = grid({"uniform": [0.0, 0.5], "flip": [0.3]}, repeats=2)
    assert len(cells) == 6 and cells[0] == Cell("uniform", 0.0, 0)
    table = run_sweep(_accuracy, cells, name="demo", params={"scale": 1.0, "log": str(tmp_path / "log")},
                      progress=False)  # fmt: skip
    assert list(table.columns) == ["noise", "gamma", "repeat", "k", "accuracy"]
    assert len(table) == 12
    row = table[(table.noise == "uniform") & (table.gamma == 0.5) & (table.k == 5)]
    assert row.accuracy.tolist() == [0.1, 0.1]


def test_a_cell_s_concentration_is_in_its_rows_and_key_only_when_set(tmp_path):
    import joblib

    from knnoise.pipeline.sweep import _key

    plain = Cell("uniform", 0.5, 1)
    old_key = joblib.hash(
        {"name": "n", "params": {}, "cell": {"noise": "uniform", "gamma": 0.5, "repeat": 1}}
    )
    assert _key("n", {}, plain) == old_key  # the caches written before the field existed stay valid
    knob = Cell("partial", 0.5, 0, concentration=0.25)
    assert _key("n", {}, knob) != _key("n", {}, Cell("partial", 0.5, 0, concentration=0.75))
    table = run_sweep(_accuracy, [knob], name="knob", params={"scale": 1.0, "log": str(tmp_path / "log")},
                      progress=False)  # fmt: skip
    assert list(table.columns) == ["noise", "gamma", "repeat", "concentration", "k", "accuracy"]
    assert table.concentration.tolist() == [0.25, 0.25]


def _flaky(cell: Cell, *, log: str) -> dict:
    marker = Path(log).with_suffix(".killed")
    if cell.gamma == 0.4 and not marker.exists():
        marker.touch()
        raise KeyboardInterrupt("simulated kill")
    with open(log, "a") as f:
        f.write(f"{cell.gamma}\n")
    return {"accuracy": 1 - cell.gamma}


def test_rerun_resumes_where_it_stopped(tmp_path):
    log = tmp_path / "log"
    cells = grid({"flip": [0.0, 0.2, 0.4, 0.6]}, repeats=1)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(_flaky, cells, name="flaky", params={"log": str(log)}, progress=False)
    assert log.read_text().split() == ["0.0", "0.2"]
    # Two finished cells are on disk; the killed one left no partial file behind.
    files = list(sweep_dir("flaky").iterdir())
    assert sorted(f.suffix for f in files) == [".json", ".json"]
    table = run_sweep(_flaky, cells, name="flaky", params={"log": str(log)}, progress=False)
    assert log.read_text().split() == ["0.0", "0.2", "0.4", "0.6"]  # nothing ran twice
    assert table.accuracy.tolist() == pytest.approx([1.0, 0.8, 0.6, 0.4])
    # A third run is a pure load.
    run_sweep(_flaky, cells, name="flaky", params={"log": str(log)}, progress=False)
    assert len(log.read_text().split()) == 4


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # truncated mid-write by something other than the sweep
        lambda text: "",  # empty
        lambda text: '{"cell": {}}',  # valid JSON, but not a cell file (no rows)
        lambda text: "\udcff",  # not UTF-8 once written with surrogateescape
    ],
    ids=["truncated", "empty", "no-rows", "not-utf8"],
)
def test_a_damaged_cell_file_is_reported_dropped_and_recomputed(tmp_path, damage):
    log = tmp_path / "log"
    cells = grid({"uniform": [0.1, 0.5]}, repeats=1)
    params = {"scale": 1.0, "log": str(log)}
    first = run_sweep(_accuracy, cells, name="damaged", params=params, progress=False)
    assert len(log.read_text().splitlines()) == 2
    victim = sorted(sweep_dir("damaged").iterdir())[0]
    victim.write_bytes(damage(victim.read_text()).encode("utf-8", "surrogateescape"))
    with pytest.warns(UserWarning, match="damaged cache entry"):
        again = run_sweep(_accuracy, cells, name="damaged", params=params, progress=False)
    assert len(log.read_text().splitlines()) == 3  # only the damaged cell ran again
    assert again.equals(first)
    assert json.loads(victim.read_text())["rows"]  # rewritten whole
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean rerun warns about nothing and runs nothing
        run_sweep(_accuracy, cells, name="damaged", params=params, progress=False)
    assert len(log.read_text().splitlines()) == 3


def test_changed_parameters_start_afresh(tmp_path):
    log = tmp_path / "log"
    cells = grid({"uniform": [0.1]}, repeats=1)
    a = run_sweep(_accuracy, cells, name="p", params={"scale": 1.0, "log": str(log)}, progress=False)
    b = run_sweep(_accuracy, cells, name="p", params={"scale": 2.0, "log": str(log)}, progress=False)
    assert b.accuracy.iloc[0] == 2 * a.accuracy.iloc[0]


def test_executors_give_the_same_table(tmp_path):
    cells = grid({"uniform": [0.0, 0.3], "flip": [0.5]}, repeats=2)
    params = {"scale": 1.0, "log": str(tmp_path / "log")}
    serial = run_sweep(_accuracy, cells, name="serial", params=params, progress=False)
    with ThreadPoolExecutor(2) as pool:
        threaded = run_sweep(_accuracy, cells, name="threaded", params=params, executor=pool, progress=False)
    pooled = run_sweep(_accuracy, cells, name="pooled", params=params, n_jobs=2, progress=False)
    assert serial.equals(threaded) and serial.equals(pooled)


def test_bad_input():
    with pytest.raises(ValueError, match="repeats must be an integer >= 1, got 0"):
        grid({"uniform": [0.1]}, repeats=0)
    with pytest.raises(ValueError, match="n_jobs must be an integer >= 1"):
        run_sweep(_accuracy, [], name="x", n_jobs=0)
    with pytest.raises(ValueError, match="plain folder name"):
        run_sweep(_accuracy, [], name="../x")
    with pytest.raises(TypeError, match="Cell"):
        run_sweep(_accuracy, [("uniform", 0.1, 0)], name="x")


def test_dataclass_parameters_are_keyed_by_their_fields_wherever_they_are():
    import numpy as np

    from knnoise.dnn import TrainOptions
    from knnoise.pipeline.data_spec import DataSpec
    from knnoise.pipeline.sweep import _key

    cell = Cell("uniform", 0.5, 0)
    data = DataSpec("digits", train_subset=300)
    numpy_ints = DataSpec("digits", None, np.int64(300))
    assert _key("n", {"data": data}, cell) == _key("n", {"data": numpy_ints}, cell)
    assert _key("n", {"data": data}, cell) != _key("n", {"data": DataSpec("digits", train_subset=301)}, cell)
    assert _key("n", {"data": data}, cell) != _key("n", {"data": {**data.__dict__}}, cell)  # not a dict
    options = TrainOptions(epochs=1, lr=0.1, lr_halving_every=None, num_threads=1)
    nested = {"runs": [options, (data,)], "by": {"a": options}}
    same = {"runs": [options.replace(), (DataSpec("digits", train_subset=300),)], "by": {"a": options}}
    assert _key("n", nested, cell) == _key("n", same, cell)
    other = {"runs": [options.replace(epochs=2), (data,)], "by": {"a": options}}
    assert _key("n", nested, cell) != _key("n", other, cell)
