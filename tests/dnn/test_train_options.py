"""Tests for knnoise.dnn.options: TrainOptions is checked once, canonical and frozen; its key is what the
training cache hashes, its params what TrainResult.params lists."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from knnoise.dnn import PAPER_SCHEDULES, TrainOptions, train_group_with, train_with
from knnoise.dnn.cached import CACHE_VERSION, cache_key


def test_values_are_checked_canonical_and_frozen():
    options = TrainOptions(epochs=np.int64(3), lr=np.float32(0.5), lr_halving_every=None,
                           train_outputs=np.True_)  # fmt: skip
    assert type(options.epochs) is int and type(options.lr) is float and options.train_outputs is True
    assert options.num_threads == torch.get_num_threads()  # None resolved where the options are made
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.epochs = 4  # type: ignore[misc]
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        TrainOptions(epochs=0, lr=0.1, lr_halving_every=None)
    with pytest.raises(TypeError, match="unexpected keyword argument 'device'"):
        TrainOptions(epochs=1, lr=0.1, lr_halving_every=None, device="cpu")  # no option
    assert TrainOptions(**PAPER_SCHEDULES["mnist"]).rate(11) == 0.005
    with pytest.raises(ValueError, match="precision must be one of .*'float32', 'bfloat16'.*, got 'fp16'"):
        TrainOptions(epochs=1, lr=0.1, lr_halving_every=None, precision="fp16")


def test_replace_checks_again_and_the_with_front_doors_take_only_options(digits):
    options = TrainOptions(epochs=1, lr=0.1, lr_halving_every=None)
    assert options.replace(train_outputs=False) == dataclasses.replace(options, train_outputs=False)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        options.replace(epochs=0)
    with pytest.raises(TypeError, match="options must be a knnoise.dnn.TrainOptions, got dict"):
        train_with(digits, digits.y_train, {"epochs": 1}, seed=0)
    with pytest.raises(TypeError, match="options must be a knnoise.dnn.TrainOptions, got dict"):
        train_group_with(digits, [digits.y_train], [0], {"epochs": 1})


def test_for_dataset_resolves_auto_normalisation_and_checks_the_split(digits):
    options = TrainOptions(epochs=1, lr=0.1, lr_halving_every=None)
    assert options.for_dataset(digits).normalization == "unit"  # grayscale
    assert options.for_dataset(digits) == dataclasses.replace(options, normalization="unit")
    with pytest.raises(ValueError, match="val_fraction=0.001 leaves 2 of 1437 examples"):
        dataclasses.replace(options, val_fraction=0.001).for_dataset(digits)


def test_key_and_params_hold_every_option(digits):
    options = TrainOptions(epochs=2, lr=0.1, lr_halving_every=1, num_threads=1).for_dataset(digits)
    fields = [f.name for f in dataclasses.fields(TrainOptions)]
    assert list(options.key()) == [f for f in fields if f != "precision"]  # float32: the keys of old entries
    assert list(options.replace(precision="bfloat16").key()) == fields
    assert list(options.params(7)) == fields[:5] + ["seed"] + fields[5:]  # train()'s order
    key = cache_key(digits, digits.y_train, 7, options)
    assert key["version"] == CACHE_VERSION and key["seed"] == 7 and key["options"] == options.key()
    assert cache_key(digits, digits.y_train, 7, options.replace(precision="bfloat16")) != key
