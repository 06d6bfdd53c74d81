"""From uint8 images to network inputs and back to numpy: layout, normalisation, batched evaluation.

A network sees ``float32`` NCHW batches: pixels / 255 (``"unit"``), or standardised per pixel by the mean
and standard deviation of the training part (``"per_pixel"``, the authors' choice for colour images, with
their epsilon 0.01 on the 0..255 scale).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

__all__: list[str] = []

_EVAL_BATCH = 1024
_PER_PIXEL_EPS = 0.01 / 255  # the authors' epsilon (0.01 on the 0..255 scale)
_STATS_CHUNK = 4096


def _to_nchw_uint8(x: np.ndarray) -> torch.Tensor:
    """uint8 ``(N, H, W)`` or ``(N, H, W, C)`` -> a contiguous uint8 tensor ``(N, C, H, W)``."""
    if x.dtype != np.uint8 or x.ndim not in (3, 4):
        raise ValueError(f"images must be uint8 (N, H, W) or (N, H, W, C), got {x.dtype} {x.shape}")
    t = torch.from_numpy(np.ascontiguousarray(x))
    return t.unsqueeze(1) if t.ndim == 3 else t.permute(0, 3, 1, 2).contiguous()


def _pixel_stats(x: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean and standard deviation (in ``[0, 1]`` units, ``(C, H, W)``) over ``rows``, chunked."""
    total = np.zeros(x.shape[1:], np.float64)
    squares = np.zeros(x.shape[1:], np.float64)
    for start in range(0, len(rows), _STATS_CHUNK):
        chunk = x[rows[start : start + _STATS_CHUNK]].astype(np.float64) / 255.0
        total += chunk.sum(0)
        squares += np.square(chunk).sum(0)
    mean = total / len(rows)
    std = np.sqrt(np.maximum(squares / len(rows) - mean**2, 0.0))
    to_chw = (lambda a: a[None]) if x.ndim == 3 else (lambda a: a.transpose(2, 0, 1))
    return to_chw(mean).astype(np.float32), to_chw(std).astype(np.float32)


def _normalization(kind: str, x: np.ndarray, rows: np.ndarray) -> dict[str, Any]:
    """The :attr:`TrainResult.normalization` record: ``kind`` and, for ``"per_pixel"``, ``mean``, ``std``."""
    norm: dict[str, Any] = {"kind": kind, "mean": None, "std": None}
    if kind == "per_pixel":
        norm["mean"], norm["std"] = _pixel_stats(x, rows)
    return norm


def _norm_tensors(
    normalization: Mapping[str, Any], device: torch.device
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Mean and (epsilon-padded) std as tensors on ``device``; ``(None, None)`` for ``"unit"``."""
    if normalization["kind"] == "unit":
        return None, None
    mean = torch.from_numpy(normalization["mean"]).to(device)
    std = torch.from_numpy(normalization["std"]).to(device) + _PER_PIXEL_EPS
    return mean, std


def _inputs(x_u8: torch.Tensor, mean: torch.Tensor | None, std: torch.Tensor | None) -> torch.Tensor:
    """uint8 NCHW -> float32 network input."""
    x = x_u8.float().div_(255.0)
    x = x if mean is None else (x - mean) / std
    return x.contiguous(memory_format=torch.channels_last) if x.is_cpu else x


@torch.inference_mode()
def _embed(
    net: nn.Module,
    x_u8: torch.Tensor,
    index: torch.Tensor,
    mean: torch.Tensor | None,
    std: torch.Tensor | None,
    batch_size: int = _EVAL_BATCH,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features ``(n, F)`` and logits ``(n, L)`` (CPU float32) of ``x_u8[index]`` in evaluation mode."""
    net.eval()
    feats, logits = [], []
    for start in range(0, len(index), batch_size):
        f, z = net.features_and_logits(_inputs(x_u8[index[start : start + batch_size]], mean, std))
        feats.append(f.float().cpu())
        logits.append(z.float().cpu())
    if not feats:
        return torch.empty(0), torch.empty(0)
    return torch.cat(feats), torch.cat(logits)


def _softmax_np(logits: torch.Tensor) -> np.ndarray:
    """Row softmax of ``(n, L)`` logits as a float32 numpy array."""
    return torch.softmax(logits.float(), dim=1).numpy().astype(np.float32, copy=False)
