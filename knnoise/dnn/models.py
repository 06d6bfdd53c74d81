"""The paper's small networks (Sec. 5, Fig. 2 and Fig. 4), in PyTorch, and :func:`build_model`.

===============  ====================================================================================
name             network
===============  ====================================================================================
``mnist``        :class:`MnistNet`, the authors' MNIST net ("lenet" in their code): four 5x5 convs
                 (20, 20, 50, 50) with two 3x3/2 max-pools, a 256-unit fully connected feature layer
                 and the L-way output.
``allcnnc``      :class:`AllCNNC`, All-CNN-C (Springenberg et al., 2015, the paper's ref. [47]) as the
                 authors ran it on CIFAR-10, with the 256-d feature layer the paper adds before the
                 softmax.
``densenet121``  :class:`~knnoise.dnn.densenet.DenseNet121`, torchvision's DenseNet-121 (the paper's
                 ImageNet network, ref. [16]); see :mod:`knnoise.dnn.densenet`.
===============  ====================================================================================

Every model has ``features(x)`` (the penultimate layer, the embedding in which the paper runs K-NN and
clusters for locally concentrated noise) and ``forward(x)`` (logits; the softmax of Fig. 2 is
``forward(x).softmax(1)``); ``features_and_logits(x)`` gives both from one pass. Inputs are float
``NCHW`` tensors.

Following the authors' public code (github.com/AmnonDrory/CNNs-With-Label-Noise, ``CnnWithNoise.py``):
convolutions use "same" padding (except All-CNN-C's one "valid" 3x3) and no bias, each conv and hidden
fully connected layer is followed by batch-norm (shift initialised to 0.1) and ReLU, weights get He
(fan-in) initialisation, and the feature is the output of the 256-unit linear layer *before* its
batch-norm and ReLU (their default ``features_after_relu=False``; pass ``features_after_relu=True`` for the
post-ReLU activation instead). One deliberate difference: batch-norm running statistics use PyTorch's
default momentum 0.1 (TensorFlow 0.9), not the authors' 0.99 (PyTorch 0.01), which needs thousands of
iterations to settle and would leave the short ``quick``/``smoke`` runs with unusable evaluation statistics.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from knnoise._checks import check_choice
from knnoise.dnn._layers import (
    FEATURE_DIM,
    _channels,
    _check_input,
    _check_sizes,
    _check_width,
    _ConvBNReLU,
    _FeatureHead,
    _image_hw,
    _init_like_authors,
)
from knnoise.dnn.densenet import DenseNet121

__all__ = ["FEATURE_DIM", "MODELS", "AllCNNC", "MnistNet", "build_model"]

MODELS: tuple[str, ...] = ("mnist", "allcnnc", "densenet121")
"""The names :func:`build_model` accepts."""


class MnistNet(nn.Module):
    """The authors' MNIST network (the paper's sup. material; ``lenet`` in their code).

    conv 5x5x20, conv 5x5x20, max-pool 3/2, conv 5x5x50, conv 5x5x50, max-pool 3/2, fc 256 (the feature
    layer), fc L; batch-norm and ReLU after every conv and after fc 256.

    Convolutions and pools use "same"-style padding (as the authors' TensorFlow code), so each pool maps
    a side ``s`` to ``ceil(s / 2)``: 28x28 MNIST -> 14 -> 7 (fc input 50*7*7 = 2450) and the 8x8
    ``digits`` images -> 4 -> 2 (fc input 200). The fc input size follows from ``image_size``; the network
    is otherwise the same for any image size (no adaptive pooling is needed).

    Parameters
    ----------
    n_classes : int
        Number of outputs ``L``.
    in_channels : int
        1 for grayscale, 3 for colour.
    image_size : int or (int, int)
        Height and width of the input images (28 for MNIST, 8 for ``digits``).
    width : float
        Multiplier of the conv channel counts (1.0 = the paper's 20/20/50/50). The feature layer stays
        256-d.
    features_after_relu : bool
        ``False`` (the authors' default): :meth:`features` is the fc-256 output before batch-norm and ReLU;
        ``True``: after them.
    """

    def __init__(
        self,
        n_classes: int = 10,
        in_channels: int = 1,
        image_size: int | tuple[int, int] = 28,
        width: float = 1.0,
        features_after_relu: bool = False,
    ) -> None:
        super().__init__()
        n_classes, self.in_channels = _check_sizes(n_classes, in_channels)
        self.image_size = _image_hw(image_size)
        width = _check_width(width)
        c1, c2 = _channels(20, width), _channels(50, width)
        self.body = nn.Sequential(
            _ConvBNReLU(self.in_channels, c1, 5),
            _ConvBNReLU(c1, c1, 5),
            nn.MaxPool2d(3, stride=2, padding=1),
            _ConvBNReLU(c1, c2, 5),
            _ConvBNReLU(c2, c2, 5),
            nn.MaxPool2d(3, stride=2, padding=1),
            nn.Flatten(),
        )
        h, w = (math.ceil(math.ceil(s / 2) / 2) for s in self.image_size)
        self.head = _FeatureHead(c2 * h * w, n_classes, features_after_relu)
        _init_like_authors(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate (256-d) features of a float batch ``(N, C, H, W)``; shape ``(N, 256)``."""
        _check_input(x, self.in_channels, self.image_size, "MnistNet")
        return self.head.features(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, shape ``(N, L)``."""
        _check_input(x, self.in_channels, self.image_size, "MnistNet")
        return self.head(self.body(x))

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features(x), forward(x))`` from one pass through the convolutional body."""
        _check_input(x, self.in_channels, self.image_size, "MnistNet")
        h = self.body(x)
        return self.head.features(h), self.head(h)


class AllCNNC(nn.Module):
    """All-CNN-C (Springenberg et al., 2015) with the paper's 256-d feature layer, as the authors ran it.

    3x3 convs 96, 96, 96/stride 2, 192, 192, 192/stride 2, 192 (3x3, valid), 192 (1x1); then, following
    the authors' code (``allconv`` + ``with_feature``): a 1x1 conv to 256, global average pooling, a
    256-unit fully connected feature layer and the L-way output. Batch-norm and ReLU after every conv
    and after the feature layer; no dropout (the authors used none). On 32x32 CIFAR-10 the maps are
    32 -> 16 -> 8 -> 6 before pooling; any input of at least 5x5 works (global pooling).

    Parameters
    ----------
    n_classes : int
        Number of outputs ``L``.
    in_channels : int
        3 for colour images.
    width : float
        Multiplier of the conv channel counts (1.0 = the paper's 96/192). The 1x1 conv and the feature
        layer stay 256-d.
    features_after_relu : bool
        As in :class:`MnistNet`.
    """

    def __init__(
        self,
        n_classes: int = 10,
        in_channels: int = 3,
        width: float = 1.0,
        features_after_relu: bool = False,
    ) -> None:
        super().__init__()
        n_classes, self.in_channels = _check_sizes(n_classes, in_channels)
        width = _check_width(width)
        a, b = _channels(96, width), _channels(192, width)
        self.body = nn.Sequential(
            _ConvBNReLU(self.in_channels, a, 3),
            _ConvBNReLU(a, a, 3),
            _ConvBNReLU(a, a, 3, stride=2),
            _ConvBNReLU(a, b, 3),
            _ConvBNReLU(b, b, 3),
            _ConvBNReLU(b, b, 3, stride=2),
            _ConvBNReLU(b, b, 3, valid=True),
            _ConvBNReLU(b, b, 1),
            _ConvBNReLU(b, FEATURE_DIM, 1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = _FeatureHead(FEATURE_DIM, n_classes, features_after_relu)
        _init_like_authors(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate (256-d) features of a float batch ``(N, C, H, W)``; shape ``(N, 256)``."""
        _check_input(x, self.in_channels, None, "AllCNNC")
        return self.head.features(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, shape ``(N, L)``."""
        _check_input(x, self.in_channels, None, "AllCNNC")
        return self.head(self.body(x))

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features(x), forward(x))`` from one pass through the convolutional body."""
        _check_input(x, self.in_channels, None, "AllCNNC")
        h = self.body(x)
        return self.head.features(h), self.head(h)


def build_model(
    name: str,
    n_classes: int,
    in_channels: int = 1,
    *,
    image_size: int | tuple[int, int] = 28,
    width: float = 1.0,
    features_after_relu: bool = False,
) -> nn.Module:
    """Build one of :data:`MODELS` by name.

    Parameters
    ----------
    name : {"mnist", "allcnnc", "densenet121"}
        The network (see the module docstring).
    n_classes : int
        Number of outputs ``L``.
    in_channels : int
        Image channels (1 grayscale, 3 colour).
    image_size : int or (int, int)
        Input height and width; used by ``"mnist"`` (its fc layer's input size).
    width : float
        Conv channel multiplier of ``"mnist"`` and ``"allcnnc"`` (1.0 = the paper).
    features_after_relu : bool
        Where ``features`` is read in ``"mnist"`` and ``"allcnnc"`` (see :class:`MnistNet`).

    Returns
    -------
    torch.nn.Module
        With ``features(x)`` and ``forward(x)``.

    Raises
    ------
    ValueError
        Unknown ``name`` or invalid sizes.
    TypeError
        A size or ``width`` that is not a number of the right kind.
    """
    check_choice("name", name, MODELS)
    if name == "mnist":
        return MnistNet(n_classes, in_channels, image_size, width, features_after_relu)
    if name == "allcnnc":
        return AllCNNC(n_classes, in_channels, width, features_after_relu)
    if width != 1.0 or features_after_relu:  # name == "densenet121"
        raise ValueError("densenet121 takes neither width nor features_after_relu")
    return DenseNet121(n_classes, in_channels)
