"""What a training run returns: :class:`TrainResult` (arrays on the CPU, picklable, cacheable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from knnoise.dnn._stacked import _in_precision
from knnoise.dnn._tensors import _EVAL_BATCH, _embed, _norm_tensors, _softmax_np, _to_nchw_uint8
from knnoise.dnn.devices import _on_device, pick_device
from knnoise.dnn.models import build_model

__all__ = ["TrainResult"]


@dataclass(frozen=True, eq=False)
class TrainResult:
    """What :func:`~knnoise.dnn.train` returns; everything is on the CPU and picklable.

    Attributes
    ----------
    test_accuracy : float
        Accuracy of the selected checkpoint on the clean test labels (``argmax test_softmax == y_test``).
    test_softmax : numpy.ndarray
        ``(M, L)`` float32 softmax outputs on the test set (Fig. 2; ``C_s`` of Eq. 3 for clean training).
    test_features : numpy.ndarray
        ``(M, F)`` float32 penultimate-layer features of the test set (``F = 256`` for the paper's nets).
    train_features : numpy.ndarray or None
        ``(N, F)`` float32 features of *all* ``N`` training examples (validation part included), in the
        dataset's order; None with ``train_outputs=False``.
    train_softmax : numpy.ndarray or None
        ``(N, L)`` float32 softmax outputs on all training examples; None with ``train_outputs=False``.
    best_epoch : int
        1-based epoch of the selected checkpoint: ``history["epoch"][argmax(history["val_accuracy"])]``
        (the first one on ties; the last epoch when there is no validation part).
    best_val_accuracy : float
        Its clean validation accuracy (NaN without a validation part).
    history : dict of str to list
        Per epoch: ``epoch`` (1-based), ``lr``, ``train_loss`` and ``train_accuracy`` (on the noisy labels,
        in training mode), ``val_accuracy`` (clean labels), ``seconds``.
    state_dict : dict of str to torch.Tensor
        The selected checkpoint's weights (CPU tensors); see :meth:`model`.
    model_config : dict
        Keyword arguments of :func:`knnoise.dnn.build_model` that rebuild the architecture.
    normalization : dict
        ``kind`` (``"unit"`` or ``"per_pixel"``) and ``mean``, ``std`` (``(C, H, W)`` float32 or None):
        how uint8 images are turned into network inputs; see :meth:`predict`.
    train_index, val_index : numpy.ndarray
        Indices into the training set of the part trained on and of the clean validation part.
    params : dict
        The parameters of the run (those that enter the cache key) plus the dataset's name and sizes.
    device : str
        The device it was trained on.
    seconds : float
        Wall time of training and feature extraction.
    """

    test_accuracy: float
    test_softmax: np.ndarray
    test_features: np.ndarray
    train_features: np.ndarray | None
    train_softmax: np.ndarray | None
    best_epoch: int
    best_val_accuracy: float
    history: dict[str, list[float]]
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    model_config: dict[str, Any]
    normalization: dict[str, Any] = field(repr=False)
    train_index: np.ndarray = field(repr=False)
    val_index: np.ndarray = field(repr=False)
    params: dict[str, Any]
    device: str
    seconds: float

    def __repr__(self) -> str:
        p = self.params
        return (
            f"TrainResult({p['model']} on {p['dataset']} (n_train={p['n_train']}), "
            f"test_accuracy={self.test_accuracy:.4f}, "
            f"best_epoch={self.best_epoch}/{len(self.history['epoch'])}, "
            f"best_val_accuracy={self.best_val_accuracy:.4f}, features={self.test_features.shape[1]}, "
            f"device={self.device!r}, seconds={self.seconds:.1f})"
        )

    def model(self, device: str | torch.device = "cpu") -> nn.Module:
        """The network with the selected checkpoint's weights, in evaluation mode."""
        net = build_model(**self.model_config)
        net.load_state_dict(self.state_dict)
        return _on_device(net, pick_device(device)).eval()

    def predict(
        self, images: np.ndarray, device: str | torch.device = "cpu", batch_size: int = _EVAL_BATCH
    ) -> tuple[np.ndarray, np.ndarray]:
        """Softmax ``(n, L)`` and features ``(n, F)`` (float32) of uint8 images, normalised and in the
        arithmetic's precision (``params["precision"]``) as in training."""
        dev = pick_device(device)
        x = _to_nchw_uint8(np.asarray(images)).to(dev)
        mean, std = _norm_tensors(self.normalization, dev)
        net = self.model(dev)
        with _in_precision(net, self.params.get("precision", "float32"), dev.type):
            feats, logits = _embed(net, x, torch.arange(len(x), device=dev), mean, std, batch_size)
        return _softmax_np(logits.float()), feats.float().numpy()
