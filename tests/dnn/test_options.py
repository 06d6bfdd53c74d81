"""Tests for knnoise.dnn._options: every bad argument of train() is a clear error naming it, raised before
anything is trained."""

from __future__ import annotations

import numpy as np
import pytest

from knnoise.data import load
from knnoise.dnn import train


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"labels": "short"}, ValueError, r"labels must be one label per training example \(1437\), got 10"),
        ({"labels": "range"}, ValueError, r"noisy_train_labels must be labels in 0\.\.9 \(L = 10\), got 10"),
        ({"labels": "fraction"}, TypeError, r"noisy_train_labels must be integer labels \(whole numbers"),
        ({"labels": "2-D"}, ValueError, r"labels must be a 1-D array of labels, got shape \(1437, 1\)"),
        ({"epochs": 0}, ValueError, "epochs must be an integer >= 1, got 0"),
        ({"epochs": 2.0}, TypeError, "epochs must be an integer >= 1, got 2.0"),
        ({"batch_size": 1}, ValueError, "batch_size must be an integer >= 2, got 1"),
        ({"lr": 0}, ValueError, "lr must be a number > 0, got 0"),
        ({"lr": float("nan")}, ValueError, "lr must be a number > 0, got nan"),
        ({"lr": "fast"}, TypeError, "lr must be a number > 0"),
        ({"lr_halving_every": 0}, ValueError, "lr_halving_every must be an integer >= 1 or None, got 0"),
        ({"seed": -1}, ValueError, r"seed must be an integer in 0\.\.4294967295, got -1"),
        ({"seed": 2**32}, ValueError, "seed must be an integer in 0"),
        ({"model": "vgg"}, ValueError, r"model must be one of \('mnist', 'allcnnc', 'densenet121'\), got"),
        ({"val_fraction": 1.0}, ValueError, r"val_fraction must be a number in \[0, 1\), got 1.0"),
        ({"val_fraction": 0.001}, ValueError, "val_fraction=0.001 leaves 2 of 1437 examples"),
        ({"width": -1}, ValueError, "width must be a number > 0, got -1"),
        ({"weight_decay": -1e-3}, ValueError, "weight_decay must be a number >= 0"),
        ({"patience": 0}, ValueError, "patience must be an integer >= 1 or None, got 0"),
        ({"num_threads": 0}, ValueError, "num_threads must be an integer >= 1 or None, got 0"),
        ({"normalization": "imagenet"}, ValueError, "normalization must be one of .*, got 'imagenet'"),
        ({"train_outputs": "yes"}, TypeError, "train_outputs must be True or False, got 'yes'"),
        ({"device": "tpu"}, ValueError, "device must be"),
    ],
)
def test_bad_parameters_name_the_parameter(digits, fast, change, error, match):
    labels = digits.y_train
    change = dict(change)
    kind = change.pop("labels", None)
    if kind == "short":
        labels = labels[:10]
    elif kind == "range":
        labels = labels.copy()
        labels[0] = 10
    elif kind == "fraction":
        labels = labels + 0.5
    elif kind == "2-D":
        labels = labels[:, None]
    with pytest.raises(error, match=match):
        train(digits, labels, **{**fast, "seed": 0, **change})


def test_integral_float_labels_are_accepted_as_integers(digits, fast):
    """Labels that users' code naturally produces as floats (e.g. 3.0) train exactly as the integers."""
    kwargs = {**fast, "epochs": 1, "seed": 0, "train_outputs": False}
    a = train(digits, digits.y_train, **kwargs)
    b = train(digits, digits.y_train.astype(np.float64), **kwargs)
    assert np.array_equal(a.test_softmax, b.test_softmax)


def test_feature_datasets_are_rejected(fast):
    ds = load("synthetic", n_train=50, n_test=10)
    with pytest.raises(ValueError, match="not uint8 images"):
        train(ds, ds.y_train, **fast, seed=0)


def test_a_dataset_is_required(digits, fast):
    with pytest.raises(TypeError, match="dataset must be a knnoise.data.Dataset, got tuple"):
        train((digits.x_train, digits.y_train), digits.y_train, **fast, seed=0)
