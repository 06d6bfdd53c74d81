"""Many networks per device: :func:`train_group` trains ``G`` networks that share an architecture and a
schedule but differ in their noisy labels and seeds (so in their split, initialisation and data order) as
one stacked model (:mod:`knnoise.dnn._stacked`: ``torch.func.stack_module_state`` + ``functional_call``,
batch-norm per network) with one optimiser.

Each network follows the protocol of :func:`knnoise.dnn.train` exactly (Sec. 5 of the paper): its own
stratified 90%/10% split, its own initialisation from its seed, its own seeded data order, Adam with the
learning rate halved every ``lr_halving_every`` epochs, L2 on the weights, and its own early stopping on
its clean validation part with its own best checkpoint. Each returns the :class:`~knnoise.dnn.TrainResult`
a lone :func:`~knnoise.dnn.train` call returns: bitwise on the CPU (the default loop over the stacked
networks' slices does a lone network's arithmetic), to float rounding when vmapped (``vectorize=True``,
the GPU default: the networks' convolutions become one grouped convolution, which sums in another order).
With ``cache=True`` each network is stored under (and loaded from) the same cache entry as that lone call
(:mod:`knnoise.dnn._cache`), so a cached result may come from either path. The training itself is the one
trainer of every run (:mod:`knnoise.dnn._trainer`); this module is its front door for many networks.

A sweep hands a device a group of cells by collecting the cells that share a dataset and a schedule
(model, epochs, batch size, learning rate, ...) and differ only in their noisy labels and seeds, and
calling ``train_group(dataset, [labels...], [seeds...], **schedule, cache=True)`` once for them.

:func:`group_size` estimates how many networks fit on a device at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from knnoise._checks import check_int
from knnoise.data import Dataset
from knnoise.dnn._options import _check_dataset, _check_run
from knnoise.dnn._trainer import _group_size, _Plan, _Run, _train_all
from knnoise.dnn.devices import pick_device
from knnoise.dnn.options import TrainOptions
from knnoise.dnn.result import TrainResult

__all__ = ["GROUP_MODELS", "group_size", "train_group", "train_group_with"]

GROUP_MODELS = ("mnist", "allcnnc")
"""The models :func:`train_group` stacks (DenseNet-121 is trained one at a time)."""


def group_size(
    dataset: Dataset,
    *,
    model: str = "mnist",
    batch_size: int = 256,
    width: float = 1.0,
    device: str | torch.device = "auto",
) -> int:
    """How many networks of one schedule to train at once on ``device``, from its free memory.

    Per network: 6x its weights (weights, gradient, two Adam moments, best checkpoint, a spare) plus 3x
    the activations of a training batch of ``batch_size`` (measured by one forward pass); the group may
    take 60% of the free CUDA memory (less the dataset's images) or of the available RAM. Capped at 4 on
    the CPU and 256 on a GPU.

    Returns
    -------
    int
        At least 1.
    """
    _check_dataset(dataset)
    check_int("batch_size", batch_size, minimum=2)
    _check_group_model(model)
    return _group_size(dataset, model, batch_size, width, pick_device(device))


def train_group(
    dataset: Dataset,
    labels_list: Sequence[np.ndarray],
    seeds: Sequence[int],
    *,
    model: str = "mnist",
    epochs: int,
    batch_size: int = 256,
    lr: float,
    lr_halving_every: int | None,
    device: str | torch.device = "auto",
    val_fraction: float = 0.1,
    width: float = 1.0,
    weight_decay: float = 1e-7,
    patience: int | None = None,
    normalization: str = "auto",
    train_outputs: bool = True,
    progress: bool = True,
    num_threads: int | None = None,
    precision: str = "float32",
    cache: bool = False,
    max_group: int | None = None,
    vectorize: bool | None = None,
) -> list[TrainResult]:
    """Train one network per ``(labels_list[i], seeds[i])`` on ``dataset``, ``G`` at a time as one
    stacked model; the same results as ``[train(dataset, y, seed=s, ...) for y, s in ...]``.

    Parameters
    ----------
    dataset : Dataset
        The images, shared by every network (as in :func:`knnoise.dnn.train`).
    labels_list : sequence of array of int, each shape (N,)
        Each network's (noisy) training labels.
    seeds : sequence of int
        Each network's seed (split, initialisation, data order); as long as ``labels_list``.
    model : {"mnist", "allcnnc"}
        The architecture, shared (:data:`GROUP_MODELS`).
    epochs, batch_size, lr, lr_halving_every, val_fraction, width, weight_decay, patience, normalization, \
train_outputs, progress, num_threads, precision
        The shared schedule and options, as in :func:`knnoise.dnn.train`.
    device : str or torch.device
        See :func:`~knnoise.dnn.pick_device`.
    cache : bool
        Load each network from the cache entry :func:`knnoise.dnn.train_cached` would use for it alone,
        train only the missing ones, and store those there.
    max_group : int or None
        Networks per stacked model; None: :func:`group_size` for this device.
    vectorize : bool or None
        ``True``: one ``vmap`` over the group (grouped convolutions); ``False``: a loop over the networks'
        slices of the stacked tensors (faster on the CPU, where oneDNN's grouped convolutions are slow);
        None: ``True`` on CUDA, ``False`` on the CPU. Either way one optimiser steps the whole group.

    Returns
    -------
    list of TrainResult
        One per network, in the order given. ``seconds`` is the network's share of its group's wall time.

    Raises
    ------
    TypeError, ValueError
        An invalid parameter, labels or seed (the message names it), before anything is trained.
    """
    options = TrainOptions(
        model=model, epochs=epochs, batch_size=batch_size, lr=lr, lr_halving_every=lr_halving_every,
        val_fraction=val_fraction, width=width, weight_decay=weight_decay, patience=patience,
        normalization=normalization, train_outputs=train_outputs, num_threads=num_threads,
        precision=precision,
    )  # fmt: skip
    return train_group_with(
        dataset, labels_list, seeds, options, device=device, progress=progress, cache=cache,
        max_group=max_group, vectorize=vectorize,
    )  # fmt: skip


def train_group_with(
    dataset: Dataset,
    labels_list: Sequence[np.ndarray],
    seeds: Sequence[int],
    options: TrainOptions,
    *,
    device: str | torch.device = "auto",
    progress: bool = True,
    cache: bool = False,
    max_group: int | None = None,
    vectorize: bool | None = None,
) -> list[TrainResult]:
    """:func:`train_group` with its shared options as one :class:`~knnoise.dnn.TrainOptions`, made (and
    checked) by the caller. The other arguments as in :func:`train_group`."""
    if not isinstance(options, TrainOptions):
        raise TypeError(f"options must be a knnoise.dnn.TrainOptions, got {type(options).__name__}")
    _check_group_model(options.model)
    runs = _check_runs(dataset, labels_list, seeds)
    size = check_int("max_group", max_group, allow_none=True)
    if vectorize is not None and not isinstance(vectorize, bool):
        raise TypeError(f"vectorize must be True, False or None, got {vectorize!r}")
    dev = pick_device(device)
    options = options.for_dataset(dataset)

    def sized() -> int:
        return size or _group_size(dataset, options.model, options.batch_size, options.width, dev)

    vec = dev.type == "cuda" if vectorize is None else vectorize
    return _train_all(dataset, runs, options, _Plan(dev, vec, sized, progress, cache))


def _check_group_model(model: Any) -> None:
    """One of the models a group can stack (:data:`GROUP_MODELS`)."""
    if model not in GROUP_MODELS:
        raise ValueError(f"model must be one of {GROUP_MODELS}, got {model!r}")


def _check_runs(dataset: Any, labels_list: Any, seeds: Any) -> list[_Run]:
    """Each network's checked labels and seed."""
    if isinstance(seeds, int | np.integer) or not isinstance(seeds, Sequence | np.ndarray):
        raise TypeError(f"seeds must be a sequence of ints, got {type(seeds).__name__}")
    if isinstance(labels_list, np.ndarray) and labels_list.ndim == 1:
        raise TypeError("labels_list must be a sequence of label arrays (or a 2-D array), got one 1-D array")
    if len(labels_list) != len(seeds) or not len(seeds):
        raise ValueError(
            f"labels_list and seeds must be equally long and not empty, got {len(labels_list)} label "
            f"arrays and {len(seeds)} seeds"
        )
    return [_Run(*_check_run(dataset, y, s)) for y, s in zip(labels_list, seeds, strict=True)]
