"""Noise sweeps: independent cells (noise kind x gamma x repeat), cached one file per cell, resumable.

A cell is a small frozen record; the work for it is a module-level function ``fn(cell, **params)``
returning one or more result rows (dicts). Each finished cell is written atomically to
``$KNNOISE_CACHE/sweeps/<name>/<key>.json``, where the key hashes the sweep's name, its parameters and
the cell, so a killed sweep resumes where it stopped and a changed parameter starts afresh. Cells share
no state and are handed to an executor (a local process pool by default when ``n_jobs > 1``); any
:class:`concurrent.futures.Executor` can be passed instead, e.g. a distributed one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from tqdm.auto import tqdm

from knnoise._checks import check_int
from knnoise._io import cache_dir, read_json, write_json

__all__ = ["PROBE_TIMEOUT", "Cell", "check_importable", "grid", "run_sweep", "sweep_dir"]

PROBE_TIMEOUT = 120.0  # seconds for a worker to answer the import probe (check_importable)


@dataclass(frozen=True, order=True)
class Cell:
    """One sweep cell: a noise kind, a noise level and a repeat index (which seeds the noise draw).

    ``concentration``: the knob of partially concentrated noise (:func:`knnoise.noise.
    partially_concentrated`), None for the other kinds (then in neither the cell's key nor its rows).
    """

    noise: str
    gamma: float
    repeat: int
    concentration: float | None = None

    def fields(self) -> dict[str, Any]:
        """The cell's values, as its rows and its cache key carry them (``concentration`` when set)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def grid(noise_gammas: Mapping[str, Iterable[float]], repeats: int) -> list[Cell]:
    """All cells of ``{noise kind: gammas}`` x ``range(repeats)``."""
    check_int("repeats", repeats)
    return [
        Cell(str(kind), float(g), r)
        for kind, gammas in noise_gammas.items()
        for g in gammas
        for r in range(repeats)
    ]


def sweep_dir(name: str) -> Path:
    """Where the cells of sweep ``name`` are stored."""
    if not name or any(ch in name for ch in "/\\") or name.startswith("."):
        raise ValueError(f"name must be a plain folder name, got {name!r}")
    return cache_dir() / "sweeps" / name


def _plain(value: Any) -> Any:
    """``value`` with every dataclass instance in it (a :class:`~knnoise.dnn.TrainOptions`, a
    :class:`~knnoise.pipeline.data_spec.DataSpec`) as ``{class name: its fields}`` (or its ``key()``,
    where it has one: :meth:`~knnoise.dnn.TrainOptions.key`, the training cache's), through lists, tuples
    and dicts: a key that does not depend on where the class is defined."""
    if is_dataclass(value) and not isinstance(value, type):
        return {type(value).__name__: value.key() if callable(getattr(value, "key", None)) else asdict(value)}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def _key(name: str, params: Mapping[str, Any], cell: Cell) -> str:
    """The cell's file name: a hash of the sweep's name, its parameters (dataclasses by their fields:
    :func:`_plain`) and the cell."""
    return joblib.hash({"name": name, "params": _plain(dict(params)), "cell": cell.fields()})


def _is_cell_file(payload) -> bool:
    return isinstance(payload, dict) and isinstance(payload.get("rows"), list)


def _run_cell(fn: Callable, cell: Cell, params: Mapping[str, Any]) -> list[dict]:
    rows = fn(cell, **params)
    rows = [rows] if isinstance(rows, Mapping) else list(rows)
    return [{**cell.fields(), **row} for row in rows]


def _import_probe(module: str, qualname: str) -> Callable[[], str | None]:
    """A task that imports ``module.qualname`` where it runs: None, or why it cannot.

    A closure, so that it is sent by value (cloudpickle) and needs only the standard library there: a
    worker that cannot import knnoise itself still answers.
    """

    def probe() -> str | None:
        import importlib

        try:
            found = importlib.import_module(module)
            for part in qualname.split("."):
                found = getattr(found, part)
        except Exception as err:  # noqa: BLE001 - reported to the client as text
            return f"{type(err).__name__}: {err}"
        return None

    return probe


def check_importable(pool: Executor, fn: Callable, timeout: float = PROBE_TIMEOUT) -> None:
    """Check that a worker of ``pool`` can import the cell function ``fn`` before any cell is sent.

    A Dask worker that cannot unpickle a task (a function from a module only the client has) drops its
    connection and the sweep would wait for ever; here it is a clear error instead. Functions sent by
    value (defined in ``__main__``, a notebook, or another function) need no check.

    Raises
    ------
    RuntimeError
        Naming the function and the import error, or saying that no worker ran within ``timeout`` s.
    """
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if module in (None, "__main__") or "<locals>" in qualname:
        return
    try:
        why = pool.submit(_import_probe(module, qualname)).result(timeout=timeout)
    except TimeoutError:
        raise RuntimeError(f"no worker of {type(pool).__name__} ran a task within {timeout:g} s") from None
    if why is not None:
        raise RuntimeError(
            f"the sweep's cell function {module}.{qualname} cannot be imported on the workers ({why}); "
            "define it in a module every worker can import (an installed package, or their PYTHONPATH)"
        )


def run_sweep(
    fn: Callable[..., Mapping | Iterable[Mapping]],
    cells: Iterable[Cell],
    *,
    name: str,
    params: Mapping[str, Any] | None = None,
    n_jobs: int = 1,
    executor: Executor | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Run ``fn(cell, **params)`` for every cell not already cached, and return all rows as a tidy table.

    Parameters
    ----------
    fn : callable
        A module-level function (picklable, for process pools) returning a dict or a list of dicts.
    cells : iterable of Cell
        The sweep's cells; each row of the result carries its cell's ``noise``, ``gamma``, ``repeat``.
    name : str
        The sweep's folder under ``$KNNOISE_CACHE/sweeps``.
    params : mapping, optional
        Keyword arguments of ``fn`` shared by all cells; part of each cell's cache key.
    n_jobs : int
        Worker processes (1: run in this process).
    executor : Executor, optional
        Use this executor instead (``n_jobs`` is then ignored).
    progress : bool
        Show a progress bar over the cells.
    """
    params = dict(params or {})
    cells = list(cells)
    if not all(isinstance(c, Cell) for c in cells):
        raise TypeError("cells must be knnoise.pipeline.sweep.Cell records (see grid)")
    check_int("n_jobs", n_jobs)
    folder = sweep_dir(name)
    paths = {cell: folder / f"{_key(name, params, cell)}.json" for cell in cells}
    done = {cell: read_json(paths[cell], check=_is_cell_file) for cell in cells}  # damaged: dropped
    todo = [cell for cell in cells if done[cell] is None]
    with tqdm(
        total=len(cells), initial=len(cells) - len(todo), desc=name, unit="cell", disable=not progress
    ) as bar:
        if executor is None and n_jobs == 1:
            for cell in todo:
                done[cell] = {"cell": cell.fields(), "rows": _run_cell(fn, cell, params)}
                write_json(paths[cell], done[cell])
                bar.update()
        elif todo:
            own = executor is None
            pool = executor or ProcessPoolExecutor(max_workers=n_jobs)
            try:
                if not own:
                    check_importable(pool, fn)
                futures = {pool.submit(_run_cell, fn, cell, params): cell for cell in todo}
                for future in as_completed(futures):
                    cell = futures[future]
                    done[cell] = {"cell": cell.fields(), "rows": future.result()}
                    write_json(paths[cell], done[cell])
                    bar.update()
            finally:
                if own:
                    pool.shutdown(cancel_futures=True)
    rows = [row for cell in cells for row in done[cell]["rows"]]
    return pd.DataFrame(rows)
