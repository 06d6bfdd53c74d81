"""Tests for knnoise.dnn.cached: a cached run loads instead of training; everything that changes the
result changes the key (the torch thread count included), the device and the progress bar do not."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from knnoise.data import load
from knnoise.dnn import _trainer, is_cached, train, train_cached


def test_cache_loads_instead_of_training(digits, fast, uniform_noise, monkeypatch, tmp_path):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))
    labels = uniform_noise(digits.y_train, 0.2, 10, seed=0)
    kwargs = {**fast, "seed": 3}
    assert not is_cached(digits, labels, **kwargs)
    first = train_cached(digits, labels, **kwargs)
    assert is_cached(digits, labels, **kwargs) and any(tmp_path.rglob("output.pkl"))

    def no_training(*args, **kw):
        raise AssertionError("retrained instead of loading from the cache")

    monkeypatch.setattr(_trainer, "_train_group", no_training)
    # device and progress bar are not part of the key, nor is how the thread count was given (None:
    # torch's count, resolved before the key is made); equal labels of another dtype hit
    again = train(digits, labels.astype(np.int32), **{**kwargs, "progress": True}, device="cpu",
                  num_threads=torch.get_num_threads(), cache=True)  # fmt: skip
    assert again.params["num_threads"] == first.params["num_threads"] == torch.get_num_threads()
    assert np.array_equal(again.test_softmax, first.test_softmax)
    assert np.array_equal(again.train_features, first.train_features)
    assert again.best_epoch == first.best_epoch and again.history == first.history
    assert all(torch.equal(again.state_dict[k], v) for k, v in first.state_dict.items())
    # everything that changes the result changes the key
    other = labels.copy()
    other[0] = (other[0] + 1) % 10
    assert not is_cached(digits, other, **kwargs)
    assert not is_cached(digits.subset(n_train=1000), labels[:1000], **kwargs)
    assert not is_cached(load("digits", seed=1), labels, **kwargs)
    changes = [
        {"lr": 0.004}, {"epochs": 3}, {"seed": 4}, {"lr_halving_every": 1}, {"val_fraction": 0.2},
        {"batch_size": 64}, {"width": 0.5}, {"patience": 1}, {"weight_decay": 0.0},
        {"normalization": "per_pixel"}, {"train_outputs": False}, {"model": "allcnnc"},
        {"num_threads": torch.get_num_threads() + 1},
    ]  # fmt: skip
    for change in changes:
        assert not is_cached(digits, labels, **{**kwargs, **change}), change
    # equal settings spelled differently hit the same entry: the arguments are canonicalised
    assert is_cached(digits, labels.astype(np.float64), **{**kwargs, "epochs": np.int64(2)})


def test_the_cache_follows_knnoise_cache(digits, fast, monkeypatch, tmp_path):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "a"))
    kwargs = {**fast, "epochs": 1, "seed": 0, "train_outputs": False}
    train_cached(digits, digits.y_train, **kwargs)
    assert is_cached(digits, digits.y_train, **kwargs)
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "b"))
    assert not is_cached(digits, digits.y_train, **kwargs)
    assert any((tmp_path / "a" / "joblib").rglob("output.pkl"))


def test_a_damaged_cached_network_is_reported_once_dropped_and_retrained(digits, fast, monkeypatch, tmp_path):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))
    kwargs = {**fast, "epochs": 1, "seed": 0, "train_outputs": False}
    first = train_cached(digits, digits.y_train, **kwargs)
    (output,) = tmp_path.rglob("output.pkl")
    output.write_bytes(output.read_bytes()[:1000])  # truncated: an interrupted copy, a full disk
    trained = []
    real = _trainer._train_group
    monkeypatch.setattr(_trainer, "_train_group", lambda *a, **kw: trained.append(1) or real(*a, **kw))
    message = "damaged cache entry .*_network.* it will be recomputed"
    with pytest.warns(UserWarning, match=message) as record:
        again = train_cached(digits, digits.y_train, **kwargs)
    assert len([w for w in record if "damaged" in str(w.message)]) == 1
    assert trained == [1] and np.array_equal(again.test_softmax, first.test_softmax)
    assert is_cached(digits, digits.y_train, **kwargs)
    train_cached(digits, digits.y_train, **kwargs)
    assert trained == [1]  # the retrained network was stored again
