"""The networks of Sec. 4: corrupt the training labels, train a network, measure clean test accuracy.

Every network goes through the network cache (:func:`knnoise.dnn.train_with`, ``cache=True``), keyed by
its data, labels and schedule (a chapter's ``p.schedule``, a :class:`~knnoise.dnn.TrainOptions` passed
down whole), so the chapters share them: the clean network and the noisy ones trained for Fig. 4 are the
ones Fig. 2 and the supplement read. :func:`dnn_cell` is the sweep cell (:mod:`knnoise.pipeline.sweep`);
it receives the chapter's :class:`~knnoise.pipeline.data_spec.DataSpec` and loads the (cached) dataset
itself, so cells can run in other processes.
:func:`send_networks` hands a chapter's networks to an engine (:mod:`knnoise.pipeline.engine`), the
clean network first, so that the chapter's own calls then load them from the cache.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

import numpy as np
import pandas as pd

from knnoise import noise
from knnoise.data import Dataset
from knnoise.dnn.grouped import train_group_with
from knnoise.dnn.options import TrainOptions
from knnoise.dnn.result import TrainResult
from knnoise.dnn.training import train_with
from knnoise.pipeline.data_spec import DataSpec
from knnoise.pipeline.params import Params
from knnoise.pipeline.sweep import Cell, run_sweep

__all__ = [
    "NOISE_KINDS",
    "alternative_matrix",
    "cell_options",
    "clean_network",
    "clean_network_cached",
    "corruption_matrix",
    "dnn_cell",
    "knob_network",
    "noisy_labels",
    "noisy_network",
    "send_networks",
    "train_cells_grouped",
]

NOISE_KINDS = ("uniform", "flip", "general", "concentrated")
KNOB = "partially concentrated"  # the noise of knob cells (Cell.concentration set)
CLEAN_CELL = Cell("uniform", 0.0, 0)  # gamma 0, repeat 0: the clean network (dnn_cell)


def corruption_matrix(kind: str, n_labels: int, seed: int = 0) -> np.ndarray | None:
    """The corruption matrix of a randomly spread noise kind (None for locally concentrated noise)."""
    if kind == "uniform":
        return noise.uniform(n_labels)
    if kind == "flip":
        return noise.flip(n_labels)
    if kind == "general":
        return noise.general(n_labels, seed=seed)
    if kind == "concentrated":
        return None
    raise ValueError(f"noise kind must be one of {NOISE_KINDS}, got {kind!r}")


def _train_noisy(
    ds: Dataset, labels: np.ndarray, schedule: TrainOptions, seed: int, device: str
) -> TrainResult:
    """A cached network on noisy labels (without train-set outputs, which only the clean net needs)."""
    quiet = {"device": device, "progress": False, "cache": True}
    return train_with(ds, labels, schedule.replace(train_outputs=False), seed=seed, **quiet)


def clean_network(ds: Dataset, schedule: TrainOptions, seed: int = 0, device: str = "auto") -> TrainResult:
    """The network trained on the clean labels (with its train-set features, for concentrated noise)."""
    quiet = {"device": device, "progress": False, "cache": True}
    return train_with(ds, ds.y_train, schedule.replace(train_outputs=True), seed=seed, **quiet)


def clean_network_cached(ds: Dataset, schedule: TrainOptions, seed: int = 0) -> bool:
    """Whether :func:`clean_network` would load (not train) the clean network."""
    from knnoise.dnn import is_cached

    return is_cached(ds, ds.y_train, seed=seed, **schedule.replace(train_outputs=True).key())


def noisy_labels(
    ds: Dataset, kind: str, gamma: float, repeat: int, *, seed: int = 0, embedding: np.ndarray | None = None
) -> noise.Corruption:
    """The noisy training labels of one sweep cell; the same (kind, gamma, repeat, seed), the same labels.

    Locally concentrated noise needs ``embedding``: the clean network's train-set features (Sec. 4).
    """
    kind_index = NOISE_KINDS.index(kind) if kind in NOISE_KINDS else -1
    rng_seed = [seed, kind_index, int(round(gamma * 1_000_000)), repeat]
    if kind == "concentrated":
        if embedding is None:
            raise ValueError("concentrated noise needs embedding (the clean network's train_features)")
        kmeans_seed = int(np.random.default_rng(rng_seed).integers(2**31))
        return noise.concentrated(embedding, ds.y_train, gamma, seed=kmeans_seed, n_labels=ds.n_classes)
    P = corruption_matrix(kind, ds.n_classes, seed=seed)
    return noise.corrupt(ds.y_train, gamma, P, seed=rng_seed)


def noisy_network(
    ds: Dataset,
    kind: str,
    gamma: float,
    repeat: int,
    schedule: TrainOptions,
    *,
    seed: int = 0,
    device: str = "auto",
) -> tuple[TrainResult, noise.Corruption]:
    """Train (or load) the network of one cell; returns it with the corruption it was trained on."""
    embedding = None
    if kind == "concentrated":
        embedding = clean_network(ds, schedule, seed=seed, device=device).train_features
    corruption = noisy_labels(ds, kind, gamma, repeat, seed=seed, embedding=embedding)
    if gamma == 0 and repeat == 0:  # the clean network itself: trained once, shared by every noise kind
        return clean_network(ds, schedule, seed=seed, device=device), corruption
    return _train_noisy(ds, corruption.labels, schedule, seed + repeat, device), corruption


def train_cells_grouped(
    ds: Dataset,
    cells: list[Cell],
    schedule: TrainOptions,
    *,
    seed: int = 0,
    device: str = "auto",
    max_group: int | None = None,
) -> int:
    """Train the networks of noise ``cells`` as groups (:func:`knnoise.dnn.train_group`).

    Each network lands in the cache entry its lone :func:`noisy_network` would use, so the sweep's cells
    then load instead of training; cells already cached are skipped. The clean network (``gamma = 0``,
    repeat 0) stays lone and is trained (or loaded) first when a locally concentrated cell needs its
    features; then the concentrated cells join the group like the others. Knob cells (``concentration``
    set) are left to the sweep. ``max_group``: networks per stacked model (None: as many as fit,
    :func:`knnoise.dnn.group_size`). Returns the number of networks handed to the groups.
    """
    todo = [c for c in cells if c.concentration is None and not (c.gamma == 0 and c.repeat == 0)]
    if not todo:
        return 0
    embedding = None
    if any(c.noise == "concentrated" for c in todo):
        embedding = clean_network(ds, schedule, seed=seed, device=device).train_features
    labels = [noisy_labels(ds, c.noise, c.gamma, c.repeat, seed=seed, embedding=embedding).labels
              for c in todo]  # fmt: skip
    seeds = [seed + c.repeat for c in todo]
    options = schedule.replace(train_outputs=False)
    run = {"device": device, "progress": False, "cache": True, "max_group": max_group}
    train_group_with(ds, labels, seeds, options, **run)
    return len(todo)


def dnn_cell(cell: Cell, *, data: DataSpec, schedule: TrainOptions, device: str = "auto") -> dict[str, Any]:
    """A sweep cell (:func:`knnoise.pipeline.sweep.run_sweep`): one noisy network's clean test accuracy.

    ``cell.concentration`` set: partially concentrated noise (:func:`knob_network`), else ``cell.noise``.
    ``data`` is loaded where the cell runs; ``schedule`` carries the thread count of the process that made
    it (:func:`cell_options`).
    """
    ds = data.load()
    if cell.concentration is None:
        result, corruption = noisy_network(
            ds, cell.noise, cell.gamma, cell.repeat, schedule, seed=data.seed, device=device
        )
    else:
        result, corruption = knob_network(
            ds, cell.gamma, cell.concentration, cell.repeat, schedule, seed=data.seed, device=device
        )
    return {
        "dataset": ds.name,
        "model": f"DNN ({schedule.model})",
        "accuracy": float(result.test_accuracy),
        "selected": corruption.selected_fraction,
        "changed": corruption.changed_fraction,
        "best_epoch": int(result.best_epoch),
    }


def alternative_matrix(n_labels: int) -> np.ndarray:
    """The flip matrix of locally concentrated noise: class ``c`` to its alternative ``(c + L//2) mod L``."""
    return noise.flip(n_labels, mapping=(np.arange(n_labels) + n_labels // 2) % n_labels)


def knob_network(
    ds: Dataset,
    gamma: float,
    concentration: float,
    repeat: int,
    schedule: TrainOptions,
    *,
    seed: int = 0,
    device: str = "auto",
) -> tuple[TrainResult, noise.Corruption]:
    """A network trained on :func:`knnoise.noise.partially_concentrated` labels (clean net's features)."""
    embedding = clean_network(ds, schedule, seed=seed, device=device).train_features
    rng_seed = [seed, int(round(gamma * 1_000_000)), int(round(concentration * 1_000_000)), repeat]
    corruption = noise.partially_concentrated(
        embedding,
        ds.y_train,
        gamma,
        concentration,
        seed=int(np.random.default_rng(rng_seed).integers(2**31)),
        n_labels=ds.n_classes,
    )
    return _train_noisy(ds, corruption.labels, schedule, seed + repeat, device), corruption


def cell_options(p: Params) -> dict[str, Any]:
    """What :func:`dnn_cell` takes besides the cell, from a chapter's parameters: ``p.data``,
    ``p.schedule`` and ``p.device``.

    ``p.schedule`` pinned its torch thread count where the setup cell ran (the notebook's kernel), so a
    cell trains with the kernel's thread count wherever it runs (a Dask worker whose nanny set
    ``OMP_NUM_THREADS=1`` included) and gives the kernel's numbers, bit for bit, on the same machine.
    """
    return {"data": p.data, "schedule": p.schedule, "device": p.device}


def send_networks(
    cells: list[Cell], p: Params, executor: Executor | None, *, name: str = "networks"
) -> pd.DataFrame:
    """Train (or load) the networks of ``cells`` where ``executor`` runs them; a row per cell.

    The clean network goes first, alone: the locally concentrated and knob cells start from its features,
    and two workers must not train it twice. Afterwards every network is in the cache, so a chapter's own
    :func:`clean_network` / :func:`noisy_network` calls load them. ``executor``: from
    :func:`knnoise.pipeline.engine.executor` (None: in this process); ``name``: the sweep's cache
    folder.
    """
    options = cell_options(p)
    run_sweep(dnn_cell, [CLEAN_CELL], name="networks", params=options, executor=executor, progress=False)
    return run_sweep(dnn_cell, cells, name=name, params=options, executor=executor)
