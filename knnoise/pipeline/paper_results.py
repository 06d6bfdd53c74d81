"""Paper-scale results as data: tidy tables with provenance, written by a run and drawn by the book.

A Fig. 4 run at the paper's scale takes hours (a GPU box, a cluster), so the book cannot recompute it
while it builds. Such a run writes its networks' accuracies as a tidy CSV (:func:`write_table`) into a
folder that is committed (``results/paper/``); the Fig. 4 chapter draws every table it finds there
(:func:`load_tables`) beside its own live run, labelled with where each came from. Nothing in these
tables is typed by hand: :func:`write_table` writes them from a run, and :func:`from_gpu_points` converts
the JSON that ``scripts/gpu_paper_points.py`` wrote.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import subprocess
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from knnoise import noise
from knnoise._io import write_text
from knnoise._outputs import check_writable, check_writable_folder

__all__ = [
    "COLUMNS", "GAMMA_DECIMALS", "IDENTITY", "check_folder", "experiments", "from_gpu_points", "label",
    "load_tables", "merge_tables", "provenance", "summarise", "write_table",
]  # fmt: skip

COLUMNS = (
    "dataset", "model", "noise", "gamma", "selected", "changed", "repeat", "accuracy", "best_epoch",
    "epochs", "lr", "lr_halving_every", "train_images", "device", "commit", "date",
)  # fmt: skip
"""A results table's columns: one row per network (``gamma``: the level asked for, ``selected``: the
fraction selected for corruption, ``changed``: the fraction whose label changed), then its provenance."""


def _commit(root: Path) -> str:
    try:
        command = ["git", "-C", str(root), "rev-parse", "--short", "HEAD"]
        out = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def provenance(device: str, *, root: str | os.PathLike[str] = ".") -> dict[str, str]:
    """Where and when a run happened: the device's name (a GPU's model, else the CPU), commit, date."""
    if device.startswith("cuda"):
        import torch

        name = torch.cuda.get_device_name(torch.device(device))
    else:
        name = f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    return {"device": name, "commit": _commit(Path(root)), "date": datetime.date.today().isoformat()}


def check_folder(folder: str | os.PathLike[str], name: str = "save_results") -> Path:
    """``folder`` as a Path when a results table can be written in it: it exists (or can be made) and is
    writable. Call it before a run computes anything (the ``save_results`` of a paper-scale run), so that
    an unwritable folder fails at once, not after hours of training.

    Raises
    ------
    ValueError
        ``"<name> must be a folder that can be written to, got '<folder>' (<why not>)"``.
    """
    return check_writable_folder(folder, name)


def _as_mapping(schedule: Any) -> Mapping[str, Any]:
    """A :class:`~knnoise.dnn.TrainOptions` (any dataclass) as its fields; a mapping as it is."""
    return dataclasses.asdict(schedule) if dataclasses.is_dataclass(schedule) else schedule


def write_table(
    measured: pd.DataFrame,
    schedule: Any,
    folder: str | os.PathLike[str],
    *,
    train_images: int,
    device: str,
) -> Path:
    """Write a Fig. 4 run's networks (``measured``: one row per network) as a tidy CSV with provenance.

    ``schedule``: the run's :class:`knnoise.dnn.TrainOptions` (``p.schedule``) or a mapping with ``model``,
    ``epochs``, ``lr`` and ``lr_halving_every`` (such as :data:`knnoise.dnn.PAPER_SCHEDULES` ``["mnist"]``).

    The file is ``<folder>/fig4_<dataset>_<train images>x<epochs>_<date>.csv``, written atomically (a
    temporary file renamed into place: never half a table). ``folder`` is checked writable
    (:func:`check_folder`) before anything else is done.
    """
    check_folder(folder, "folder")
    schedule = _as_mapping(schedule)
    where = provenance(device)
    table = measured.copy()
    table["model"] = schedule["model"]
    for key in ("epochs", "lr", "lr_halving_every"):
        table[key] = schedule[key]
    table["train_images"] = train_images
    for key, value in where.items():
        table[key] = value
    name = f"fig4_{table.dataset.iloc[0]}_{train_images}x{schedule['epochs']}_{where['date']}.csv"
    path = check_writable(Path(folder) / name, "folder")  # not, say, a folder of that name
    return write_text(path, table[list(COLUMNS)].to_csv(index=False))


def from_gpu_points(
    path: str | os.PathLike[str], *, dataset: Any, schedule: Any, device: str, commit: str,
    date: str,
) -> pd.DataFrame:  # fmt: skip
    """Convert ``scripts/gpu_paper_points.py``'s JSON (one network per row, seed 0) into a results table.

    The JSON holds noise, gamma, test accuracy and best epoch; ``selected`` and ``changed`` are recomputed
    by drawing the same corruption the script drew (:func:`knnoise.noise.corrupt`, seed 0), which needs
    no training. ``dataset`` is the :class:`knnoise.data.Dataset` the script trained on.
    """
    schedule = _as_mapping(schedule)
    points = json.loads(Path(path).read_text(encoding="utf-8"))
    matrices = {"uniform": noise.uniform(dataset.n_classes), "flip": noise.flip(dataset.n_classes)}
    rows = []
    for point in points:
        draw = noise.corrupt(dataset.y_train, point["gamma"], matrices[point["noise"]], seed=0)
        rows.append({
            "dataset": dataset.name, "model": schedule["model"], "noise": point["noise"],
            "gamma": point["gamma"], "selected": draw.selected_fraction,
            "changed": draw.changed_fraction, "repeat": 0, "accuracy": point["test_accuracy"],
            "best_epoch": point["best_epoch"], "epochs": schedule["epochs"], "lr": schedule["lr"],
            "lr_halving_every": schedule["lr_halving_every"],
            "train_images": dataset.n_train, "device": device, "commit": commit, "date": date,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS))


def load_tables(folder: str | os.PathLike[str]) -> dict[str, pd.DataFrame]:
    """Every results table under ``folder`` (``*.csv``, recursively), by file name.

    A CSV without :data:`COLUMNS` is not a results table: reported as a warning and left out. A damaged
    results table (unreadable, emptied, garbage, truncated: no rows, a row cut short, a value out of
    range) is an error naming it: these tables are committed data, hours of a GPU's work that the book
    cannot recompute, and leaving one out would silently change the figure drawn from them.

    Raises
    ------
    ValueError
        ``"the results table <path> is damaged (<why>): restore it (git checkout -- <path>) ..."``.
    """
    tables = {}
    for path in sorted(Path(folder).rglob("*.csv")) if Path(folder).is_dir() else []:
        try:
            table = pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError) as err:  # EmptyDataError, UnicodeDecodeError
            raise _damaged(path, f"{type(err).__name__}: {err}") from None
        missing = [c for c in COLUMNS if c not in table.columns]
        if missing and ",".join(COLUMNS).startswith(",".join(map(str, table.columns))):
            raise _damaged(path, "its header is cut short")
        if missing:
            warnings.warn(f"skipping the results table {path}: it lacks the columns {missing}", stacklevel=2)
            continue
        problem = _table_problem(table)
        if problem:
            raise _damaged(path, problem)
        tables[path.name] = table
    return tables


def _damaged(path: Path, why: str) -> ValueError:
    return ValueError(
        f"the results table {path} is damaged ({why}): restore it (git checkout -- {path}) or remove it; "
        "it is a run's output, never recomputed by the book"
    )


_FRACTIONS = ("gamma", "selected", "changed", "accuracy")
_COUNTS = ("repeat", "best_epoch", "epochs", "train_images")


def _table_problem(table: pd.DataFrame) -> str | None:
    """Why ``table`` (with every column of :data:`COLUMNS`) is not a whole results table, or None."""
    if table.empty:
        return "no rows"
    required = [c for c in COLUMNS if c != "lr_halving_every"]
    gaps = table[required].isna().any()
    if gaps.any():
        return f"missing values in {list(gaps[gaps].index)} (a row cut short)"
    for column in (*_FRACTIONS, *_COUNTS, "lr"):
        values = pd.to_numeric(table[column], errors="coerce")
        low, high = (0.0, 1.0) if column in _FRACTIONS else (0.0, float("inf"))
        if values.isna().any() or not values.between(low, high).all():
            return f"{column} holds values that are not numbers in [{low:g}, {high:g}]"
    try:
        table["date"].map(lambda d: datetime.date.fromisoformat(str(d)))
    except ValueError as err:
        return f"a date is not YYYY-MM-DD ({err})"
    return None


IDENTITY = ("dataset", "model", "epochs", "lr", "lr_halving_every", "train_images")
"""The columns that say two tables' rows come from the same experiment (with noise, gamma and repeat)."""
GAMMA_DECIMALS = 9
"""Noise levels are compared rounded to this many decimals (a CSV round trip may change the last bits)."""


