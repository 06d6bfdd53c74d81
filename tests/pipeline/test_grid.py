"""knnoise.pipeline.grid: a budgeted, resumable Fig. 4 grid — breadth-first order, the budget, rows
appended one network at a time, tables merged without duplicates, resumed runs equal to one run."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from knnoise.book import parameters
from knnoise.dnn import _trainer
from knnoise.pipeline import engine, grid, paper_results
from knnoise.pipeline.networks import clean_network, train_cells_grouped
from knnoise.pipeline.sweep import Cell

REPO = Path(__file__).resolve().parents[2]

VALUES = {  # a smoke-scale Fig. 4 grid: 5 levels x 2 repeats, one epoch on 300 digits
    "dataset": "digits", "data_path": None, "train_subset": 300, "test_subset": 100, "seed": 0,
    "device": "cpu", "repeats": 2, "n_jobs": 1,
    "model": "mnist", "epochs": 1, "lr": 0.01, "lr_halving_every": None,
    "uniform_gammas": [0.0, 0.5], "flip_gammas": [0.45], "general_gammas": [0.5],
    "concentrated_gammas": [0.25],
}  # fmt: skip
PARAMS = parameters("fig4_dnn", **VALUES)
COMPARED = [
    "noise",
    "gamma",
    "repeat",
    "accuracy",
    "selected",
    "changed",
    "best_epoch",
    *paper_results.IDENTITY,
]


def ticking_clock(step: float = 1.0):
    """A fake clock that advances ``step`` seconds every time it is read."""
    counter = itertools.count()
    return lambda: next(counter) * step


def _rows(folder) -> pd.DataFrame:
    merged = paper_results.merge_tables(paper_results.load_tables(folder).values())
    key = {(c.noise, c.gamma, c.repeat): i for i, c in enumerate(grid.order(_levels(), PARAMS.repeats))}
    merged["order"] = [key[(n, g, r)] for n, g, r in merged[["noise", "gamma", "repeat"]].values]
    return merged.sort_values("order")[COMPARED].reset_index(drop=True)


def _levels():
    return {k: getattr(PARAMS, f"{k}_gammas") for k in ("uniform", "flip", "general", "concentrated")}


def test_order_is_breadth_first_clean_first_concentrated_last():
    cells = grid.order({"flip": [0.3, 0.0], "uniform": [0.5, 0.0], "concentrated": [0.2]}, repeats=2)
    assert cells[:5] == [Cell("uniform", 0.0, 0), Cell("flip", 0.0, 0), Cell("flip", 0.3, 0),
                         Cell("uniform", 0.5, 0), Cell("concentrated", 0.2, 0)]  # fmt: skip
    assert [c.repeat for c in cells] == [0] * 5 + [1] * 5  # every level once before any twice
    assert len(set(cells)) == len(cells)


def test_merge_keeps_each_network_once_the_earliest_first():
    row = dict.fromkeys(paper_results.COLUMNS, 1)
    row |= {
        "noise": "flip",
        "gamma": 0.3,
        "repeat": 0,
        "dataset": "mnist",
        "model": "mnist",
        "date": "2026-12-02",
    }
    later = {**row, "accuracy": 0.5, "date": "2026-12-03"}
    rounded = {**row, "gamma": 0.3 + 1e-12, "accuracy": 0.7, "date": "2026-12-04"}  # a CSV round trip
    other = {**row, "repeat": 1, "accuracy": 0.9}
    merged = paper_results.merge_tables([pd.DataFrame([later, other]), pd.DataFrame([rounded, row])])
    assert sorted(merged.accuracy) == [0.9, 1]  # the 2026-12-02 row of repeat 0, and repeat 1
    done = grid.done_cells([merged], {"dataset": "mnist", "model": "mnist"})
    assert done == {("flip", 0.3, 0), ("flip", 0.3, 1)}
    assert grid.done_cells([merged], {"dataset": "cifar10"}) == set()


def test_a_budget_stops_cleanly_and_resumed_runs_equal_one_run(tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache-a"))
    interrupted = tmp_path / "interrupted"
    reports = []
    for _ in range(12):
        report = grid.run_grid(PARAMS, folder=interrupted, budget=8.0, now=ticking_clock(), progress=False)
        reports.append(report)
        if not report.missing:
            break
    assert reports[0].stopped_by_budget and 0 < reports[0].trained < reports[0].total == 10
    assert len(reports) >= 4  # interrupted at least three times
    assert sum(r.trained for r in reports) == 10 and not reports[-1].missing
    assert len(list(interrupted.glob("*.csv"))) == len([r for r in reports if r.trained])
    # one uninterrupted run, in a fresh cache (so it trains every network itself)
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache-b"))
    whole = grid.run_grid(PARAMS, folder=tmp_path / "whole", progress=False)
    assert (whole.trained, whole.missing, whole.stopped_by_budget) == (10, 0, False)
    pd.testing.assert_frame_equal(_rows(interrupted), _rows(tmp_path / "whole"), check_exact=True)
    again = grid.run_grid(PARAMS, folder=tmp_path / "whole", progress=False)
    assert (again.trained, again.table) == (0, None)  # nothing left: nothing trained, no new table


def test_no_network_is_started_that_the_estimate_says_cannot_finish(tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache"))
    first = grid.run_grid(PARAMS, folder=tmp_path, budget=4.0, now=ticking_clock(), progress=False)
    assert first.trained == 1  # the measurement (3 fake seconds for 1) leaves no room for a second
    # the estimate is remembered: a later lease with less than one network's time starts nothing
    second = grid.run_grid(PARAMS, folder=tmp_path, budget=1.5, now=ticking_clock(), progress=False)
    assert (second.trained, second.table) == (0, None) and second.stopped_by_budget


def test_the_table_holds_provenance_and_the_chapter_s_numbers(tmp_path, monkeypatch):
    from knnoise.experiments import fig4_dnn

    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache"))
    report = grid.run_grid(PARAMS, folder=tmp_path, progress=False)
    table = pd.read_csv(report.table)
    assert list(table.columns) == list(paper_results.COLUMNS) and len(table) == 10
    assert set(table.train_images) == {300} and set(table.epochs) == {1}
    # the chapter's sweep afterwards loads the grid's networks: the same accuracies
    sweep = fig4_dnn.train_networks(PARAMS).sort_values(["noise", "gamma", "repeat"])
    mine = table.sort_values(["noise", "gamma", "repeat"])
    assert mine.accuracy.tolist() == sweep.accuracy.tolist()


def test_grouped_grids_give_the_lone_table_and_group_the_concentrated_cells(tmp_path, monkeypatch):
    """Groups of networks (a GPU's way; here the CPU path of train_group, bitwise lone training) give the
    lone grid's table; every cell but the clean network is grouped, the concentrated ones included (they
    start from the clean network's features)."""
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache-lone"))
    grid.run_grid(PARAMS, folder=tmp_path / "lone", progress=False)
    groups = []

    def counted(ds, cells, schedule, **kwargs):
        groups.append([(c.noise, c.repeat) for c in cells])
        return train_cells_grouped(ds, cells, schedule, **kwargs)

    stacks = []
    real_stack = _trainer._train_group
    monkeypatch.setattr(_trainer, "_train_group", lambda ds, runs, *a: stacks.append(len(runs)) or
                        real_stack(ds, runs, *a))  # fmt: skip
    monkeypatch.setattr(grid, "train_cells_grouped", counted)
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache-grouped"))
    report = grid.run_grid(PARAMS, folder=tmp_path / "grouped", group=3, progress=False)
    assert (report.trained, report.missing) == (10, 0)
    assert [len(g) for g in groups] == [3, 3, 3]  # the clean network alone, then 9 networks by 3
    assert stacks == [1, 3, 3, 3]  # one stacked model per group; every row loads the group's networks
    assert ("concentrated", 0) in groups[1] and ("concentrated", 1) in groups[2]
    pd.testing.assert_frame_equal(_rows(tmp_path / "grouped"), _rows(tmp_path / "lone"), check_exact=True)
    with pytest.raises(ValueError, match="group must be"):
        grid.run_grid(PARAMS, folder=tmp_path / "lone", group=0, progress=False)


def test_no_group_is_started_that_the_estimate_says_cannot_finish(tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache"))
    clock = [0.0]

    def thirty_seconds_each(ds, cells, schedule, **kwargs):  # a group takes 30 fake seconds per network
        clock[0] += 30.0 * len(cells)
        return train_cells_grouped(ds, cells, schedule, **kwargs)

    monkeypatch.setattr(grid, "train_cells_grouped", thirty_seconds_each)

    def run(budget: float) -> grid.GridReport:
        clock[0] = 0.0
        return grid.run_grid(PARAMS, folder=tmp_path, group=3, budget=budget, now=lambda: clock[0],
                             progress=False)  # fmt: skip

    first = run(100.0)  # the clean network, then one group (the measurement: 90 s) leaves 10 s
    assert (first.trained, first.missing, first.stopped_by_budget) == (4, 6, True)
    assert run(80.0).trained == 2  # the remembered estimate, 30 s a network: a group of 2, then none
    assert run(95.0).trained == 3
    assert (run(10.0).trained, run(30.0).missing) == (0, 0)


def test_a_group_the_deadline_stops_is_tried_again_smaller(tmp_path, monkeypatch):
    from knnoise.dnn import OutOfTime

    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache"))
    sizes = []

    def first_one_runs_out(ds, cells, schedule, **kwargs):
        sizes.append(len(cells))
        if len(sizes) == 1:  # stopped after 1 of 20 epochs of 2 s: 42 s per network, the outputs' epoch too
            raise OutOfTime(networks=len(cells), epochs_done=1, epochs=20, seconds=2.0 * len(cells))
        return train_cells_grouped(ds, cells, schedule, **kwargs)

    monkeypatch.setattr(grid, "train_cells_grouped", first_one_runs_out)
    report = grid.run_grid(PARAMS, folder=tmp_path, group=3, budget=100.0, now=lambda: 0.0, progress=False)
    assert sizes == [3, 2, 2, 2, 2, 1]  # (a frozen clock) 100 s left fit 2 networks of 42 s at a time
    assert (report.trained, report.missing) == (10, 0)


def test_a_clean_network_missing_here_is_trained_lone_before_a_concentrated_group(tmp_path, monkeypatch):
    from knnoise.dnn import OutOfTime

    folder = tmp_path / "tables"
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "elsewhere"))  # another machine: the clean row only
    assert grid.run_grid(PARAMS, folder=folder, budget=4.0, now=ticking_clock(), progress=False).trained == 1
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "here"))
    events = []

    def clean_stopped(*args, **kwargs):
        events.append("clean")
        raise OutOfTime(networks=1, epochs_done=1, epochs=20, seconds=50.0)

    def grouped(ds, cells, schedule, **kwargs):
        events.append(sorted({c.noise for c in cells}))
        return train_cells_grouped(ds, cells, schedule, **kwargs)

    monkeypatch.setattr(grid, "clean_network", clean_stopped)
    monkeypatch.setattr(grid, "train_cells_grouped", grouped)
    report = grid.run_grid(PARAMS, folder=folder, group=4, budget=100.0, now=lambda: 0.0, progress=False)
    assert (report.trained, events) == (0, ["clean"])  # the group of 4 holds a concentrated cell: it waits
    (memo,) = (tmp_path / "here" / "grid").glob("*.json")
    assert json.loads(memo.read_text()) == {"lone:projected": 1050.0}  # a lone estimate, not the group's
    events.clear()
    def clean_counted(*args, **kwargs):
        events.append("clean")
        return clean_network(*args, **kwargs)

    monkeypatch.setattr(grid, "clean_network", clean_counted)
    report = grid.run_grid(PARAMS, folder=folder, group=4, progress=False)
    assert report.trained == 9 and events[:2] == ["clean", ["concentrated", "flip", "general", "uniform"]]


