"""DenseNet-121, the paper's ImageNet network (ref. [16]; Fig. 3 and Fig. 4, ImageNet rows), as a feature
extractor. torchvision is imported only when a :class:`DenseNet121` is built, never at import time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from knnoise.dnn._layers import _check_input, _check_sizes

__all__ = ["DenseNet121", "densenet121_features"]


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
        n_classes, self.in_channels = _check_sizes(n_classes, in_channels)
        from torchvision.models import densenet121  # lazily: knnoise imports without a working torchvision

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
