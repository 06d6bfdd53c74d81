"""The networks of the paper's DNN experiments (Sec. 5, Fig. 2 and Fig. 4), in PyTorch.

===============  ====================================================================================
name             network
===============  ====================================================================================
``mnist``        :class:`MnistNet`, the authors' MNIST net ("lenet" in their code): four 5x5 convs
                 (20, 20, 50, 50) with two 3x3/2 max-pools, a 256-unit fully connected feature layer
                 and the L-way output.
``allcnnc``      :class:`AllCNNC`, All-CNN-C (Springenberg et al., 2015, the paper's ref. [47]) as the
                 authors ran it on CIFAR-10, with the 256-d feature layer the paper adds before the
                 softmax.
``densenet121``  :class:`DenseNet121`, torchvision's DenseNet-121 (the paper's ImageNet network, ref.
                 [16]); :func:`densenet121_features` is the feature extractor, weights from a local file.
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
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "FEATURE_DIM",
    "MODELS",
    "AllCNNC",
    "DenseNet121",
    "MnistNet",
    "build_model",
    "densenet121_features",
]

MODELS: tuple[str, ...] = ("mnist", "allcnnc", "densenet121")
"""The names :func:`build_model` accepts."""

FEATURE_DIM = 256
"""Width of the feature (penultimate) layer of :class:`MnistNet` and :class:`AllCNNC`, as in the paper."""

_BN_SHIFT_INIT = 0.1  # the authors' beta_initializer for every batch-norm layer


# ======================================================================================================
# building blocks
# ======================================================================================================
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


def _check_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_width(width: Any) -> float:
    if (
        isinstance(width, bool)
        or not isinstance(width, int | float)
        or not (width > 0 and math.isfinite(width))
    ):
        raise ValueError(f"width must be a positive number (1.0 = the paper's channel counts), got {width!r}")
    return float(width)


def _channels(c: int, width: float) -> int:
    return max(1, round(c * width))


def _image_hw(image_size: Any) -> tuple[int, int]:
    hw = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(hw) != 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in hw):
        raise ValueError(f"image_size must be a positive int or an (H, W) pair, got {image_size!r}")
    return int(hw[0]), int(hw[1])


def _check_input(x: torch.Tensor, in_channels: int, hw: tuple[int, int] | None, who: str) -> None:
    if x.ndim != 4 or x.shape[1] != in_channels or (hw is not None and tuple(x.shape[2:]) != hw):
        want = f"(N, {in_channels}, {hw[0]}, {hw[1]})" if hw else f"(N, {in_channels}, H, W)"
        raise ValueError(f"{who} expects a float NCHW batch of shape {want}, got {tuple(x.shape)}")


# ======================================================================================================
# MNIST net
# ======================================================================================================
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
        n_classes = _check_int("n_classes", n_classes, 2)
        self.in_channels = _check_int("in_channels", in_channels)
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


# ======================================================================================================
# All-CNN-C
# ======================================================================================================
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
        n_classes = _check_int("n_classes", n_classes, 2)
        self.in_channels = _check_int("in_channels", in_channels)
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


# ======================================================================================================
# DenseNet-121
# ======================================================================================================
class DenseNet121(nn.Module):
    """torchvision's DenseNet-121 with :meth:`features` = its global-average-pooled last feature map.

    The features are **1024-d** for torchvision's DenseNet-121 (the width of its last dense block); the
    paper reports a 2048-d feature for its DenseNet-121 (Sec. 5), which torchvision's architecture does not
    have. Expects ImageNet-normalised RGB input of at least 32x32 (224x224 as trained).

    Parameters
    ----------
    n_classes : int
        Outputs of the classifier (1000 for ImageNet weights).
    in_channels : int
        3 for torchvision's network; another value replaces the first convolution.
    """

    feature_dim = 1024

    def __init__(self, n_classes: int = 1000, in_channels: int = 3) -> None:
        super().__init__()
        from torchvision.models import densenet121

        n_classes = _check_int("n_classes", n_classes, 2)
        self.in_channels = _check_int("in_channels", in_channels)
        self.net = densenet121(weights=None, num_classes=n_classes)  # never downloads
        if self.in_channels != 3:
            self.net.features.conv0 = nn.Conv2d(self.in_channels, 64, 7, stride=2, padding=3, bias=False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features, shape ``(N, 1024)``."""
        _check_input(x, self.in_channels, None, "DenseNet121")
        h = F.relu(self.net.features(x))
        return torch.flatten(F.adaptive_avg_pool2d(h, 1), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, shape ``(N, n_classes)``."""
        return self.net.classifier(self.features(x))

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features(x), forward(x))`` from one pass."""
        f = self.features(x)
        return f, self.net.classifier(f)


# torchvision's published DenseNet checkpoints name some keys "norm.1" where the module is "norm1".
_OLD_DENSENET_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$"
)


