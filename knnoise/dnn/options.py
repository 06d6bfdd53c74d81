"""The training schedule as one value: :class:`TrainOptions`, checked once when it is made.

Everything that changes a trained network's numbers, apart from its data, labels and seed, is a field:
the model, the schedule of Sec. 5 of the paper (epochs, batch size, learning rate and its halving,
patience, the clean validation fraction), the width, the L2 penalty, the input normalisation, whether
training-set outputs are kept, the torch CPU thread count (it changes the order of the CPU's parallel
sums) and the arithmetic's precision. What does not (the device, the progress bar) is not. The object is
passed down whole to the training loop, and :meth:`TrainOptions.key` is what the training cache hashes
(:func:`knnoise.dnn.cached.cache_key`).

Adding a training option is adding a field here (its check in :meth:`TrainOptions.__post_init__`), its
keyword in the front doors :func:`~knnoise.dnn.train` and :func:`~knnoise.dnn.train_group`, and its use
where the loop needs it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from knnoise._checks import check_choice, check_int, check_number, fail
from knnoise.data import Dataset
from knnoise.dnn._options import NORMALIZATIONS, PRECISIONS, _check_threads, _check_val_fraction
from knnoise.dnn.models import MODELS

__all__ = ["TrainOptions"]


@dataclass(frozen=True, kw_only=True)
class TrainOptions:
    """The options of a training run (see :func:`knnoise.dnn.train` for each one's meaning).

    Made once where the values enter (the first line of :func:`~knnoise.dnn.train`,
    :func:`~knnoise.dnn.train_group`, :func:`~knnoise.dnn.train_cached`): every value is checked and
    stored canonical (Python ints, floats and bools), so equal settings hash equally in the cache, and a
    bad value is a ``TypeError``/``ValueError`` naming it before anything is trained. ``num_threads=None``
    is resolved here, in the calling thread, to torch's current count.

    Attributes
    ----------
    model : {"mnist", "allcnnc", "densenet121"}
    epochs, batch_size : int
        ``epochs >= 1``, ``batch_size >= 2``.
    lr : float
        Initial Adam learning rate, > 0.
    lr_halving_every : int or None
        Halve the rate every this many epochs (:meth:`rate`); None keeps it constant.
    val_fraction : float
        The clean validation part, in ``[0, 1)``.
    width, weight_decay : float
        Channel multiplier (> 0); L2 penalty on the weights (>= 0).
    patience : int or None
        Stop after this many epochs without a better validation accuracy; None runs every epoch.
    normalization : {"auto", "unit", "per_pixel"}
        ``"auto"`` until :meth:`for_dataset` resolves it for the dataset's images.
    train_outputs : bool
        Keep the training set's features and softmax.
    num_threads : int
        Torch CPU threads during the run.
    precision : {"float32", "bfloat16"}
        The forward passes' arithmetic: ``"float32"`` (the paper's; on CUDA torch's default lets cuDNN's
        convolutions use TF32), or ``"bfloat16"`` (:func:`torch.autocast`: convolutions and matrix
        products in bfloat16; weights, gradients, the optimiser and the loss stay float32). A speed-up
        for GPUs with bfloat16 units (issue 19); on CPUs without them it is several times slower.
    """

    model: str = "mnist"
    epochs: int
    batch_size: int = 256
    lr: float
    lr_halving_every: int | None
    val_fraction: float = 0.1
    width: float = 1.0
    weight_decay: float = 1e-7
    patience: int | None = None
    normalization: str = "auto"
    train_outputs: bool = True
    num_threads: int | None = None
    precision: str = "float32"

    def __post_init__(self) -> None:
        if not isinstance(self.train_outputs, bool | np.bool_):
            raise fail("train_outputs", "True or False", self.train_outputs, TypeError)
        checked = {
            "model": str(check_choice("model", self.model, MODELS)),
            "epochs": check_int("epochs", self.epochs),
            "batch_size": check_int("batch_size", self.batch_size, minimum=2),
            "lr": check_number("lr", self.lr, low=0.0, low_open=True),
            "lr_halving_every": check_int("lr_halving_every", self.lr_halving_every, allow_none=True),
            "val_fraction": check_number(
                "val_fraction", self.val_fraction, low=0.0, high=1.0, high_open=True
            ),
            "width": check_number("width", self.width, low=0.0, low_open=True),
            "weight_decay": check_number("weight_decay", self.weight_decay, low=0.0),
            "patience": check_int("patience", self.patience, allow_none=True),
            "normalization": str(check_choice("normalization", self.normalization, NORMALIZATIONS)),
            "train_outputs": bool(self.train_outputs),
            "num_threads": _check_threads(self.num_threads),
            "precision": str(check_choice("precision", self.precision, PRECISIONS)),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def for_dataset(self, dataset: Dataset) -> TrainOptions:
        """These options for ``dataset``: the validation part checked against its size and classes, and
        ``"auto"`` normalisation resolved (unit for grayscale, per-pixel for colour, as the authors)."""
        _check_val_fraction(self.val_fraction, dataset)
        if self.normalization != "auto":
            return self
        norm = "per_pixel" if len(dataset.x_train.shape) == 4 else "unit"
        return dataclasses.replace(self, normalization=norm)

    def replace(self, **changes: Any) -> TrainOptions:
        """These options with ``changes`` (field=value), checked as when made."""
        return dataclasses.replace(self, **changes)

    def rate(self, epoch: int) -> float:
        """The learning rate of the 1-based ``epoch``: ``lr`` halved every ``lr_halving_every`` epochs."""
        halving = self.lr_halving_every
        return self.lr * 0.5 ** ((epoch - 1) // halving) if halving else self.lr

    def key(self) -> dict[str, Any]:
        """Every field by name, as plain values: the options' part of the cache key. ``precision`` only
        when it is not ``"float32"``: the networks cached before the option existed keep their keys."""
        key = dataclasses.asdict(self)
        if key["precision"] == "float32":
            del key["precision"]
        return key

    def params(self, seed: int) -> dict[str, Any]:
        """The run's options and ``seed`` as :attr:`knnoise.dnn.TrainResult.params` lists them: in the
        order of :func:`~knnoise.dnn.train`'s signature, the seed after the learning-rate schedule."""
        params: dict[str, Any] = {}
        for name, value in dataclasses.asdict(self).items():
            params[name] = value
            if name == "lr_halving_every":
                params["seed"] = seed
        return params