def merge_tables(tables: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """One table of every network in ``tables``, each (experiment, noise, gamma, repeat) once: the
    earliest row by date (then in the order given), so tables of several runs merge without duplicates."""
    frames = [t for t in tables if len(t)]
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    merged = pd.concat(frames, ignore_index=True)
    merged["_gamma"] = merged["gamma"].round(GAMMA_DECIMALS)
    merged["_halving"] = merged["lr_halving_every"].fillna(-1)  # None (no halving) is a value here
    keys = [*(c if c != "lr_halving_every" else "_halving" for c in IDENTITY), "noise", "_gamma", "repeat"]
    merged = merged.sort_values("date", kind="stable").drop_duplicates(subset=keys, keep="first")
    return merged.sort_index().drop(columns=["_gamma", "_halving"]).reset_index(drop=True)


def experiments(tables: Mapping[str, pd.DataFrame] | Iterable[pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The networks of ``tables`` merged (:func:`merge_tables`) and split by experiment (:data:`IDENTITY`):
    one table per experiment (however many runs, GPU leases say, it took), keyed by its identity as text
    (``dataset/model/epochs/lr/lr_halving_every/train_images``)."""
    merged = merge_tables(tables.values() if isinstance(tables, Mapping) else tables)
    if merged.empty:
        return {}
    groups = merged.assign(_halving=merged["lr_halving_every"].fillna(-1)).groupby(
        [c if c != "lr_halving_every" else "_halving" for c in IDENTITY], sort=False
    )
    return {"/".join(map(str, key)): g.drop(columns="_halving").reset_index(drop=True) for key, g in groups}


def label(table: pd.DataFrame) -> str:
    """The provenance of a table in words: device(s), images, epochs, networks, date (or date range)."""
    first = table.iloc[0]
    devices = " + ".join(dict.fromkeys(map(str, table.device)))
    dates = sorted(set(map(str, table.date)))
    when = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
    return (
        f"{devices}, {int(first.train_images):,} images, {int(first.epochs)} epochs, "
        f"{len(table)} networks ({when})"
    )


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per (noise, gamma): mean accuracy, its sd (0 for one network), mean fraction selected, networks."""
    return (
        table.groupby(["noise", "gamma"])
        .agg(accuracy=("accuracy", "mean"), sd=("accuracy", "std"), selected=("selected", "mean"),
             networks=("accuracy", "size"))
        .fillna({"sd": 0.0})
    )  # fmt: skip
