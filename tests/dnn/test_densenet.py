"""Tests for knnoise.dnn.densenet: DenseNet-121 as a feature extractor, weights from a local file only."""

from __future__ import annotations

import pytest
import torch

from knnoise.dnn.densenet import DenseNet121, densenet121_features
from knnoise.dnn.models import build_model

# DenseNet-121 is torchvision's: skipped where the `vision` extra is not installed (.ci/older-torch)
pytest.importorskip("torchvision", reason="DenseNet-121 needs torchvision (the `vision` extra)")


@pytest.fixture(scope="module")
def densenet():
    return densenet121_features()


def test_densenet_features_on_a_tiny_batch_without_weights(shapes, densenet):
    assert isinstance(densenet, DenseNet121) and not densenet.training
    assert shapes(densenet, torch.rand(2, 3, 64, 64)) == ((2, 1024), (2, 1000))


def test_densenet_never_downloads(monkeypatch):
    import torch.hub

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    assert build_model("densenet121", n_classes=5, in_channels=1).net.classifier.out_features == 5


def test_densenet_weights_from_a_local_file(densenet, tmp_path):
    # torchvision's published checkpoints use old-style keys ("norm.1"); DataParallel adds "module.".
    state = densenet.net.state_dict()
    old = {
        "module." + k.replace("denselayer1.norm1.", "denselayer1.norm.1.").replace(".conv2.", ".conv.2."): v
        for k, v in state.items()
    }
    assert any(".norm.1." in k for k in old)
    path = tmp_path / "densenet121.pth"
    torch.save({"state_dict": old}, path)
    loaded = densenet121_features(path)
    got = loaded.net.state_dict()
    assert all(torch.equal(got[k], v) for k, v in state.items())
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.features(x), densenet.features(x))
    # a checkpoint with another classifier still gives the features
    other = densenet121_features(path, n_classes=7)
    assert other.net.classifier.out_features == 7
    assert torch.equal(other.net.features.conv0.weight, state["features.conv0.weight"])


def test_densenet_weight_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        densenet121_features(tmp_path / "missing.pth")
    bad = tmp_path / "bad.pth"
    torch.save({"conv.weight": torch.zeros(3)}, bad)
    with pytest.raises(ValueError, match="not DenseNet-121 weights"):
        densenet121_features(bad)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot be read"):
        densenet121_features(junk)
