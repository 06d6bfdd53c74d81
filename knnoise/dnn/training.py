"""Training on noisy labels with early stopping on clean validation labels (the paper's Sec. 5 protocol).

:func:`train` is the DNN half of the paper's experiments (Fig. 2 and Fig. 4): split the training set
90%/10% (stratified, seeded), train on the *noisy* labels of the 90% part, select the checkpoint with the
best accuracy on the *clean* labels of the 10% part ("the clean validation set is used for early
stopping", Sec. 5), then report the test accuracy, the test softmax (Fig. 2; the ``C_s`` of Eq. 3 when the
labels are clean) and the penultimate-layer features of the training and test sets (the embedding for
K-NN and for locally concentrated noise).

Optimisation follows the authors' public code: Adam, the learning rate halved every ``lr_halving_every``
epochs (:data:`PAPER_SCHEDULES`), mini-batches of 256, an L2 penalty of 1e-7 on the weights, inputs in
``[0, 1]`` for grayscale images and per-pixel standardised for colour images. As in their code all epochs
are run and the best checkpoint is kept (``patience`` optionally stops earlier); unlike their code the
clean validation accuracy is measured once per epoch (theirs: every 10 iterations after the first 1000).

Results are deterministic on CPU for a given seed and number of threads (``num_threads``: set for the
run, recorded in ``TrainResult.params`` and part of the cache key, so a run gives the same bits in a
notebook's kernel and on a Dask worker of the same machine); other CPUs and CUDA round differently.
``cache=True`` stores the result on disk (:mod:`knnoise.dnn.cached`).

:func:`train` is a front door: its first line makes the :class:`~knnoise.dnn.TrainOptions` of the run,
and the run is a group of one for the one trainer (:mod:`knnoise.dnn._trainer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import torch

from knnoise.data import Dataset
from knnoise.dnn._options import _check_run
from knnoise.dnn._trainer import _Plan, _Run, _train_all
from knnoise.dnn.devices import pick_device
from knnoise.dnn.options import TrainOptions
from knnoise.dnn.result import TrainResult

__all__ = ["PAPER_SCHEDULES", "TrainResult", "pick_device", "train", "train_with"]

PAPER_SCHEDULES: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "mnist": MappingProxyType(
            {"model": "mnist", "epochs": 20, "batch_size": 256, "lr": 0.01, "lr_halving_every": 10}
        ),
        "cifar10": MappingProxyType(
            {"model": "allcnnc", "epochs": 60, "batch_size": 256, "lr": 0.007, "lr_halving_every": 30}
        ),
    }
)
"""The authors' training schedules (their ``CnnWithNoise.py``); use as ``train(ds, y, seed=0,
**PAPER_SCHEDULES["mnist"])``."""

Normalization = Literal["auto", "unit", "per_pixel"]


def train(
    dataset: Dataset,
    noisy_train_labels: np.ndarray,
    *,
    model: str = "mnist",
    epochs: int,
    batch_size: int = 256,
    lr: float,
    lr_halving_every: int | None,
    seed: int,
    device: str | torch.device = "auto",
    val_fraction: float = 0.1,
    width: float = 1.0,
    weight_decay: float = 1e-7,
    patience: int | None = None,
    normalization: Normalization = "auto",
    train_outputs: bool = True,
    progress: bool = True,
    num_threads: int | None = None,
    precision: str = "float32",
    cache: bool = False,
) -> TrainResult:
    """Train a network on noisy labels, early-stopped on clean validation labels (Sec. 5 of the paper).

    Parameters
    ----------
    dataset : Dataset
        Image data (``uint8``, ``(N, H, W)`` or ``(N, H, W, 3)``); ``dataset.y_train`` are the clean labels
        (used for the stratified split and for validation), ``dataset.y_test`` the clean test labels.
    noisy_train_labels : array of int, shape (N,)
        The (possibly corrupted) labels of all ``N`` training examples (the validation part's are unused).
    model : {"mnist", "allcnnc", "densenet121"}
        The network (:func:`knnoise.dnn.build_model`); ``"mnist"`` adapts its fc layer to the image size.
    epochs, batch_size : int
        Epochs (the paper: 20 on MNIST, 60 on CIFAR-10) and mini-batch size (256; a last batch of a
        single example is skipped for batch-norm).
    lr : float
        Initial Adam learning rate (the paper: 0.01 on MNIST, 0.007 on CIFAR-10).
    lr_halving_every : int or None
        Halve the learning rate every this many epochs (the paper: 10 / 30); None keeps it constant.
    seed : int
        Seeds the split, the initialisation and the shuffling (``0..2**32-1``).
    device : str or torch.device
        See :func:`pick_device`. Like ``progress``, not part of the cache key.
    val_fraction : float
        Fraction held out as the clean validation part (the paper: 0.1); 0 trains on everything and keeps
        the last epoch.
    width, weight_decay : float
        Conv channel multiplier (1.0 = the paper's); L2 penalty on weights, not biases (the authors' 1e-7).
    patience : int or None
        Stop after this many epochs without a better validation accuracy; None (the paper) runs all epochs.
    normalization : {"auto", "unit", "per_pixel"}
        ``"unit"``: pixels / 255; ``"per_pixel"``: standardised per pixel over the training part;
        ``"auto"``: unit for grayscale, per-pixel for colour (the authors' MNIST and CIFAR-10 choices).
    train_outputs : bool
        Also return the features and softmax of the training set; ``False`` stores ``None`` (a full-MNIST
        result is then ~3 MB instead of ~66 MB in the cache).
    progress : bool
        Show a tqdm progress bar (loss and validation accuracy).
    num_threads : int or None
        Torch CPU threads during the call (restored afterwards); None: torch's setting when called. The
        count changes the CPU arithmetic, so it is part of the cache key and of ``TrainResult.params``.
    precision : {"float32", "bfloat16"}
        The forward passes' arithmetic (:class:`~knnoise.dnn.TrainOptions`): ``"float32"`` (the paper's)
        or ``"bfloat16"`` autocast (faster on GPUs with bfloat16 units; slower on most CPUs).
    cache : bool
        Load the result from / store it in the on-disk cache (:func:`knnoise.dnn.train_cached`).

    Returns
    -------
    TrainResult

    Raises
    ------
    TypeError, ValueError
        An invalid parameter or labels (the message names it).
    RuntimeError
        CUDA requested but unavailable.
    """
    options = TrainOptions(
        model=model, epochs=epochs, batch_size=batch_size, lr=lr, lr_halving_every=lr_halving_every,
        val_fraction=val_fraction, width=width, weight_decay=weight_decay, patience=patience,
        normalization=normalization, train_outputs=train_outputs, num_threads=num_threads,
        precision=precision,
    )  # fmt: skip
    run = {"seed": seed, "device": device, "progress": progress, "cache": cache}
    return train_with(dataset, noisy_train_labels, options, **run)


def train_with(
    dataset: Dataset,
    noisy_train_labels: np.ndarray,
    options: TrainOptions,
    *,
    seed: int,
    device: str | torch.device = "auto",
    progress: bool = True,
    cache: bool = False,
) -> TrainResult:
    """:func:`train` with its options as one :class:`~knnoise.dnn.TrainOptions`, made (and checked) by the
    caller: what a chapter passes down whole (``p.schedule``). The other arguments as in :func:`train`."""
    if not isinstance(options, TrainOptions):
        raise TypeError(f"options must be a knnoise.dnn.TrainOptions, got {type(options).__name__}")
    labels, seed = _check_run(dataset, noisy_train_labels, seed)
    plan = _Plan(pick_device(device), vectorize=False, group_size=lambda: 1, progress=progress, cache=cache)
    return _train_all(dataset, [_Run(labels, seed)], options.for_dataset(dataset), plan)[0]
