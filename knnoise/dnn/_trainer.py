"""The one trainer behind :func:`~knnoise.dnn.train`, :func:`~knnoise.dnn.train_group` and
:func:`~knnoise.dnn.train_cached`: ``G >= 1`` networks that share a dataset and :class:`TrainOptions` and
differ in their noisy labels and seeds, trained as one stacked model (:mod:`knnoise.dnn._stacked`); a lone
network is a group of one.

Each network follows the paper's protocol (Sec. 5): its own stratified 90%/10% split, its own
initialisation from its seed, its own seeded data order, Adam with the learning rate halved every
``lr_halving_every`` epochs, L2 on the weights, and its own early stopping on its clean validation part
(:mod:`knnoise.dnn.loop`); then its test softmax and the features of its training and test images.

How the group runs (:class:`_Plan`) changes no number on the CPU, so it is not in the options: the
device, the progress bar, the cache, the group size and the strategy (``vectorize``: one ``vmap`` over the
networks, the GPU default, or a loop over their slices, a lone network's arithmetic on the CPU).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from knnoise.data import Dataset
from knnoise.dnn._cache import _load, _store, cache_key
from knnoise.dnn._stacked import _bytes_per_network, _Stack
from knnoise.dnn._tensors import _norm_tensors, _normalization, _softmax_np, _to_nchw_uint8
from knnoise.dnn.devices import _torch_settings
from knnoise.dnn.loop import _Data, _embed, _fit, _Track
from knnoise.dnn.models import build_model
from knnoise.dnn.options import TrainOptions
from knnoise.dnn.result import TrainResult

__all__: list[str] = []

_CPU_CAP = 4  # on the CPU grouping buys nothing (benchmarks/bench_grouped.py: 1.03x at 4, 0.91x at 16)
_GPU_CAP = 256
_MEMORY_SHARE = 0.6  # of the free device memory (CUDA) or the available RAM (CPU) a group may take


@dataclass(frozen=True)
class _Run:
    """One network's own inputs: its canonical noisy labels (contiguous int64) and its seed."""

    labels: np.ndarray
    seed: int


@dataclass(frozen=True)
class _Plan:
    """How the networks are trained (not what: that is :class:`TrainOptions`).

    ``group_size()``: networks per stacked model (called only when some network is not in the cache).
    """

    device: torch.device
    vectorize: bool
    group_size: Callable[[], int]
    progress: bool
    cache: bool


def _train_all(
    dataset: Dataset, runs: Sequence[_Run], options: TrainOptions, plan: _Plan
) -> list[TrainResult]:
    """Every run's :class:`TrainResult`, in order: loaded from the cache (``plan.cache``), else trained
    ``plan.group_size()`` at a time and stored."""
    keys = [cache_key(dataset, r.labels, r.seed, options) for r in runs]
    results: list[TrainResult | None] = [_load(k) for k in keys] if plan.cache else [None] * len(runs)
    missing = [i for i, r in enumerate(results) if r is None]
    size = plan.group_size() if missing else 1
    for start in range(0, len(missing), size):
        chunk = missing[start : start + size]
        trained = _train_group(dataset, [runs[i] for i in chunk], options, plan)
        for i, result in zip(chunk, trained, strict=True):
            results[i] = result
            if plan.cache:
                _store(keys[i], result)
    return [r for r in results if r is not None]


def _split(y_clean: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, validation) indices of a stratified, seeded split."""
    idx = np.arange(len(y_clean))
    if val_fraction == 0:
        return idx, idx[:0]
    from sklearn.model_selection import train_test_split

    tr, va = train_test_split(idx, test_size=val_fraction, stratify=y_clean, random_state=seed)
    return np.sort(tr), np.sort(va)


def _model_config(model: str, n_classes: int, x_train: torch.Tensor, width: float) -> dict[str, Any]:
    """Keyword arguments of :func:`~knnoise.dnn.build_model` for images ``x_train`` ``(N, C, H, W)``."""
    config = {
        "name": model,
        "n_classes": n_classes,
        "in_channels": int(x_train.shape[1]),
        "image_size": (int(x_train.shape[2]), int(x_train.shape[3])),
        "width": width,
    }
    if model == "densenet121":
        config = {k: config[k] for k in ("name", "n_classes", "in_channels")}
    return config


def _group_data(
    runs: Sequence[_Run], y_clean: np.ndarray, splits: list, norms: list, x: torch.Tensor, dev: torch.device
) -> _Data:
    """The group's tensors on ``dev``: shared images, per-network labels, splits and normalisation."""
    stats = [_norm_tensors(n, dev) for n in norms]
    return _Data(
        x=x.to(dev),
        y_noisy=torch.from_numpy(np.stack([r.labels for r in runs])).to(dev),
        y_clean=torch.from_numpy(y_clean.astype(np.int64)).to(dev),
        train_index=torch.from_numpy(np.stack([tr for tr, _ in splits])).to(dev),
        val_index=torch.from_numpy(np.stack([va for _, va in splits])).to(dev),
        mean=None if stats[0][0] is None else torch.stack([m for m, _ in stats]),
        std=None if stats[0][1] is None else torch.stack([s for _, s in stats]),
    )


