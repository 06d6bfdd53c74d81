"""Tests for knnoise.train: clean-validation early stopping, determinism, caching, devices, errors."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from knnoise import train as train_module
from knnoise.data import Dataset, load
from knnoise.train import PAPER_SCHEDULES, TrainResult, is_cached, pick_device, train, train_cached

ROOT = Path(__file__).resolve().parents[1]
FAST = {"epochs": 2, "batch_size": 128, "lr": 0.003, "lr_halving_every": None, "progress": False}


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load("digits")


def _uniform_noise(y: np.ndarray, gamma: float, n_classes: int, seed: int) -> np.ndarray:
    """Exactly round(gamma * N) labels redrawn uniformly (a local stand-in for knnoise.noise)."""
    rng = np.random.default_rng(seed)
    noisy = y.copy()
    picked = rng.choice(len(y), size=round(gamma * len(y)), replace=False)
    noisy[picked] = rng.integers(0, n_classes, size=len(picked))
    return noisy


@pytest.fixture(scope="module")
def clean_run(digits) -> TrainResult:
    return train(
        digits, digits.y_train, epochs=5, batch_size=128, lr=0.003, lr_halving_every=3, seed=0, progress=False
    )


# ======================================================================================================
# learning and the returned arrays
# ======================================================================================================
def test_learns_digits_above_90_percent(clean_run, digits):
    r = clean_run
    assert r.test_accuracy > 0.9, r.history
    n, m = digits.n_train, digits.n_test
    assert r.test_softmax.shape == (m, 10) and r.test_softmax.dtype == np.float32
    np.testing.assert_allclose(r.test_softmax.sum(1), 1, rtol=1e-5)
    assert r.test_features.shape == (m, 256) and r.test_features.dtype == np.float32
    assert r.train_features.shape == (n, 256) and r.train_softmax.shape == (n, 10)
    assert r.test_accuracy == np.mean(r.test_softmax.argmax(1) == digits.y_test)
    assert r.history["epoch"] == [1, 2, 3, 4, 5]
    assert r.history["lr"] == [0.003, 0.003, 0.003, 0.0015, 0.0015]
    assert r.device == "cpu" and r.seconds > 0
    assert r.params["dataset"] == "digits" and r.params["n_train"] == n


def test_split_is_stratified_and_disjoint(clean_run, digits):
    tr, va = clean_run.train_index, clean_run.val_index
    assert len(va) == math.ceil(0.1 * digits.n_train) and len(tr) + len(va) == digits.n_train
    assert np.array_equal(np.sort(np.concatenate([tr, va])), np.arange(digits.n_train))
    share = np.bincount(digits.y_train[va], minlength=10) / np.bincount(digits.y_train, minlength=10)
    assert np.all(np.abs(share - 0.1) < 0.03)


def test_rebuilt_model_reproduces_the_outputs(clean_run, digits):
    softmax, features = clean_run.predict(digits.x_test)
    np.testing.assert_allclose(softmax, clean_run.test_softmax, atol=1e-6)
    np.testing.assert_allclose(features, clean_run.test_features, atol=1e-5)


# ======================================================================================================
# early stopping on the clean validation labels
# ======================================================================================================
def test_keeps_the_best_clean_validation_checkpoint(digits):
    noisy = _uniform_noise(digits.y_train, 0.6, 10, seed=1)
    r = train(digits, noisy, epochs=4, batch_size=64, lr=0.01, lr_halving_every=None, seed=2, progress=False)
    val = r.history["val_accuracy"]
    assert r.best_epoch == r.history["epoch"][int(np.argmax(val))] and r.best_val_accuracy == max(val)
    # the returned weights are that checkpoint's: they give its clean validation accuracy
    model = r.model()
    x_val = torch.from_numpy(digits.x_train[r.val_index])
    with torch.no_grad():
        pred = model(x_val.float().div(255).unsqueeze(1)).argmax(1).numpy()
    assert np.mean(pred == digits.y_train[r.val_index]) == pytest.approx(r.best_val_accuracy)
    # trained on the noisy labels: it fits them better than chance, but validation uses the clean ones
    assert r.history["train_accuracy"][-1] < 0.9


def test_best_checkpoint_is_the_weights_of_that_epoch(digits, monkeypatch):
    """Scripted validation accuracies make epoch 2 of 4 the best; its weights equal a 2-epoch run's."""
    scripted = iter([0.5, 0.9, 0.7, 0.8])
    monkeypatch.setattr(train_module, "_accuracy", lambda *a, **k: next(scripted))
    r4 = train(digits, digits.y_train, **{**FAST, "epochs": 4}, seed=5)
    assert r4.best_epoch == 2 and r4.best_val_accuracy == 0.9 and len(r4.history["epoch"]) == 4
    scripted = iter([0.1, 0.2])
    r2 = train(digits, digits.y_train, **FAST, seed=5)
    assert r2.best_epoch == 2
    assert all(torch.equal(r4.state_dict[k], v) for k, v in r2.state_dict.items())
    assert np.array_equal(r4.test_softmax, r2.test_softmax) and r4.test_accuracy == r2.test_accuracy


