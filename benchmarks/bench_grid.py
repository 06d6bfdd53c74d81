"""The grid command against the sweep it replaces (issue 19): the same Fig. 4 networks, on this machine.

``knnoise.pipeline.grid.run_grid`` (what ``python -m knnoise.book.grid`` runs, without a budget) and the
chapter's sweep ``knnoise.experiments.fig4_dnn.train_networks`` train the same cells with the same cell
function; the grid adds its ordering, the done-set read from the results tables, the per-network budget
estimate and one atomic table write per network. Each is timed in a fresh cache (every network trained),
alternately, ``ROUNDS`` times (the machine may be shared), and the grid's accuracies are checked against
the sweep's (the same networks, bit for bit, on one machine).

Workload: the quick profile's Fig. 4 parameters on a smaller grid (``OVERRIDES``: 2,000 training images,
2 epochs, 2 levels per noise model, 1 repeat: 8 networks, one of them locally concentrated), in this
process, 2 torch threads. Printed: seconds per run, per network, and the ratio grid / sweep.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from knnoise.book.grid import grid_parameters
from knnoise.experiments import fig4_dnn
from knnoise.pipeline import grid
from knnoise.pipeline.params import Params

ROUNDS = int(os.environ.get("BENCH_GRID_ROUNDS", "2"))
OVERRIDES = {
    "train_subset": 2000,
    "test_subset": 1000,
    "epochs": 2,
    "repeats": 1,
    "device": "cpu",
    "uniform_gammas": [0.0, 0.5],
    "flip_gammas": [0.2, 0.4],
    "general_gammas": [0.2, 0.4],
    "concentrated_gammas": [0.25],
}


def _in_fresh_cache(work: Callable[[Path], pd.DataFrame]) -> tuple[float, pd.DataFrame]:
    old = os.environ.get("KNNOISE_CACHE")
    with tempfile.TemporaryDirectory(prefix="bench-grid-") as tmp:
        os.environ["KNNOISE_CACHE"] = str(Path(tmp) / "cache")
        try:
            start = time.perf_counter()
            table = work(Path(tmp))
            return time.perf_counter() - start, table
        finally:
            if old is None:
                os.environ.pop("KNNOISE_CACHE", None)
            else:
                os.environ["KNNOISE_CACHE"] = old


def _sweep(params: Params) -> Callable[[Path], pd.DataFrame]:
    return lambda tmp: fig4_dnn.train_networks(params)


def _grid(params: Params) -> Callable[[Path], pd.DataFrame]:
    def work(tmp: Path) -> pd.DataFrame:
        report = grid.run_grid(params, folder=tmp / "results", progress=False)
        assert report.missing == 0, report
        return pd.read_csv(report.table)

    return work


def _accuracies(table: pd.DataFrame) -> pd.Series:
    key = table.assign(gamma=table["gamma"].round(6)).set_index(["noise", "gamma", "repeat"])
    return key["accuracy"].sort_index()


def main() -> None:
    torch.set_num_threads(2)  # before the parameters: p.schedule pins this process's thread count
    params = grid_parameters("quick", overrides=OVERRIDES)
    times: dict[str, list[float]] = {"sweep": [], "grid": []}
    tables: dict[str, pd.DataFrame] = {}
    for _ in range(ROUNDS):
        for name, work in (("sweep", _sweep(params)), ("grid", _grid(params))):
            seconds, tables[name] = _in_fresh_cache(work)
            times[name].append(seconds)
    n = len(tables["sweep"])
    sweep, grid_acc = _accuracies(tables["sweep"]), _accuracies(tables["grid"])
    same = sweep.index.equals(grid_acc.index) and np.array_equal(sweep.to_numpy(), grid_acc.to_numpy())
    print(f"Fig. 4 grid, quick profile with {OVERRIDES}: {n} networks, {ROUNDS} alternating rounds, "
          "fresh caches")  # fmt: skip
    for name, values in times.items():
        each = ", ".join(f"{v:.1f}" for v in values)
        median = np.median(values)
        print(f"  {name:5s}: {each} s  (median {median:.1f} s, {median / n:.2f} s/network)")
    ratio = np.median(times["grid"]) / np.median(times["sweep"])
    print(f"  grid / sweep wall time: {ratio:.3f} (median of {ROUNDS}); same accuracies bit for bit: {same}")
