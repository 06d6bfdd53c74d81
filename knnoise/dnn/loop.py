"""The epoch loop of every training run, for ``G >= 1`` networks at once (a lone network is a group of
one), in named steps: the learning-rate schedule, one epoch on the noisy labels, the clean validation
accuracy, and early stopping on it (the best checkpoint is kept; ``patience`` optionally stops a network).

The paper's protocol (Sec. 5): train on the noisy labels of 90% of the training set and select the
checkpoint with the best accuracy on the *clean* labels of the other 10%. Each network of a group has its
own split, its own seeded data order, its own noisy labels and its own early stopping; they share the
options (:class:`knnoise.dnn.TrainOptions`) and one optimiser over the stacked weights
(:mod:`knnoise.dnn._stacked`). A network whose ``patience`` is spent keeps being stepped with the group
(its slice is never read again) but its history and best checkpoint are frozen, so it returns what a lone
run would; the loop stops when every network has stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F

from knnoise.dnn._stacked import _Stack
from knnoise.dnn._tensors import _EVAL_BATCH
from knnoise.dnn.deadlines import _check_time, _clock
from knnoise.dnn.options import TrainOptions

__all__: list[str] = []

_HISTORY_KEYS = ("epoch", "lr", "train_loss", "train_accuracy", "val_accuracy", "seconds")


@dataclass
class _Data:
    """The tensors of a group on its device; index tensors are ``(G, n)`` (one row per network)."""

    x: torch.Tensor | None  # (N, C, H, W) uint8, all training images (released before the test pass)
    y_noisy: torch.Tensor  # (G, N) the labels each network trains on
    y_clean: torch.Tensor  # (N,) the clean labels, for validation
    train_index: torch.Tensor  # (G, n_train)
    val_index: torch.Tensor  # (G, n_val)
    mean: torch.Tensor | None  # (G, C, H, W) per-network normalisation, or None ("unit")
    std: torch.Tensor | None


@dataclass
class _Best:
    """Early stopping on the clean validation accuracy: one network's best checkpoint so far."""

    val_accuracy: float = -1.0
    epoch: int = 0
    state: dict[str, torch.Tensor] | None = None

    def update(
        self,
        val_accuracy: float,
        epoch: int,
        checkpoint: Callable[[], dict[str, torch.Tensor]],
        has_val: bool,
    ) -> None:
        """Keep this epoch's weights (``checkpoint()``) when they are better (always, without a validation
        part); the first of equal accuracies is kept."""
        if not has_val or val_accuracy > self.val_accuracy:
            self.val_accuracy, self.epoch, self.state = val_accuracy, epoch, checkpoint()

    def patience_spent(self, epoch: int, patience: int | None, has_val: bool) -> bool:
        """Whether ``patience`` epochs have passed without a better validation accuracy."""
        return patience is not None and has_val and epoch - self.epoch >= patience


class _Track:
    """Each network's history and early stopping (:class:`_Best`), and which are still running."""

    def __init__(self, size: int, has_val: bool) -> None:
        self.best = [_Best() for _ in range(size)]
        self.history: list[dict[str, list[float]]] = [{k: [] for k in _HISTORY_KEYS} for _ in range(size)]
        self.active = [True] * size
        self.has_val = has_val

    def update(self, stack: _Stack, epoch: int, rate: float, rows: list[tuple], patience: int | None) -> None:
        """Record ``rows[g] = (loss, accuracy, val_accuracy, seconds)`` and checkpoint improvements."""
        for g, (loss, acc, val_acc, seconds) in enumerate(rows):
            if not self.active[g]:
                continue
            for key, value in zip(_HISTORY_KEYS, (epoch, rate, loss, acc, val_acc, seconds), strict=True):
                self.history[g][key].append(value)
            best = self.best[g]
            best.update(val_acc, epoch, lambda g=g: stack.state(g), self.has_val)
            if best.patience_spent(epoch, patience, self.has_val):
                self.active[g] = False


