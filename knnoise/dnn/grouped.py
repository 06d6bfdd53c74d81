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
(:mod:`knnoise.dnn._group_cache`), so a cached result may come from either path.

A sweep hands a device a group of cells by collecting the cells that share a dataset and a schedule
(model, epochs, batch size, learning rate, ...) and differ only in their noisy labels and seeds, and
calling ``train_group(dataset, [labels...], [seeds...], **schedule, cache=True)`` once for them.

:func:`group_size` estimates how many networks fit on a device at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from knnoise._checks import check_int
from knnoise.data import Dataset
from knnoise.dnn._group_cache import _lookup, _store
from knnoise.dnn._group_loop import _embed, _fit, _GroupData
from knnoise.dnn._options import _check_dataset, _validated
from knnoise.dnn._stacked import _bytes_per_network, _Stack
from knnoise.dnn._tensors import _norm_tensors, _normalization, _softmax_np, _to_nchw_uint8
from knnoise.dnn.devices import _torch_settings, pick_device
from knnoise.dnn.loop import _Schedule
from knnoise.dnn.models import build_model
from knnoise.dnn.result import TrainResult
from knnoise.dnn.training import _PARAM_KEYS, _model_config, _split

__all__ = ["GROUP_MODELS", "group_size", "train_group"]

GROUP_MODELS = ("mnist", "allcnnc")
"""The models :func:`train_group` stacks (DenseNet-121 is trained one at a time)."""