def _train_group(
    dataset: Dataset, runs: Sequence[_Run], options: TrainOptions, plan: _Plan
) -> list[TrainResult]:
    """Train ``runs`` as one group: split, initialise, fit, then embed the training and test images."""
    t0 = time.perf_counter()
    dev, seeds = plan.device, [r.seed for r in runs]
    splits = [_split(dataset.y_train, options.val_fraction, s) for s in seeds]
    norms = [_normalization(options.normalization, dataset.x_train, tr) for tr, _ in splits]
    x_train = _to_nchw_uint8(dataset.x_train)
    config = _model_config(options.model, dataset.n_classes, x_train, options.width)
    with (
        _torch_settings(options.num_threads, deterministic=dev.type == "cpu"),
        torch.random.fork_rng(devices=[]),
    ):
        nets = []
        for s in seeds:
            torch.manual_seed(s)
            nets.append(build_model(**config))
        stack = _Stack(nets, dev, plan.vectorize, options.precision)
        opt = torch.optim.Adam(stack.param_groups(options.weight_decay), lr=options.lr)
        data = _group_data(runs, dataset.y_train, splits, norms, x_train, dev)
        track = _fit(stack, opt, data, seeds, options, plan.progress)
        stack.load([b.state for b in track.best])
        train_out = _embed(stack, data, data.x) if options.train_outputs else None
        data.x = None  # free the training images (device memory) before the test images arrive
        test_out = _embed(stack, data, _to_nchw_uint8(dataset.x_test).to(dev))
    seconds = (time.perf_counter() - t0) / len(runs)
    parts = _Parts(dataset, options, config, track, test_out, train_out)
    return [parts.result(g, run, norms[g], splits[g], str(dev), seconds) for g, run in enumerate(runs)]


@dataclass(frozen=True)
class _Parts:
    """What a trained group shares, and its outputs ``(G, n, ...)``: each network's result is cut from
    them."""

    dataset: Dataset
    options: TrainOptions
    config: dict[str, Any]
    track: _Track
    test: tuple[torch.Tensor, torch.Tensor]  # features, logits
    train: tuple[torch.Tensor, torch.Tensor] | None

    def result(
        self, g: int, run: _Run, norm: dict, split: tuple[np.ndarray, np.ndarray], device: str, seconds: float
    ) -> TrainResult:
        """Network ``g``'s :class:`TrainResult`."""
        ds, best = self.dataset, self.track.best[g]
        test_softmax = _softmax_np(self.test[1][g])
        sizes = {"dataset": ds.name, "n_train": ds.n_train, "n_test": ds.n_test}
        return TrainResult(
            test_accuracy=float(np.mean(test_softmax.argmax(1) == ds.y_test)),
            test_softmax=test_softmax,
            test_features=self.test[0][g].numpy(),
            train_features=None if self.train is None else self.train[0][g].numpy(),
            train_softmax=None if self.train is None else _softmax_np(self.train[1][g]),
            best_epoch=int(best.epoch),
            best_val_accuracy=float(best.val_accuracy),
            history=self.track.history[g],
            state_dict=best.state,
            model_config=self.config,
            normalization=norm,
            train_index=split[0],
            val_index=split[1],
            params={**sizes, **self.options.params(run.seed)},
            device=device,
            seconds=seconds,
        )


def _group_size(dataset: Dataset, model: str, batch_size: int, width: float, device: torch.device) -> int:
    """How many networks fit on ``device`` at once (:func:`knnoise.dnn.group_size`)."""
    sample = _to_nchw_uint8(dataset.x_train[:2]).float() / 255.0
    with torch.random.fork_rng(devices=[]):
        net = build_model(**_model_config(model, dataset.n_classes, sample, width))
    per_network = _bytes_per_network(net, sample, batch_size)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        images = dataset.x_train.nbytes + dataset.x_test.nbytes
        budget, cap = _MEMORY_SHARE * free - images, _GPU_CAP
    else:
        budget, cap = _MEMORY_SHARE * os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), _CPU_CAP
    return int(min(max(budget // per_network, 1), cap))
