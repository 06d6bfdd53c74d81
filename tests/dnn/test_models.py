"""Tests for knnoise.dnn.models (and its building blocks, knnoise.dnn._layers): the paper's networks,
their shapes and feature layers, build_model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from knnoise.dnn.models import FEATURE_DIM, MODELS, AllCNNC, MnistNet, build_model


def _convs(model: nn.Module) -> list[nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


# ======================================================================================================
# MNIST net
# ======================================================================================================
def test_mnist_net_layers_are_the_papers():
    net = MnistNet()
    convs = _convs(net)
    assert [c.out_channels for c in convs] == [20, 20, 50, 50]
    assert all(c.kernel_size == (5, 5) and c.padding == (2, 2) and c.bias is None for c in convs)
    pools = [m for m in net.modules() if isinstance(m, nn.MaxPool2d)]
    assert [(p.kernel_size, p.stride) for p in pools] == [(3, 2), (3, 2)]
    assert net.head.fc.in_features == 50 * 7 * 7 and net.head.fc.out_features == FEATURE_DIM == 256
    assert net.head.out.out_features == 10
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)]
    assert len(bns) == 5 and all(torch.all(b.bias == 0.1) for b in bns)  # the authors' shift init


@pytest.mark.parametrize(("size", "fc_in"), [(28, 2450), (8, 200), (7, 200), (32, 3200)])
def test_mnist_net_shapes_for_mnist_and_small_digits(shapes, size, fc_in):
    net = MnistNet(n_classes=10, image_size=size)
    assert net.head.fc.in_features == fc_in
    assert shapes(net, torch.rand(3, 1, size, size)) == ((3, 256), (3, 10))


def test_mnist_net_colour_rectangular_and_width(shapes):
    net = MnistNet(n_classes=4, in_channels=3, image_size=(12, 20), width=0.5)
    assert [c.out_channels for c in _convs(net)] == [10, 10, 25, 25]
    assert shapes(net, torch.rand(2, 3, 12, 20)) == ((2, 256), (2, 4))


def test_mnist_net_rejects_a_wrong_input_shape():
    net = MnistNet(image_size=28)
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        net(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="NCHW"):
        net.features(torch.rand(2, 28, 28))


def test_features_before_or_after_relu():
    x = torch.rand(4, 1, 8, 8)
    torch.manual_seed(0)
    pre = MnistNet(image_size=8).eval()
    torch.manual_seed(0)
    post = MnistNet(image_size=8, features_after_relu=True).eval()
    with torch.no_grad():
        assert (pre.features(x) < 0).any()  # the authors' default: fc output before batch-norm and ReLU
        assert (post.features(x) >= 0).all()
        torch.testing.assert_close(pre(x), post(x))  # same network, only the read-out point moves


def test_same_seed_same_initialisation():
    torch.manual_seed(3)
    a = MnistNet(image_size=8).state_dict()
    torch.manual_seed(3)
    b = MnistNet(image_size=8).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


# ======================================================================================================
# All-CNN-C
# ======================================================================================================
def test_allcnnc_layers_and_cifar_shapes(shapes):
    net = AllCNNC(n_classes=10)
    convs = _convs(net)
    assert [c.out_channels for c in convs] == [96, 96, 96, 192, 192, 192, 192, 192, 256]
    assert [c.stride[0] for c in convs] == [1, 1, 2, 1, 1, 2, 1, 1, 1]
    assert [c.kernel_size[0] for c in convs] == [3, 3, 3, 3, 3, 3, 3, 1, 1]
    assert convs[6].padding == (0, 0)  # the 192 3x3 "valid" conv
    assert net.head.fc.in_features == 256 and net.head.fc.out_features == 256
    assert shapes(net, torch.rand(2, 3, 32, 32)) == ((2, 256), (2, 10))


def test_allcnnc_small_inputs_and_width(shapes):
    net = AllCNNC(n_classes=3, width=0.25)
    assert [c.out_channels for c in _convs(net)][:4] == [24, 24, 24, 48]
    assert shapes(net, torch.rand(2, 3, 16, 16)) == ((2, 256), (2, 3))


# ======================================================================================================
# build_model
# ======================================================================================================
def test_build_model_by_name():
    assert MODELS == ("mnist", "allcnnc", "densenet121")
    assert isinstance(build_model("mnist", 10, 1, image_size=8), MnistNet)
    assert isinstance(build_model("allcnnc", 10, 3), AllCNNC)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"name": "resnet50", "n_classes": 10},
            ValueError,
            r"name must be one of \('mnist', 'allcnnc', 'densenet121'\), got 'resnet50'",
        ),
        ({"name": "mnist", "n_classes": 1}, ValueError, "n_classes must be an integer >= 2, got 1"),
        ({"name": "mnist", "n_classes": 2.5}, TypeError, "n_classes must be an integer >= 2, got 2.5"),
        ({"name": "mnist", "n_classes": 10, "in_channels": 0}, ValueError, "in_channels"),
        ({"name": "mnist", "n_classes": 10, "image_size": 0}, ValueError, "image_size must be an integer"),
        ({"name": "mnist", "n_classes": 10, "image_size": (8,)}, ValueError, r"an \(H, W\) pair"),
        ({"name": "mnist", "n_classes": 10, "image_size": 8.0}, TypeError, "image_size"),
        ({"name": "mnist", "n_classes": 10, "image_size": (8, 0)}, ValueError, r"image_size\[1\]"),
        ({"name": "allcnnc", "n_classes": 10, "width": 0}, ValueError, "width must be a number > 0, got 0"),
        ({"name": "allcnnc", "n_classes": 10, "width": "wide"}, TypeError, "width"),
        ({"name": "densenet121", "n_classes": 10, "width": 2.0}, ValueError, "width"),
    ],
)
def test_build_model_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        build_model(**kwargs)


def test_numpy_sizes_are_accepted():
    import numpy as np

    net = MnistNet(n_classes=np.int64(4), image_size=(np.int64(8), 8))
    assert net.head.out.out_features == 4 and net.image_size == (8, 8)