_CPU_CAP = 4  # on the CPU grouping buys nothing (benchmarks/bench_grouped.py: 1.03x at 4, 0.91x at 16)
_GPU_CAP = 256
_NOT_OPTIONS = ("dataset", "labels_list", "seeds", "device", "progress", "cache", "max_group", "vectorize")
_MEMORY_SHARE = 0.6  # of the free device memory (CUDA) or the available RAM (CPU) a group may take


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
    if model not in GROUP_MODELS:
        raise ValueError(f"model must be one of {GROUP_MODELS}, got {model!r}")
    dev = pick_device(device)
    sample = _to_nchw_uint8(dataset.x_train[:2]).float() / 255.0
    with torch.random.fork_rng(devices=[]):
        net = build_model(**_model_config(model, dataset.n_classes, sample, width))
    per_network = _bytes_per_network(net, sample, batch_size)
    if dev.type == "cuda":
        free, _ = torch.cuda.mem_get_info(dev)
        images = dataset.x_train.nbytes + dataset.x_test.nbytes
        budget, cap = _MEMORY_SHARE * free - images, _GPU_CAP
    else:
        budget, cap = _MEMORY_SHARE * os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), _CPU_CAP
    return int(min(max(budget // per_network, 1), cap))


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
train_outputs, progress, num_threads
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
    options = {k: v for k, v in locals().items() if k not in _NOT_OPTIONS}
    runs = _validated_runs(dataset, labels_list, seeds, options)
    size = check_int("max_group", max_group, allow_none=True)
    dev = pick_device(device)
    if vectorize is not None and not isinstance(vectorize, bool):
        raise TypeError(f"vectorize must be True, False or None, got {vectorize!r}")
    vec = dev.type == "cuda" if vectorize is None else vectorize
    results: list[TrainResult | None] = [_lookup(a) for a in runs] if cache else [None] * len(runs)
    missing = [i for i, r in enumerate(results) if r is None]
    if size is None and missing:
        size = group_size(dataset, model=model, batch_size=options["batch_size"], width=width, device=dev)
    for start in range(0, len(missing), size or 1):
        chunk = missing[start : start + size]
        _train_chunk(runs, results, chunk, dev, vec, progress, cache)
    return [r for r in results if r is not None]


def _train_chunk(
    runs: list[dict],
    results: list,
    chunk: list[int],
    dev: torch.device,
    vec: bool,
    progress: bool,
    cache: bool,
) -> None:
    """Train the networks ``chunk`` (indices into ``runs``) as one group into ``results``; cache them."""
    for i, result in zip(chunk, _train_stacked([runs[i] for i in chunk], dev, vec, progress), strict=True):
        results[i] = result
        if cache:
            _store(runs[i], result)


def _validated_runs(dataset: Any, labels_list: Any, seeds: Any, options: dict) -> list[dict[str, Any]]:
    """The validated arguments of each network's lone run (those that key its cache entry)."""
    if isinstance(seeds, int | np.integer) or not isinstance(seeds, Sequence | np.ndarray):
        raise TypeError(f"seeds must be a sequence of ints, got {type(seeds).__name__}")
    if isinstance(labels_list, np.ndarray) and labels_list.ndim == 1:
        raise TypeError("labels_list must be a sequence of label arrays (or a 2-D array), got one 1-D array")
    if len(labels_list) != len(seeds) or not len(seeds):
        raise ValueError(
            f"labels_list and seeds must be equally long and not empty, got {len(labels_list)} label "
            f"arrays and {len(seeds)} seeds"
        )
    if options["model"] not in GROUP_MODELS:
        raise ValueError(f"model must be one of {GROUP_MODELS}, got {options['model']!r}")
    return [_validated(dataset, y, **{**options, "seed": s}) for y, s in zip(labels_list, seeds, strict=True)]


def _group_data(
    runs: list[dict], splits: list, norms: list, x: torch.Tensor, dev: torch.device
) -> _GroupData:
    """The group's tensors on ``dev``: shared images, per-network labels, splits and normalisation."""
    stats = [_norm_tensors(n, dev) for n in norms]
    return _GroupData(
        x=x.to(dev),
        y_noisy=torch.from_numpy(np.stack([r["labels"] for r in runs])).to(dev),
        y_clean=torch.from_numpy(runs[0]["dataset"].y_train.astype(np.int64)).to(dev),
        train_index=torch.from_numpy(np.stack([tr for tr, _ in splits])).to(dev),
        val_index=torch.from_numpy(np.stack([va for _, va in splits])).to(dev),
        mean=None if stats[0][0] is None else torch.stack([m for m, _ in stats]),
        std=None if stats[0][1] is None else torch.stack([s for _, s in stats]),
    )


def _train_stacked(
    runs: list[dict[str, Any]], dev: torch.device, vectorize: bool, progress: bool
) -> list[TrainResult]:
    """One group, on validated arguments that differ only in labels and seed: as ``_train`` for each."""
    t0 = time.perf_counter()
    a, dataset = runs[0], runs[0]["dataset"]
    seeds = [r["seed"] for r in runs]
    splits = [_split(dataset.y_train, a["val_fraction"], s) for s in seeds]
    norms = [_normalization(a["normalization"], dataset.x_train, tr) for tr, _ in splits]
    x_train = _to_nchw_uint8(dataset.x_train)
    config = _model_config(a["model"], dataset.n_classes, x_train, a["width"])
    schedule = _Schedule(a["epochs"], a["batch_size"], a["lr"], a["lr_halving_every"], a["patience"])
    with (
        _torch_settings(a["num_threads"], deterministic=dev.type == "cpu"),
        torch.random.fork_rng(devices=[]),
    ):
        nets = []
        for s in seeds:
            torch.manual_seed(s)
            nets.append(build_model(**config))
        stack = _Stack(nets, dev, vectorize)
        opt = torch.optim.Adam(stack.param_groups(a["weight_decay"]), lr=a["lr"])
        data = _group_data(runs, splits, norms, x_train, dev)
        track = _fit(stack, opt, data, seeds, schedule, a["model"], progress)
        stack.load([b.state for b in track.best])
        train_out = _embed(stack, data, data.x) if a["train_outputs"] else None
        data.x = None  # free the training images before the test images arrive
        test_feats, test_logits = _embed(stack, data, _to_nchw_uint8(dataset.x_test).to(dev))
    seconds = (time.perf_counter() - t0) / len(runs)
    out = []
    for g, run in enumerate(runs):
        test_softmax = _softmax_np(test_logits[g])
        best = track.best[g]
        out.append(TrainResult(
            test_accuracy=float(np.mean(test_softmax.argmax(1) == dataset.y_test)),
            test_softmax=test_softmax,
            test_features=test_feats[g].numpy(),
            train_features=None if train_out is None else train_out[0][g].numpy(),
            train_softmax=None if train_out is None else _softmax_np(train_out[1][g]),
            best_epoch=int(best.epoch),
            best_val_accuracy=float(best.val_accuracy),
            history=track.history[g],
            state_dict=best.state,
            model_config=config,
            normalization=norms[g],
            train_index=splits[g][0],
            val_index=splits[g][1],
            params={"dataset": dataset.name, "n_train": dataset.n_train, "n_test": dataset.n_test,
                    **{k: run[k] for k in _PARAM_KEYS}},
            device=str(dev),
            seconds=seconds,
        ))  # fmt: skip
    return out
