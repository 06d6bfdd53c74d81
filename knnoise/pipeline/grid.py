"""Paper-scale grids in short leases: train the networks no results table holds yet, within a time budget.

The paper's Fig. 4 grid on MNIST is 53 noise levels x 10 repeats = 530 networks of 20 epochs: hours, where a
GPU comes in leases of minutes. :func:`run_grid` makes progress in any lease and picks up where the last
one stopped, on this machine or another:

- **what is done** is read from the committed tables under ``results/paper`` (:func:`done_cells`): a
  network is done when some table holds a row with its noise, level and repeat under the same dataset,
  model, schedule and training-set size; tables from several runs merge without duplicates
  (:func:`knnoise.pipeline.paper_results.merge_tables`);
- **breadth first** (:func:`order`): repeat 0 of every level of every noise model before any level gets a
  repeat 1, the clean network first (the locally concentrated cells start from its features) and the
  concentrated cells after the randomly spread ones;
- **within the budget**: a network, or a group of networks (on a GPU: every cell but the clean network,
  as many as fit), is started only when its estimated time fits in what is left; the estimate is the
  slowest network trained so far, remembered between runs under ``$KNNOISE_CACHE/grid``; without one,
  the first network or group is started and the trainer's deadline (:func:`knnoise.dnn.deadline`, in
  this process) stops it after its first epoch if it cannot finish, its projection then sizing the next,
  smaller try;
- **one row at a time**: every finished network is appended to this run's table atomically (the whole CSV
  rewritten through a temporary file), so an interrupted run keeps every network it finished; the networks
  themselves are in the training cache, so a Fig. 4 chapter run afterwards loads them.

Each cell is :func:`knnoise.pipeline.networks.dnn_cell`, exactly as the chapter's sweep runs it, in this
process or on a Dask executor (:mod:`knnoise.pipeline.engine`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from knnoise._checks import check_int
from knnoise._io import cache_dir, read_json, write_json, write_text
from knnoise.dnn import OutOfTime, deadline, group_size, pick_device
from knnoise.dnn.grouped import GROUP_MODELS
from knnoise.pipeline import paper_results
from knnoise.pipeline.networks import (
    CLEAN_CELL,
    NOISE_KINDS,
    cell_options,
    clean_network,
    clean_network_cached,
    dnn_cell,
    train_cells_grouped,
)
from knnoise.pipeline.params import Params
from knnoise.pipeline.sweep import Cell, check_importable

__all__ = ["GridReport", "done_cells", "order", "run_grid"]

_ROW_KEY = ("noise", "gamma", "repeat")


@dataclass(frozen=True)
class GridReport:
    """What :func:`run_grid` did: this run's table (None if it trained nothing), networks trained, cells
    still missing afterwards, the grid's size, whether the budget stopped it, and its wall time."""

    table: Path | None
    trained: int
    missing: int
    total: int
    stopped_by_budget: bool
    seconds: float


def order(levels: Mapping[str, Iterable[float]], repeats: int) -> list[Cell]:
    """The grid's cells breadth first: repeat by repeat; in each, the clean cell (uniform, gamma 0) first,
    then the randomly spread kinds level by level, then the locally concentrated cells."""
    kinds = [k for k in NOISE_KINDS if k in levels] + [k for k in levels if k not in NOISE_KINDS]
    cells = []
    for repeat in range(repeats):
        spread = [Cell(k, float(g), repeat) for k in kinds if k != "concentrated" for g in levels[k]]
        spread.sort(key=lambda c: (c.gamma != 0 or c.noise != "uniform", c.gamma))  # clean first
        cells += spread + [Cell("concentrated", float(g), repeat) for g in levels.get("concentrated", ())]
    return cells


def _identity(p: Params, train_images: int) -> dict[str, Any]:
    schedule = p.schedule
    return {
        "dataset": p.data.dataset, "model": schedule.model, "epochs": schedule.epochs, "lr": schedule.lr,
        "lr_halving_every": schedule.lr_halving_every, "train_images": train_images,
    }  # fmt: skip


def _matches(table: pd.DataFrame, identity: Mapping[str, Any]) -> pd.Series:
    keep = pd.Series(True, index=table.index)
    for column, value in identity.items():
        if value is None:
            keep &= table[column].isna()
        elif isinstance(value, str):
            keep &= table[column].astype(str) == value
        else:
            keep &= pd.to_numeric(table[column], errors="coerce") == value
    return keep