def test_the_trainer_s_deadline_stops_a_network_that_cannot_finish_the_budget(tmp_path, monkeypatch):
    """The real stop: a clock where every reading is 100 s later; a 2-epoch network measured at 100 s an
    epoch cannot finish a 150 s budget, so after its first epoch it stops, leaving a projection and no
    row, no cache entry."""
    from knnoise.dnn import deadlines, is_cached

    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache"))
    two_epochs = parameters("fig4_dnn", **{**VALUES, "epochs": 2})
    ticks = itertools.count()
    monkeypatch.setattr(deadlines, "time", SimpleNamespace(monotonic=lambda: 100.0 * next(ticks)))
    report = grid.run_grid(two_epochs, folder=tmp_path, budget=150.0, now=lambda: 0.0, progress=False)
    assert (report.trained, report.table, report.stopped_by_budget) == (0, None, True)
    (memo,) = (tmp_path / "cache" / "grid").glob("*.json")
    assert json.loads(memo.read_text()) == {"lone:projected": 300.0}  # 2 epochs of 100 s, and the outputs
    ds, clean = two_epochs.data.load(), two_epochs.schedule.replace(train_outputs=True)
    assert not is_cached(ds, ds.y_train, seed=0, **clean.key())


def test_on_an_executor_a_network_trains_within_what_is_left_of_the_budget(tmp_path, monkeypatch):
    """The cells on an executor (a thread here, so the clock can be faked; Dask workers alike) carry the
    seconds left: the clean network cannot finish, stops after its first epoch, and nothing more starts."""
    from concurrent.futures import ThreadPoolExecutor

    from knnoise.dnn import deadlines

    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache"))
    two_epochs = parameters("fig4_dnn", **{**VALUES, "epochs": 2})
    ticks = itertools.count()
    monkeypatch.setattr(deadlines, "time", SimpleNamespace(monotonic=lambda: 100.0 * next(ticks)))
    with ThreadPoolExecutor(1) as pool:
        report = grid.run_grid(two_epochs, folder=tmp_path, budget=150.0, executor=pool, slots=1,
                               now=lambda: 0.0, progress=False)  # fmt: skip
    assert (report.trained, report.missing, report.table) == (0, 10, None) and report.stopped_by_budget
    (memo,) = (tmp_path / "cache" / "grid").glob("*.json")
    assert json.loads(memo.read_text()) == {"lone:projected": 300.0}


