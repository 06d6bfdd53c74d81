"""Building blocks and input checks shared by the networks of :mod:`knnoise.dnn.models` and
:mod:`knnoise.dnn.densenet`.

As in the authors' code (github.com/AmnonDrory/CNNs-With-Label-Noise, ``CnnWithNoise.py``): convolutions
without bias, batch-norm (shift initialised to 0.1) and ReLU after each, He (fan-in) initialisation, and
the 256-unit feature layer read *before* its batch-norm and ReLU unless ``features_after_relu``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from knnoise._checks import check_int, check_number, fail

__all__ = ["FEATURE_DIM"]

FEATURE_DIM = 256
"""Width of the feature (penultimate) layer of :class:`MnistNet` and :class:`AllCNNC`, as in the paper."""

_BN_SHIFT_INIT = 0.1  # the authors' beta_initializer for every batch-norm layer


class _ConvBNReLU(nn.Sequential):
    """Conv (no bias) -> batch-norm -> ReLU. ``padding`` is ``"same"``-style for odd kernels unless valid."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, valid: bool = False) -> None:
        padding = 0 if valid else kernel // 2
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )


class _FeatureHead(nn.Module):
    """Linear(``d_in`` -> 256, no bias) = the feature; then batch-norm, ReLU and Linear(256 -> L)."""

    def __init__(self, d_in: int, n_classes: int, features_after_relu: bool) -> None:
        super().__init__()
        self.fc = nn.Linear(d_in, FEATURE_DIM, bias=False)
        self.bn = nn.BatchNorm1d(FEATURE_DIM)
        self.out = nn.Linear(FEATURE_DIM, n_classes)
        self.features_after_relu = bool(features_after_relu)

    def features(self, h: torch.Tensor) -> torch.Tensor:
        z = self.fc(h)
        return F.relu(self.bn(z)) if self.features_after_relu else z

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.bn(self.fc(h))))


def _init_like_authors(module: nn.Module) -> None:
    """He (fan-in) normal weights, batch-norm scale 1 and shift 0.1, output bias 0.1 (authors' code)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.constant_(m.bias, _BN_SHIFT_INIT)
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.constant_(m.bias, _BN_SHIFT_INIT)


def _check_sizes(n_classes: Any, in_channels: Any) -> tuple[int, int]:
    """``n_classes >= 2`` and ``in_channels >= 1``, as ints."""
    return check_int("n_classes", n_classes, minimum=2), check_int("in_channels", in_channels)


def _check_width(width: Any) -> float:
    """The channel multiplier: a positive finite number (1.0 = the paper's channel counts)."""
    return check_number("width", width, low=0.0, low_open=True)


def _channels(c: int, width: float) -> int:
    return max(1, round(c * width))


def _image_hw(image_size: Any) -> tuple[int, int]:
    """``image_size`` as ``(H, W)``: one positive int for a square, or a pair of them."""
    allowed = "a positive int or an (H, W) pair of them"
    if isinstance(image_size, int | np.integer) and not isinstance(image_size, bool):
        side = check_int("image_size", image_size)
        return side, side
    try:
        hw = tuple(image_size)
    except TypeError:
        raise fail("image_size", allowed, image_size, TypeError) from None
    if len(hw) != 2:
        raise fail("image_size", allowed, image_size)
    return check_int("image_size[0]", hw[0]), check_int("image_size[1]", hw[1])


def _check_input(x: torch.Tensor, in_channels: int, hw: tuple[int, int] | None, who: str) -> None:
    """A float NCHW batch with ``in_channels`` channels (and spatial size ``hw`` when given)."""
    if x.ndim != 4 or x.shape[1] != in_channels or (hw is not None and tuple(x.shape[2:]) != hw):
        want = f"(N, {in_channels}, {hw[0]}, {hw[1]})" if hw else f"(N, {in_channels}, H, W)"
        raise ValueError(f"{who} expects a float NCHW batch of shape {want}, got {tuple(x.shape)}")
