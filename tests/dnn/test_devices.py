"""Tests for knnoise.dnn.devices: choosing the device, the CPU layout, torch settings restored."""

from __future__ import annotations

import pytest
import torch

from knnoise.dnn import devices, pick_device


def test_pick_device(monkeypatch):
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device() == torch.device("cpu")
    for name in ("cuda", "cuda:0", torch.device("cuda")):
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            pick_device(name)
    for bad in ("tpu", "gpu", 3.5):
        with pytest.raises(ValueError, match="device must be"):
            pick_device(bad)


def test_channels_last_on_the_cpu():
    net = devices._on_device(torch.nn.Conv2d(1, 2, 3), torch.device("cpu"))
    assert net.weight.is_contiguous(memory_format=torch.channels_last)


def test_torch_settings_are_restored_even_on_error():
    threads = torch.get_num_threads()
    with pytest.raises(KeyError), devices._torch_settings(1, deterministic=True):
        assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
        raise KeyError("boom")
    assert torch.get_num_threads() == threads and not torch.are_deterministic_algorithms_enabled()