def test_a_run_measured_at_zero_seconds_leaves_no_estimate(tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache"))
    report = grid.run_grid(PARAMS, folder=tmp_path, budget=10.0, now=lambda: 0.0, progress=False)
    assert (report.trained, report.missing) == (10, 0)  # a frozen clock: every network "took" 0 s
    assert not list((tmp_path / "cache" / "grid").glob("*.json"))


@pytest.mark.slow
def test_on_dask_the_grid_gives_the_in_process_table(tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache-here"))
    grid.run_grid(PARAMS, folder=tmp_path / "here", progress=False)
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache-dask"))
    with engine.executor(2) as ex:
        report = grid.run_grid(PARAMS, folder=tmp_path / "dask", executor=ex, slots=2, progress=False)
    assert (report.trained, report.missing) == (10, 0)
    pd.testing.assert_frame_equal(_rows(tmp_path / "dask"), _rows(tmp_path / "here"), check_exact=True)


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from knnoise.book.grid import main

    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse's usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--budget", "abc"], "error: argument --budget: must be a positive duration"),
        (["--budget", "-5m"], "error: argument --budget"),
        (["--profile", "smoke"], "error: profile 'smoke' sets no save_results for fig4_dnn: pass --out"),
        (["--profile", "nope", "--out", "x"], "error: unknown profile 'nope'"),
        (["--profile", "smoke", "--out", "x", "-p", "repeats", "0"], "error: fig4_dnn: repeats must be"),
        (["--profile", "smoke", "--out", "x", "--scheduler", "nowhere"], "error: scheduler must be"),
        (["--profile", "smoke", "--out", "x", "--group", "0"], "error: argument --group: must be a whole"),
        (["--profile", "smoke", "--out", "x", "--group", "2", "--workers", "2"], "error: argument --workers"),
    ],
)
def test_the_command_refuses_bad_input_in_one_line(capsys, argv, message, tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(capsys, "--root", str(REPO), *argv)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(lines) == 1 and lines[0].startswith(message), err
    assert "Traceback" not in err and not any(tmp_path.glob("x/*.csv"))


def test_the_command_fills_the_table_then_reports_it_complete(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache"))
    small = ["--root", str(REPO), "--profile", "smoke", "--out", str(tmp_path / "tables"), "--no-progress",
             "-p", "train_subset", "300", "-p", "test_subset", "100"]  # fmt: skip
    code, out, _ = _cli(capsys, *small)
    assert code == 0 and "trained 6 network(s)" in out and "the grid is complete: 6 network(s)" in out
    (table,) = (tmp_path / "tables").glob("fig4_digits_300x1_grid_*.csv")
    assert len(pd.read_csv(table)) == 6
    code, out, _ = _cli(capsys, *small)
    assert code == 0 and "trained 0 network(s)" in out and "complete" in out