def test_patience_stops_training(digits, monkeypatch):
    scripted = iter([0.5, 0.9, 0.7, 0.8, 0.95])
    monkeypatch.setattr(train_module, "_accuracy", lambda *a, **k: next(scripted))
    r = train(digits, digits.y_train, **{**FAST, "epochs": 5}, seed=0, patience=2)
    assert r.history["epoch"] == [1, 2, 3, 4] and r.best_epoch == 2


def test_train_outputs_can_be_skipped(digits):
    r = train(digits, digits.y_train, **FAST, seed=0, train_outputs=False)
    assert r.train_features is None and r.train_softmax is None
    assert r.test_features.shape == (digits.n_test, 256)


def test_no_validation_keeps_the_last_epoch(digits):
    r = train(digits, digits.y_train, **FAST, seed=0, val_fraction=0)
    assert r.best_epoch == 2 and len(r.val_index) == 0 and len(r.train_index) == digits.n_train
    assert math.isnan(r.best_val_accuracy)


# ======================================================================================================
# determinism
# ======================================================================================================
def test_same_seed_same_result_and_global_state_untouched(digits):
    threads, rng = torch.get_num_threads(), torch.get_rng_state()
    a = train(digits, digits.y_train, **FAST, seed=7, num_threads=1)
    b = train(digits, digits.y_train, **FAST, seed=7, num_threads=1)
    assert np.array_equal(a.test_softmax, b.test_softmax)
    assert np.array_equal(a.train_features, b.train_features)
    assert a.history["train_loss"] == b.history["train_loss"]
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    c = train(digits, digits.y_train, **FAST, seed=8, num_threads=1)
    assert not np.array_equal(a.test_softmax, c.test_softmax)
    assert torch.get_num_threads() == threads and torch.equal(torch.get_rng_state(), rng)
    assert not torch.are_deterministic_algorithms_enabled()


def test_colour_images_use_per_pixel_normalisation():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(80, 16, 16, 3), dtype=np.uint8)
    y = np.arange(80, dtype=np.int64) % 4
    ds = Dataset(x[:60], y[:60], x[60:], y[60:], ("a", "b", "c", "d"), "tiny-colour")
    r = train(ds, ds.y_train, model="allcnnc", **{**FAST, "epochs": 1}, seed=0, width=0.125)
    assert r.normalization["kind"] == "per_pixel" and r.normalization["mean"].shape == (3, 16, 16)
    assert r.test_features.shape == (20, 256) and r.test_softmax.shape == (20, 4)
    np.testing.assert_allclose(r.predict(ds.x_test)[0], r.test_softmax, atol=1e-6)
    r = train(ds, ds.y_train, model="mnist", **{**FAST, "epochs": 1}, seed=0, normalization="unit")
    assert r.model_config["in_channels"] == 3 and r.normalization["mean"] is None