def _densenet_state_dict(raw: Any, path: Path) -> dict[str, torch.Tensor]:
    """Normalise a loaded checkpoint to the keys of ``DenseNet121.net``."""
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(raw, Mapping) and isinstance(raw.get(key), Mapping):
            raw = raw[key]
    if not isinstance(raw, Mapping) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise ValueError(f"{path}: expected a DenseNet-121 state_dict (a mapping of names to tensors)")
    out = {}
    for k, v in raw.items():
        k = k.removeprefix("module.").removeprefix("net.")
        m = _OLD_DENSENET_KEY.match(k)
        out[m.group(1) + m.group(2) if m else k] = v
    return out


def densenet121_features(
    weights_path: str | os.PathLike[str] | None = None, n_classes: int = 1000
) -> DenseNet121:
    """DenseNet-121 as the paper's ImageNet feature extractor (Fig. 3 and Fig. 4, ImageNet rows).

    Nothing is downloaded: without ``weights_path`` the network is randomly initialised (enough for shapes
    and tests); with it, the weights are read from that local file (e.g. torchvision's
    ``densenet121-a639ec97.pth``, a plain or ``{"state_dict": ...}`` checkpoint; old-style ``norm.1`` keys
    and ``module.`` prefixes are accepted). Use ``model.features(x)`` for the 1024-d features (the paper
    states 2048-d; see :class:`DenseNet121`).

    Parameters
    ----------
    weights_path : path or None
        A local ``state_dict`` file, loaded with ``torch.load(weights_only=True)``.
    n_classes : int
        Classifier outputs; a checkpoint's classifier of another size is skipped (features are unaffected).

    Returns
    -------
    DenseNet121
        In evaluation mode.

    Raises
    ------
    FileNotFoundError
        ``weights_path`` does not exist.
    ValueError
        The file does not hold DenseNet-121 weights.
    """
    model = DenseNet121(n_classes=n_classes)
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"DenseNet-121 weights not found: {path}")
        try:
            raw = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - reraised with the file named
            raise ValueError(f"{path}: cannot be read as a torch state_dict: {err}") from err
        state = _densenet_state_dict(raw, path)
        own = model.net.state_dict()
        if state.get("classifier.weight") is not None and state["classifier.weight"].shape != (
            own["classifier.weight"].shape
        ):
            state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
        missing, unexpected = model.net.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith("classifier.")]
        if missing or unexpected:
            raise ValueError(
                f"{path}: not DenseNet-121 weights ({len(missing)} missing keys, e.g. {missing[:3]}; "
                f"{len(unexpected)} unexpected, e.g. {unexpected[:3]})"
            )
    return model.eval()


# ======================================================================================================
# factory
# ======================================================================================================
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
    """
    if name == "mnist":
        return MnistNet(n_classes, in_channels, image_size, width, features_after_relu)
    if name == "allcnnc":
        return AllCNNC(n_classes, in_channels, width, features_after_relu)
    if name == "densenet121":
        if width != 1.0 or features_after_relu:
            raise ValueError("densenet121 takes neither width nor features_after_relu")
        return DenseNet121(n_classes, in_channels)
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
