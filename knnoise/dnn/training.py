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
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from knnoise.data import Dataset
from knnoise.dnn._options import _validated
from knnoise.dnn._tensors import _embed, _norm_tensors, _normalization, _softmax_np, _to_nchw_uint8
from knnoise.dnn.devices import _on_device, _torch_settings, pick_device
from knnoise.dnn.loop import _Data, _fit, _Schedule
from knnoise.dnn.models import build_model
from knnoise.dnn.result import TrainResult

__all__ = ["PAPER_SCHEDULES", "TrainResult", "pick_device", "train"]

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

_NOT_OPTIONS = ("dataset", "noisy_train_labels", "device", "progress", "cache")  # train()'s non-options
_PARAM_KEYS = (  # TrainResult.params, after the dataset's name and sizes
    "model",
    "epochs",
    "batch_size",
    "lr",
    "lr_halving_every",
    "seed",
    "val_fraction",
    "width",
    "weight_decay",
    "patience",
    "normalization",
    "train_outputs",
    "num_threads",
)


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
    options = {k: v for k, v in locals().items() if k not in _NOT_OPTIONS}
    args = _validated(dataset, noisy_train_labels, **options)
    dev = pick_device(device)
    if cache:
        from knnoise.dnn.cached import _train_through_cache  # cached.py imports this module

        return _train_through_cache(args, device=str(dev), progress=progress)
    return _train(**args, device=str(dev), progress=progress)


# ======================================================================================================
# one run
# ======================================================================================================
def _split(y_clean: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, validation) indices of a stratified, seeded split."""
    idx = np.arange(len(y_clean))
    if val_fraction == 0:
        return idx, idx[:0]
    from sklearn.model_selection import train_test_split

    tr, va = train_test_split(idx, test_size=val_fraction, stratify=y_clean, random_state=seed)
    return np.sort(tr), np.sort(va)


def _param_groups(net: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on weights (conv/linear kernels, batch-norm scales) only, as the authors' L2 terms."""
    decay = [p for n, p in net.named_parameters() if not n.endswith("bias")]
    rest = [p for n, p in net.named_parameters() if n.endswith("bias")]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def _embed_all(net: nn.Module, x: torch.Tensor, data: _Data) -> tuple[torch.Tensor, torch.Tensor]:
    """Features ``(n, F)`` and logits ``(n, L)`` (CPU) of all images ``x`` (on the run's device)."""
    return _embed(net, x, torch.arange(len(x), device=x.device), data.mean, data.std)


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


def _to_device(
    dev: torch.device,
    x: torch.Tensor,
    labels: np.ndarray,
    y_clean: np.ndarray,
    tr: np.ndarray,
    va: np.ndarray,
    norm: Mapping[str, Any],
) -> _Data:
    """The run's tensors moved to ``dev``."""
    mean, std = _norm_tensors(norm, dev)
    return _Data(
        x=x.to(dev),
        y_noisy=torch.from_numpy(labels).to(dev),
        y_clean=torch.from_numpy(y_clean.astype(np.int64)).to(dev),
        train_index=torch.from_numpy(tr).to(dev),
        val_index=torch.from_numpy(va).to(dev),
        mean=mean,
        std=std,
    )


def _train(
    dataset: Dataset,
    labels: np.ndarray,
    *,
    model: str,
    epochs: int,
    batch_size: int,
    lr: float,
    lr_halving_every: int | None,
    seed: int,
    val_fraction: float,
    width: float,
    weight_decay: float,
    patience: int | None,
    normalization: str,
    train_outputs: bool,
    device: str,
    progress: bool,
    num_threads: int | None,
) -> TrainResult:
    """The run behind :func:`train`, on validated arguments: split, fit, then embed train and test."""
    options = dict(locals())
    t0 = time.perf_counter()
    params = {"dataset": dataset.name, "n_train": dataset.n_train, "n_test": dataset.n_test}
    params.update({key: options[key] for key in _PARAM_KEYS})
    dev = torch.device(device)
    tr, va = _split(dataset.y_train, val_fraction, seed)
    norm = _normalization(normalization, dataset.x_train, tr)
    x_train = _to_nchw_uint8(dataset.x_train)
    config = _model_config(model, dataset.n_classes, x_train, width)
    schedule = _Schedule(epochs, batch_size, lr, lr_halving_every, patience)
    with _torch_settings(num_threads, deterministic=dev.type == "cpu"), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = _on_device(build_model(**config), dev)
        opt = torch.optim.Adam(_param_groups(net, weight_decay), lr=lr)
        data = _to_device(dev, x_train, labels, dataset.y_train, tr, va, norm)
        history, best = _fit(net, opt, data, seed, schedule, model, progress)
        net.load_state_dict(best.state)
        train_out = _embed_all(net, data.x, data) if train_outputs else None
        data.x = None  # free the training images (device memory) before the test images arrive
        test_feats, test_logits = _embed_all(net, _to_nchw_uint8(dataset.x_test).to(dev), data)
    test_softmax = _softmax_np(test_logits)
    return TrainResult(
        test_accuracy=float(np.mean(test_softmax.argmax(1) == dataset.y_test)),
        test_softmax=test_softmax,
        test_features=test_feats.numpy(),
        train_features=None if train_out is None else train_out[0].numpy(),
        train_softmax=None if train_out is None else _softmax_np(train_out[1]),
        best_epoch=int(best.epoch),
        best_val_accuracy=float(best.val_accuracy),
        history=history,
        state_dict=best.state,
        model_config=config,
        normalization=norm,
        train_index=tr,
        val_index=va,
        params=params,
        device=str(dev),
        seconds=time.perf_counter() - t0,
    )
