"""Paper-scale results as data: tidy tables with provenance, written by a run and drawn by the book.

A Fig. 4 run at the paper's scale takes hours (a GPU box, a cluster), so the book cannot recompute it
while it builds. Such a run writes its networks' accuracies as a tidy CSV (:func:`write_table`) into a
folder that is committed (``results/paper/``); the Fig. 4 chapter draws every table it finds there
(:func:`load_tables`) beside its own live run, labelled with where each came from. Nothing in these
tables is typed by hand: :func:`write_table` writes them from a run, and :func:`from_gpu_points` converts
the JSON that ``scripts/gpu_paper_points.py`` wrote.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from knnoise import noise
from knnoise._io import write_text

__all__ = ["COLUMNS", "from_gpu_points", "label", "load_tables", "provenance", "summarise", "write_table"]

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


def write_table(
    measured: pd.DataFrame,
    schedule: Mapping[str, Any],
    folder: str | os.PathLike[str],
    *,
    train_images: int,
    device: str,
) -> Path:
    """Write a Fig. 4 run's networks (``measured``: one row per network) as a tidy CSV with provenance.

    The file is ``<folder>/fig4_<dataset>_<train images>x<epochs>_<date>.csv``, written atomically.
    """
    where = provenance(device)
    table = measured.copy()
    table["model"] = schedule["model"]
    for key in ("epochs", "lr", "lr_halving_every"):
        table[key] = schedule[key]
    table["train_images"] = train_images
    for key, value in where.items():
        table[key] = value
    name = f"fig4_{table.dataset.iloc[0]}_{train_images}x{schedule['epochs']}_{where['date']}.csv"
    return write_text(Path(folder) / name, table[list(COLUMNS)].to_csv(index=False))


def from_gpu_points(
    path: str | os.PathLike[str], *, dataset: Any, schedule: Mapping[str, Any], device: str, commit: str,
    date: str,
) -> pd.DataFrame:  # fmt: skip
    """Convert ``scripts/gpu_paper_points.py``'s JSON (one network per row, seed 0) into a results table.

    The JSON holds noise, gamma, test accuracy and best epoch; ``selected`` and ``changed`` are recomputed
    by drawing the same corruption the script drew (:func:`knnoise.noise.corrupt`, seed 0), which needs
    no training. ``dataset`` is the :class:`knnoise.data.Dataset` the script trained on.
    """
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
    """Every results table under ``folder`` (``*.csv``, recursively), by file name; an unreadable table
    or one without :data:`COLUMNS` is reported as a warning and left out."""
    tables = {}
    for path in sorted(Path(folder).rglob("*.csv")) if Path(folder).is_dir() else []:
        try:
            table = pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError) as err:
            warnings.warn(f"skipping the unreadable results table {path}: {err}", stacklevel=2)
            continue
        missing = [c for c in COLUMNS if c not in table.columns]
        if missing:
            warnings.warn(f"skipping the results table {path}: it lacks the columns {missing}", stacklevel=2)
            continue
        tables[path.name] = table
    return tables


def label(table: pd.DataFrame) -> str:
    """The provenance of a table in words: device, images, epochs, networks, date."""
    first = table.iloc[0]
    return (
        f"{first.device}, {int(first.train_images):,} images, {int(first.epochs)} epochs, "
        f"{len(table)} networks ({first.date})"
    )


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per (noise, gamma): mean accuracy, its sd (0 for one network), mean fraction selected, networks."""
    return (
        table.groupby(["noise", "gamma"])
        .agg(accuracy=("accuracy", "mean"), sd=("accuracy", "std"), selected=("selected", "mean"),
             networks=("accuracy", "size"))
        .fillna({"sd": 0.0})
    )  # fmt: skip