# ======================================================================================================
# caching
# ======================================================================================================
def test_cache_loads_instead_of_training(digits, monkeypatch, tmp_path):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))
    labels = _uniform_noise(digits.y_train, 0.2, 10, seed=0)
    kwargs = {**FAST, "seed": 3}
    assert not is_cached(digits, labels, **kwargs)
    first = train_cached(digits, labels, **kwargs)
    assert is_cached(digits, labels, **kwargs) and any(tmp_path.rglob("output.pkl"))

    def no_training(*args, **kw):
        raise AssertionError("retrained instead of loading from the cache")

    monkeypatch.setattr(train_module, "_train", no_training)
    # device, progress bar and thread count are not part of the key; equal labels of another dtype hit
    again = train(digits, labels.astype(np.int32), **{**kwargs, "progress": True}, device="cpu",
                  num_threads=1, cache=True)  # fmt: skip
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
    ]  # fmt: skip
    for change in changes:
        assert not is_cached(digits, labels, **{**kwargs, **change}), change


# ======================================================================================================
# devices
# ======================================================================================================
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


def test_train_on_cuda_without_cuda_is_a_clear_error(digits, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        train(digits, digits.y_train, **FAST, seed=0, device="cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the failure path on a machine without CUDA")
def test_gpu_check_script_fails_cleanly_without_cuda():
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gpu_check.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "CUDA is not available" in out.stderr and "Traceback" not in out.stderr


# ======================================================================================================
# parameters
# ======================================================================================================
def test_paper_schedules():
    assert dict(PAPER_SCHEDULES["mnist"]) == {
        "model": "mnist", "epochs": 20, "batch_size": 256, "lr": 0.01, "lr_halving_every": 10,
    }  # fmt: skip
    assert dict(PAPER_SCHEDULES["cifar10"]) == {
        "model": "allcnnc", "epochs": 60, "batch_size": 256, "lr": 0.007, "lr_halving_every": 30,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"labels": "short"}, "noisy_train_labels has 10 labels"),
        ({"labels": "range"}, r"noisy_train_labels must lie in 0\.\.9"),
        ({"labels": "float"}, "noisy_train_labels must be 1-D integer"),
        ({"epochs": 0}, "epochs"),
        ({"epochs": 2.0}, "epochs"),
        ({"batch_size": 1}, "batch_size"),
        ({"lr": 0}, "lr must be a positive number"),
        ({"lr": float("nan")}, "lr must be a positive number"),
        ({"lr_halving_every": 0}, "lr_halving_every"),
        ({"seed": -1}, "seed"),
        ({"model": "vgg"}, "unknown model 'vgg'"),
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"val_fraction": 0.001}, "val_fraction"),
        ({"width": -1}, "width"),
        ({"patience": 0}, "patience"),
        ({"num_threads": 0}, "num_threads"),
        ({"normalization": "imagenet"}, "normalization"),
        ({"train_outputs": "yes"}, "train_outputs"),
        ({"device": "tpu"}, "device must be"),
    ],
)
def test_bad_parameters_name_the_parameter(digits, change, match):
    labels = digits.y_train
    change = dict(change)
    kind = change.pop("labels", None)
    if kind == "short":
        labels = labels[:10]
    elif kind == "range":
        labels = labels.copy()
        labels[0] = 10
    elif kind == "float":
        labels = labels.astype(float)
    with pytest.raises(ValueError, match=match):
        train(digits, labels, **{**FAST, "seed": 0, **change})


def test_feature_datasets_are_rejected():
    ds = load("synthetic", n_train=50, n_test=10)
    with pytest.raises(ValueError, match="not uint8 images"):
        train(ds, ds.y_train, **FAST, seed=0)