def done_cells(tables: Iterable[pd.DataFrame], identity: Mapping[str, Any]) -> set[tuple[str, float, int]]:
    """``(noise, gamma, repeat)`` of every network of experiment ``identity`` that a table holds."""
    merged = paper_results.merge_tables(tables)
    rows = merged[_matches(merged, identity)] if len(merged) else merged
    return {
        (str(n), round(float(g), paper_results.GAMMA_DECIMALS), int(r))
        for n, g, r in rows[list(_ROW_KEY)].values
    }


def _key(cell: Cell) -> tuple[str, float, int]:
    return cell.noise, round(cell.gamma, paper_results.GAMMA_DECIMALS), cell.repeat


class _Table:
    """This run's results table: rows appended one network at a time, each time written atomically."""

    def __init__(self, folder: Path, identity: Mapping[str, Any], where: Mapping[str, str]) -> None:
        self.stem = f"fig4_{identity['dataset']}_{identity['train_images']}x{identity['epochs']}"
        self.path = folder / f"{self.stem}_grid_{where['date']}_{uuid.uuid4().hex[:6]}.csv"
        self.fixed = {**identity, **where}
        self.rows: list[dict[str, Any]] = []

    def append(self, row: Mapping[str, Any]) -> None:
        self.rows.append({**row, **self.fixed})
        table = pd.DataFrame(self.rows).reindex(columns=list(paper_results.COLUMNS))
        write_text(self.path, table.to_csv(index=False))


