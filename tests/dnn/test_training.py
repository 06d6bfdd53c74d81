"""Tests for knnoise.dnn.training: what train() returns, the split, determinism, normalisation, schedules."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from knnoise.data import Dataset
from knnoise.dnn import PAPER_SCHEDULES, TrainResult, train

ROOT = Path(__file__).resolve().parents[2]


# ======================================================================================================
# learning and the returned arrays
# ======================================================================================================
def test_learns_digits_above_90_percent(clean_run, digits):
    r = clean_run
    assert isinstance(r, TrainResult)
    # measured 0.936-0.992 (seeds 0-5; native AVX2, ATEN_CPU_CAPABILITY=default, ONEDNN_MAX_CPU_ISA=SSE41)
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
    assert list(r.params) == [
        "dataset", "n_train", "n_test", "model", "epochs", "batch_size", "lr", "lr_halving_every", "seed",
        "val_fraction", "width", "weight_decay", "patience", "normalization", "train_outputs", "num_threads",
        "precision",
    ]  # fmt: skip
    assert r.model_config == {"name": "mnist", "n_classes": 10, "in_channels": 1, "image_size": (8, 8),
                              "width": 1.0}  # fmt: skip


def test_split_is_stratified_and_disjoint(clean_run, digits):
    tr, va = clean_run.train_index, clean_run.val_index
    assert len(va) == math.ceil(0.1 * digits.n_train) and len(tr) + len(va) == digits.n_train
    assert np.array_equal(np.sort(np.concatenate([tr, va])), np.arange(digits.n_train))
    share = np.bincount(digits.y_train[va], minlength=10) / np.bincount(digits.y_train, minlength=10)
    assert np.all(np.abs(share - 0.1) < 0.03)


def test_train_outputs_can_be_skipped(digits, fast):
    r = train(digits, digits.y_train, **fast, seed=0, train_outputs=False)
    assert r.train_features is None and r.train_softmax is None
    assert r.test_features.shape == (digits.n_test, 256)


# ======================================================================================================
# determinism
# ======================================================================================================
def test_same_seed_same_result_and_global_state_untouched(digits, fast):
    threads, rng = torch.get_num_threads(), torch.get_rng_state()
    a = train(digits, digits.y_train, **fast, seed=7, num_threads=1)
    b = train(digits, digits.y_train, **fast, seed=7, num_threads=1)
    assert np.array_equal(a.test_softmax, b.test_softmax)
    assert np.array_equal(a.train_features, b.train_features)
    assert a.history["train_loss"] == b.history["train_loss"]
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    c = train(digits, digits.y_train, **fast, seed=8, num_threads=1)
    assert not np.array_equal(a.test_softmax, c.test_softmax)
    assert torch.get_num_threads() == threads and torch.equal(torch.get_rng_state(), rng)
    assert not torch.are_deterministic_algorithms_enabled()


def test_colour_images_use_per_pixel_normalisation(fast):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(80, 16, 16, 3), dtype=np.uint8)
    y = np.arange(80, dtype=np.int64) % 4
    ds = Dataset(x[:60], y[:60], x[60:], y[60:], ("a", "b", "c", "d"), "tiny-colour")
    r = train(ds, ds.y_train, model="allcnnc", **{**fast, "epochs": 1}, seed=0, width=0.125)
    assert r.normalization["kind"] == "per_pixel" and r.normalization["mean"].shape == (3, 16, 16)
    assert r.test_features.shape == (20, 256) and r.test_softmax.shape == (20, 4)
    np.testing.assert_allclose(r.predict(ds.x_test)[0], r.test_softmax, atol=1e-6)
    r = train(ds, ds.y_train, model="mnist", **{**fast, "epochs": 1}, seed=0, normalization="unit")
    assert r.model_config["in_channels"] == 3 and r.normalization["mean"] is None


# ======================================================================================================
# the device, the schedules, the old import path
# ======================================================================================================
def test_train_on_cuda_without_cuda_is_a_clear_error(digits, fast, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        train(digits, digits.y_train, **fast, seed=0, device="cuda")


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


def test_paper_schedules():
    assert dict(PAPER_SCHEDULES["mnist"]) == {
        "model": "mnist", "epochs": 20, "batch_size": 256, "lr": 0.01, "lr_halving_every": 10,
    }  # fmt: skip
    assert dict(PAPER_SCHEDULES["cifar10"]) == {
        "model": "allcnnc", "epochs": 60, "batch_size": 256, "lr": 0.007, "lr_halving_every": 30,
    }  # fmt: skip
    with pytest.raises(TypeError):
        PAPER_SCHEDULES["mnist"]["epochs"] = 1  # read-only