def _group_inputs(data: _Data, x_u8: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Float inputs ``(G, B, C, H, W)`` of ``x_u8[index]`` for ``index`` ``(G, B)``: pixels / 255, then
    each network's per-pixel standardisation (:mod:`knnoise.dnn._tensors`)."""
    x = x_u8[index].float().div_(255.0)
    return x if data.mean is None else (x - data.mean[:, None]) / data.std[:, None]


def _eval_chunk(size: int) -> int:
    """Images per network per evaluation chunk: about ``_EVAL_BATCH`` images per call."""
    return max(64, _EVAL_BATCH // size)


def _losses(logits: torch.Tensor, y: torch.Tensor, vectorize: bool) -> torch.Tensor:
    """Each network's mean cross-entropy ``(G,)`` of logits ``(G, B, L)`` against labels ``(G, B)``: one
    flattened call (vmapped groups), or one call per network (the loop: a lone run's arithmetic, so its
    gradients are bitwise a lone network's). Their sum's gradient is each network's own."""
    if vectorize:
        return F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view(y.shape).mean(1)
    return torch.stack([F.cross_entropy(z, t) for z, t in zip(logits, y, strict=True)])


def _train_epoch(
    stack: _Stack, opt: torch.optim.Optimizer, data: _Data, shuffles: list, options: TrainOptions, bar: Any
) -> tuple[list[float], list[float]]:
    """One pass of every network over its training part in its own seeded order; per-network mean loss and
    accuracy on its noisy labels. A last batch of a single example is skipped (batch-norm needs two)."""
    dev = data.y_noisy.device
    perms = [torch.randperm(data.train_index.shape[1], generator=s).to(dev) for s in shuffles]
    order = torch.stack([row[p] for row, p in zip(data.train_index, perms, strict=True)])  # (G, n_train)
    rows = torch.arange(stack.size, device=dev)[:, None]
    loss_sum = torch.zeros(stack.size, device=dev)
    correct = torch.zeros(stack.size, device=dev, dtype=torch.long)
    seen = 0
    for start in range(0, order.shape[1], options.batch_size):
        batch = order[:, start : start + options.batch_size]  # (G, B)
        if batch.shape[1] < 2:  # batch-norm cannot train on a single example
            continue
        yb = data.y_noisy[rows, batch]
        logits = stack.logits(_group_inputs(data, data.x, batch))  # (G, B, L)
        losses = _losses(logits, yb, stack.vectorize)
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        opt.step()
        loss_sum += losses.detach() * batch.shape[1]
        correct += (logits.detach().argmax(2) == yb).sum(1)
        seen += batch.shape[1]
        bar.update(1)
    return [float(v) / seen for v in loss_sum], [int(c) / seen for c in correct]


def _validate(stack: _Stack, data: _Data) -> list[float]:
    """Each network's accuracy on the clean labels of its validation part (NaN without one)."""
    n_val = data.val_index.shape[1]
    if not n_val:
        return [math.nan] * stack.size
    correct = torch.zeros(stack.size, dtype=torch.long, device=data.y_clean.device)
    chunk = _eval_chunk(stack.size)
    for start in range(0, n_val, chunk):
        batch = data.val_index[:, start : start + chunk]
        _, logits = stack.features_and_logits(_group_inputs(data, data.x, batch))
        correct += (logits.argmax(2) == data.y_clean[batch]).sum(1)
    return [int(c) / n_val for c in correct]


@torch.no_grad()
def _embed(stack: _Stack, data: _Data, x_u8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Features ``(G, n, F)`` and logits ``(G, n, L)`` (CPU) of all images ``x_u8`` for every network."""
    chunk = _eval_chunk(stack.size)
    feats, logits = [], []
    for start in range(0, len(x_u8), chunk):
        idx = torch.arange(start, min(start + chunk, len(x_u8)), device=x_u8.device)
        f, z = stack.features_and_logits(_group_inputs(data, x_u8, idx.expand(stack.size, -1)))
        feats.append(f.float().cpu())
        logits.append(z.float().cpu())
    return torch.cat(feats, 1), torch.cat(logits, 1)


def _n_batches(n_train: int, batch_size: int) -> int:
    """Training batches per epoch: a last batch of a single example is skipped (batch norm needs two)."""
    return sum(1 for s in range(0, n_train, batch_size) if n_train - s >= 2)


def _set_rate(opt: torch.optim.Optimizer, rate: float) -> None:
    """Set the learning rate of every parameter group (the schedule's rate for this epoch)."""
    for group in opt.param_groups:
        group["lr"] = rate


def _fit(
    stack: _Stack,
    opt: torch.optim.Optimizer,
    data: _Data,
    seeds: list[int],
    options: TrainOptions,
    progress: bool,
) -> _Track:
    """The epochs: learning-rate schedule, one epoch of every network, clean validation, best checkpoints,
    patience (per network); after each epoch, the block's deadline (:func:`knnoise.dnn.deadline`)."""
    from tqdm.auto import tqdm

    shuffles = [torch.Generator().manual_seed(s) for s in seeds]
    n_batches = _n_batches(data.train_index.shape[1], options.batch_size)
    track = _Track(stack.size, bool(data.val_index.shape[1]))
    desc = options.model if stack.size == 1 else f"{options.model} x{stack.size}"
    total = options.epochs * n_batches
    bar = tqdm(total=total, unit="batch", disable=not progress, leave=False, desc=desc)
    started = _clock()
    try:
        for epoch in range(1, options.epochs + 1):
            t_epoch = time.perf_counter()
            rate = options.rate(epoch)
            _set_rate(opt, rate)
            bar.set_description(f"{desc} epoch {epoch}/{options.epochs}")
            losses, accuracies = _train_epoch(stack, opt, data, shuffles, options, bar)
            val = _validate(stack, data)
            seconds = time.perf_counter() - t_epoch
            rows = [(lo, ac, va, seconds) for lo, ac, va in zip(losses, accuracies, val, strict=True)]
            track.update(stack, epoch, rate, rows, options.patience)
            if stack.size == 1:
                bar.set_postfix(loss=f"{losses[0]:.3f}", val_acc=f"{val[0]:.3f}")
            if not any(track.active):
                break
            _check_time(stack.size, epoch, options.epochs, started)
    finally:
        bar.close()
    return track
