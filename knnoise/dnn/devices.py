"""Where a network runs: :func:`pick_device`, the CPU memory layout, and torch's thread/determinism settings
for the duration of a training run (restored afterwards)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

__all__ = ["pick_device"]

_DEVICE_NAMES = "'auto', 'cpu', 'cuda' or 'cuda:N'"


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """The torch device to train on.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N"} or torch.device
        ``"auto"``: CUDA when available, else the CPU.

    Returns
    -------
    torch.device

    Raises
    ------
    RuntimeError
        CUDA was asked for but is not available (or the index is out of range).
    ValueError
        Not a device name.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be {_DEVICE_NAMES}, got {device!r}") from err
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise ValueError(f"device must be {_DEVICE_NAMES}, got {device!r}")
    if not torch.cuda.is_available():
        raise RuntimeError(
            f"device={str(device)!r} was requested but CUDA is not available here "
            f"(torch {torch.__version__}, torch.cuda.is_available() is False); "
            "use device='auto' or 'cpu'"
        )
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise RuntimeError(f"device={str(device)!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    return dev


def _on_device(net: nn.Module, device: torch.device) -> nn.Module:
    """Move ``net`` to ``device``; channels-last on the CPU (measured ~20% faster training, ~45% faster
    inference of the MNIST net with oneDNN on 2 cores; numerically equivalent up to rounding)."""
    net = net.to(device)
    return net.to(memory_format=torch.channels_last) if device.type == "cpu" else net


@contextlib.contextmanager
def _torch_settings(num_threads: int | None, deterministic: bool) -> Iterator[None]:
    """Set torch's CPU thread count and deterministic mode for the block; restore them afterwards."""
    threads = torch.get_num_threads()
    det, warn_only = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    try:
        if num_threads is not None:
            torch.set_num_threads(int(num_threads))
        if deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det, warn_only=warn_only)