class _Clock:
    """The budget: seconds left, and per way of training (``"lone"``, ``"group"``) the slowest network so
    far, remembered under ``$KNNOISE_CACHE/grid`` per experiment, so that the next lease starts with an
    estimate. A run the trainer's deadline stopped leaves a projection (``"<mode>:projected"``), used only
    until a finished run of that mode has been measured."""

    def __init__(self, budget: float | None, memo: Path, now: Callable[[], float]) -> None:
        self.budget, self.memo, self.now, self.start = budget, memo, now, now()
        saved = read_json(memo, check=lambda p: isinstance(p, dict)) or {}
        self.per_network: dict[str, float] = {
            str(k): float(v) for k, v in saved.items() if isinstance(v, int | float) and 0 < v < float("inf")
        }

    def left(self) -> float:
        return float("inf") if self.budget is None else self.budget - (self.now() - self.start)

    def estimate(self, mode: str) -> float | None:
        """Seconds per network of ``mode``: the slowest finished one, else the largest projection."""
        return self.per_network.get(mode, self.per_network.get(f"{mode}:projected"))

    def fits(self, networks: int, mode: str = "lone") -> bool:
        """Whether ``networks`` more (side by side, or as one group) would finish within the budget."""
        return self.fitting(networks, mode) == max(networks, 1)

    def fitting(self, networks: int, mode: str = "lone") -> int:
        """How many of ``networks`` (side by side, or as one group) would finish within the budget: all
        of them before anything was measured (the first run is the measurement; the trainer's deadline,
        :meth:`deadline`, stops it after its first epoch if it cannot finish)."""
        networks, per = max(networks, 1), self.estimate(mode)
        if self.budget is None:
            return networks
        if per is None:
            return networks if self.left() > 0 else 0
        return max(min(networks, int(self.left() // per)), 0)

    def deadline(self) -> float | None:
        """Seconds left for :func:`knnoise.dnn.deadline` (None without a budget)."""
        return None if self.budget is None else max(self.left(), 0.0)

    def record(self, seconds: float, networks: int = 1, mode: str = "lone", projected: bool = False) -> None:
        """A run of ``networks`` took (or, ``projected``, would have taken) ``seconds``."""
        per, key = seconds / max(networks, 1), f"{mode}:projected" if projected else mode
        if per > 0:
            self.per_network[key] = max(per, self.per_network.get(key, 0.0))
            write_json(self.memo, self.per_network)


def _row(
    cell: Cell, options: Mapping[str, Any], seconds: float | None = None
) -> tuple[dict[str, Any], float]:
    """Train (or load) one cell's network, within ``seconds`` (:func:`knnoise.dnn.deadline`; None: no
    deadline of its own) wherever it runs; its results row and the seconds it took."""
    start = time.perf_counter()
    with deadline(seconds):
        row = {**cell.fields(), **dnn_cell(cell, **options)}
    return row, time.perf_counter() - start


def _groupable(cell: Cell) -> bool:
    """Every cell but the clean network's (the concentrated cells' groups start from its features)."""
    return not (cell.gamma == 0 and cell.repeat == 0)


def _loads_the_clean_network(cell: Cell) -> bool:
    """A level-0 cell of repeat 0 of another noise kind: the clean network again (loaded, not timed)."""
    return cell.gamma == 0 and cell.repeat == 0 and cell != CLEAN_CELL


def _run_length(todo: Sequence[Cell], i: int, most: int) -> int:
    """How many groupable cells follow in a row from ``todo[i]`` (at most ``most``)."""
    n = 0
    while n < most and i + n < len(todo) and _groupable(todo[i + n]):
        n += 1
    return n


def _clean_network_ready(run: _Run) -> bool:
    """The clean network in this machine's cache, before a group with locally concentrated cells (their
    labels start from its features): loaded, or trained lone if it fits the budget; False when it does
    not, or the deadline stops it."""
    options = run.options
    if not clean_network_cached(run.ds, options["schedule"], options["data"].seed) and not run.clock.fits(1):
        return False
    try:
        with deadline(run.clock.deadline()):
            clean_network(run.ds, options["schedule"], seed=options["data"].seed, device=options["device"])
    except OutOfTime as out:
        run.clock.record(out.seconds_per_network, projected=True)
        return False
    return True


def _train_group(cells: list[Cell], run: _Run) -> OutOfTime | None:
    """The networks of ``cells`` as one stacked model, into the training cache; the trainer's
    :class:`~knnoise.dnn.OutOfTime` when its deadline stopped it (its projection is then recorded)."""
    options = run.options
    try:
        with deadline(run.clock.deadline()):
            train_cells_grouped(run.ds, cells, options["schedule"], seed=options["data"].seed,
                                device=options["device"], max_group=len(cells))  # fmt: skip
    except OutOfTime as out:
        run.clock.record(out.seconds_per_network, mode="group", projected=True)
        return out
    return None


def _run_here(todo: Sequence[Cell], run: _Run, group: int) -> int:
    """The cells in this process, in order; runs of cells other than the clean network as groups of up to
    ``group`` (if > 1), each as large as the budget says can finish. A group that the trainer's deadline
    stops (:func:`knnoise.dnn.deadline`) leaves its projection, and the next try is smaller."""
    trained, i, most = 0, 0, group
    while i < len(todo):
        grouped = most > 1 and _groupable(todo[i])
        if grouped:
            batch = list(todo[i : i + run.clock.fitting(_run_length(todo, i, most), "group")])
            needs_clean = any(c.noise == "concentrated" for c in batch)
            if not batch or (needs_clean and not _clean_network_ready(run)):
                break
            start = run.clock.now()
            stopped = _train_group(batch, run)
            if stopped is not None:  # retry as many as its projection fits, and strictly fewer
                most = min(len(batch) - 1, max(int(run.clock.left() // stopped.seconds_per_network), 0))
                if most < 1:
                    break
                continue
        else:
            batch = [todo[i]]
            if not run.clock.fits(1):
                break
        try:
            with deadline(run.clock.deadline()):
                for cell in batch:  # a grouped network loads from the cache; a lone one trains
                    began = run.clock.now()
                    row, _ = _row(cell, run.options)
                    measured = not grouped and not _loads_the_clean_network(cell)
                    run.finished(row, run.clock.now() - began if measured else None)
                    trained, i = trained + 1, i + 1
        except OutOfTime as out:
            run.clock.record(out.seconds_per_network, projected=True)
            break
        if grouped:  # the group's time per network, its rows included
            run.clock.record(run.clock.now() - start, len(batch), "group")
    return trained


def _run_on(pool: Executor, slots: int, todo: Sequence[Cell], run: _Run) -> int:
    """The cells on an executor, at most ``slots`` at a time, the clean network alone first (the
    concentrated cells start from its features); a cell starts only if it fits the budget, and trains
    within what is left of it (a network the deadline stops ends the run once the others finish)."""
    check_importable(pool, dnn_cell)
    queue, running, trained = list(todo), {}, 0
    while queue or running:
        alone = bool(queue) and queue[0] == CLEAN_CELL
        while queue and len(running) < (1 if alone else slots) and run.clock.fits(1):
            cell = queue.pop(0)  # a network beside the running ones finishes in its own time
            running[pool.submit(_row, cell, run.options, run.clock.deadline())] = cell
            if alone:
                break
        if not running:
            break
        finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
        for future in finished:
            running.pop(future)
            try:
                run.finished(*future.result())
            except OutOfTime as out:
                run.clock.record(out.seconds_per_network, projected=True)
                queue.clear()  # nothing more starts; the running networks finish or stop themselves
                continue
            trained += 1
    return trained


@dataclass
class _Run:
    """One grid run's state: the cells' options, the dataset, the table, the clock and the bar."""

    options: Mapping[str, Any]
    ds: Any
    table: _Table
    clock: _Clock
    bar: Any

    def finished(self, row: Mapping[str, Any], seconds: float | None) -> None:
        """A network is done: its row into the table (atomically); its time (if trained lone) measured."""
        self.table.append(row)
        if seconds is not None:
            self.clock.record(seconds)
        self.bar.update()


def run_grid(
    p: Params,
    *,
    folder: str | Path,
    budget: float | None = None,
    executor: Executor | None = None,
    slots: int = 1,
    group: int | None = None,
    progress: bool = True,
    now: Callable[[], float] = time.monotonic,
) -> GridReport:
    """Train the networks of Fig. 4's grid that no table in ``folder`` holds yet, within ``budget`` seconds.

    Parameters
    ----------
    p : Params
        The ``fig4_dnn`` chapter's parameters (``data``, ``schedule``, ``device``, ``repeats`` and the
        ``<kind>_gammas``), e.g. from a profile (:func:`knnoise.book.grid.grid_parameters`).
    folder : path
        Where the results tables are (read to skip what is done) and this run's table is written.
    budget : float or None
        Wall-time budget in seconds; None: until the grid is complete.
    executor, slots : Executor or None, int
        Run the cells there (a Dask executor, :func:`knnoise.pipeline.engine.executor`), ``slots`` at a
        time (its worker count); None: in this process, one at a time (or in groups, ``group``).
    group : int or None
        Networks per stacked group in this process (:func:`knnoise.dnn.train_group`; every cell but the
        clean network, which the concentrated cells' labels start from). None: as many as fit on a GPU
        (:func:`knnoise.dnn.group_size`), 1 on the CPU (grouping buys nothing there). Ignored with an
        ``executor``.
    progress : bool
        A progress bar over the grid's networks.
    now : callable
        The clock (seconds); tests pass a fake one.

    Returns
    -------
    GridReport
    """
    group = check_int("group", group, minimum=1, allow_none=True)
    if group is not None and group > 1 and p.schedule.model not in GROUP_MODELS:
        raise ValueError(f"group={group} needs a model that can be stacked ({', '.join(GROUP_MODELS)}), "
                         f"got model={p.schedule.model!r}; leave group unset")  # fmt: skip
    options = cell_options(p)
    ds = p.data.load()
    identity = _identity(p, ds.n_train)
    folder = Path(folder)
    levels = {kind: list(getattr(p, f"{kind}_gammas")) for kind in NOISE_KINDS}
    cells = order(levels, p.repeats)
    done = done_cells(paper_results.load_tables(folder).values(), identity)
    todo = [c for c in cells if _key(c) not in done]
    device = pick_device(p.device)
    folder.mkdir(parents=True, exist_ok=True)
    table = _Table(folder, identity, paper_results.provenance(str(device), root=folder))  # folder's commit
    clock = _Clock(budget, cache_dir() / "grid" / f"{table.stem}_{device.type}.json", now)
    if executor is not None or identity["model"] not in GROUP_MODELS:
        group = 1
    elif group is None:
        group = group_size(ds, model=identity["model"], device=device) if device.type == "cuda" else 1
    with tqdm(total=len(cells), initial=len(cells) - len(todo), desc="grid", unit="net",
              disable=not progress) as bar:  # fmt: skip
        run = _Run(options, ds, table, clock, bar)
        trained = _run_here(todo, run, group) if executor is None else _run_on(executor, slots, todo, run)
    return GridReport(
        table=table.path if table.rows else None,
        trained=trained,
        missing=len(todo) - trained,
        total=len(cells),
        stopped_by_budget=trained < len(todo),
        seconds=now() - clock.start,
    )
