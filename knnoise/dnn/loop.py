"""The epoch loop of :func:`knnoise.dnn.train`, in named steps: the learning-rate schedule, one epoch on
the noisy labels, the clean validation accuracy, and early stopping on it (the best checkpoint is kept;
``patience`` optionally stops the run).

The paper's protocol (Sec. 5): train on the noisy labels of 90% of the training set and select the
checkpoint with the best accuracy on the *clean* labels of the other 10%.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from knnoise.dnn._tensors import _accuracy, _cpu_copy, _inputs

__all__: list[str] = []

_HISTORY_KEYS = ("epoch", "lr", "train_loss", "train_accuracy", "val_accuracy", "seconds")


@dataclass
class _Data:
    """The tensors of a run on its device: uint8 images, labels, the split, the normalisation."""

    x: torch.Tensor | None  # (N, C, H, W) uint8, all training images (released before the test pass)
    y_noisy: torch.Tensor  # (N,) the labels trained on
    y_clean: torch.Tensor  # (N,) the clean labels, for validation
    train_index: torch.Tensor
    val_index: torch.Tensor
    mean: torch.Tensor | None
    std: torch.Tensor | None


@dataclass(frozen=True)
class _Schedule:
    """The optimisation schedule of a run: epochs, batch size, the halving learning rate, patience."""

    epochs: int
    batch_size: int
    lr: float
    lr_halving_every: int | None
    patience: int | None

    def rate(self, epoch: int) -> float:
        """The learning rate of the 1-based ``epoch``: ``lr`` halved every ``lr_halving_every`` epochs."""
        halving = self.lr_halving_every
        return self.lr * 0.5 ** ((epoch - 1) // halving) if halving else self.lr


@dataclass
class _Best:
    """Early stopping on the clean validation accuracy: the best checkpoint so far."""

    val_accuracy: float = -1.0
    epoch: int = 0
    state: dict[str, torch.Tensor] | None = None

    def update(self, val_accuracy: float, epoch: int, net: nn.Module, has_val: bool) -> None:
        """Keep this epoch's weights when they are better (always, without a validation part)."""
        if not has_val or val_accuracy > self.val_accuracy:
            self.val_accuracy, self.epoch, self.state = val_accuracy, epoch, _cpu_copy(net.state_dict())

    def patience_spent(self, epoch: int, patience: int | None, has_val: bool) -> bool:
        """Whether ``patience`` epochs have passed without a better validation accuracy."""
        return patience is not None and has_val and epoch - self.epoch >= patience


def _train_epoch(
    net: nn.Module,
    opt: torch.optim.Optimizer,
    data: _Data,
    shuffle: torch.Generator,
    batch_size: int,
    bar: Any,
) -> tuple[float, float]:
    """One pass over the training part in a seeded random order; mean loss and accuracy (noisy labels)."""
    net.train()
    dev = data.y_noisy.device
    order = data.train_index[torch.randperm(len(data.train_index), generator=shuffle).to(dev)]
    loss_sum = torch.zeros((), device=dev)
    correct = torch.zeros((), device=dev, dtype=torch.long)
    seen = 0
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        if len(batch) < 2:  # batch-norm cannot train on a single example
            continue
        yb = data.y_noisy[batch]
        logits = net(_inputs(data.x[batch], data.mean, data.std))
        loss = F.cross_entropy(logits, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum += loss.detach() * len(batch)
        correct += (logits.detach().argmax(1) == yb).sum()
        seen += len(batch)
        bar.update(1)
    return float(loss_sum) / seen, int(correct) / seen


def _validate(net: nn.Module, data: _Data) -> float:
    """Accuracy on the clean labels of the validation part (NaN without one)."""
    if not len(data.val_index):
        return math.nan
    return _accuracy(net, data.x, data.val_index, data.y_clean, data.mean, data.std)


def _n_batches(n_train: int, batch_size: int) -> int:
    """Training batches per epoch: a last batch of a single example is skipped (batch norm needs two)."""
    return sum(1 for s in range(0, n_train, batch_size) if n_train - s >= 2)


def _set_rate(opt: torch.optim.Optimizer, rate: float) -> None:
    """Set the learning rate of every parameter group (the schedule's rate for this epoch)."""
    for group in opt.param_groups:
        group["lr"] = rate


def _fit(
    net: nn.Module,
    opt: torch.optim.Optimizer,
    data: _Data,
    seed: int,
    schedule: _Schedule,
    name: str,
    progress: bool,
) -> tuple[dict[str, list[float]], _Best]:
    """The epochs: learning-rate schedule, one epoch, clean validation, best checkpoint, patience."""
    from tqdm.auto import tqdm

    shuffle = torch.Generator().manual_seed(seed)
    n_tr, has_val = len(data.train_index), bool(len(data.val_index))
    n_batches = _n_batches(n_tr, schedule.batch_size)
    history: dict[str, list[float]] = {k: [] for k in _HISTORY_KEYS}
    best = _Best()
    bar = tqdm(total=schedule.epochs * n_batches, unit="batch", disable=not progress, leave=False, desc=name)
    try:
        for epoch in range(1, schedule.epochs + 1):
            t_epoch = time.perf_counter()
            rate = schedule.rate(epoch)
            _set_rate(opt, rate)
            bar.set_description(f"{name} epoch {epoch}/{schedule.epochs}")
            loss, accuracy = _train_epoch(net, opt, data, shuffle, schedule.batch_size, bar)
            val_acc = _validate(net, data)
            row = (epoch, rate, loss, accuracy, val_acc, time.perf_counter() - t_epoch)
            for key, value in zip(_HISTORY_KEYS, row, strict=True):
                history[key].append(value)
            bar.set_postfix(loss=f"{loss:.3f}", val_acc=f"{val_acc:.3f}")
            best.update(val_acc, epoch, net, has_val)
            if best.patience_spent(epoch, schedule.patience, has_val):
                break
    finally:
        bar.close()
    return history, best
