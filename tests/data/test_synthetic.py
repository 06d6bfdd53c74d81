"""Tests for knnoise.data.synthetic: scikit-learn's digits and the seeded Gaussian mixture."""

from __future__ import annotations

import numpy as np
import pytest

from knnoise.data import load


# ======================================================================================================
# digits
# ======================================================================================================
def test_digits_shapes_dtypes_and_labels():
    ds = load("digits")
    assert (ds.name, ds.n_train, ds.n_test, ds.n_classes) == ("digits", 1437, 360, 10)
    assert ds.x_train.shape == (1437, 8, 8) and ds.x_test.shape == (360, 8, 8)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert ds.x_train.max() == 255 and ds.x_train.min() == 0
    assert ds.class_names == tuple("0123456789")
    assert set(np.unique(ds.y_test)) == set(range(10))
    counts = ds.class_counts("test")
    assert counts.min() >= 35 and counts.max() <= 37  # stratified: 360 / 10 each, give or take one
    assert ds.image_shape == (8, 8)


def test_digits_split_is_seeded():
    a, b, c = load("digits"), load("digits", seed=0), load("digits", seed=1)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, c.x_test)
    # Train and test partition the 1,797 images: per class, the counts add up to scikit-learn's.
    full = np.bincount(np.concatenate([a.y_train, a.y_test]))
    np.testing.assert_array_equal(full, np.bincount(np.concatenate([c.y_train, c.y_test])))
    assert full.sum() == 1797


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_test": 0}, ValueError, r"n_test must be an integer in 1\.\.1796, got 0"),
        ({"n_test": 1797}, ValueError, r"n_test must be an integer in 1\.\.1796, got 1797"),
        ({"n_test": 36.0}, TypeError, "n_test"),
        ({"seed": -2}, TypeError, "seed must be a non-negative integer"),
    ],
)
def test_bad_digits_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        load("digits", **kwargs)


# ======================================================================================================
# synthetic
# ======================================================================================================
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"n_classes": 0}, ValueError),
        ({"n_classes": 2.5}, TypeError),
        ({"dim": 0}, ValueError),
        ({"n_train": -3}, ValueError),
        ({"n_test": True}, TypeError),
        ({"separation": -1.0}, ValueError),
        ({"separation": float("nan")}, ValueError),
        ({"separation": "far"}, TypeError),
        ({"seed": -1}, TypeError),
        ({"seed": "zero"}, TypeError),
    ],
)
def test_bad_synthetic_option_names_parameter_and_value(kwargs, error):
    ((param, value),) = kwargs.items()
    with pytest.raises(error, match=f"^{param} must be ") as err:
        load("synthetic", **kwargs)
    assert str(err.value).endswith(f"got {value!r}")


def test_synthetic_is_reproducible_by_seed():
    a = load("synthetic", seed=3)
    b = load("synthetic", seed=3)
    c = load("synthetic", seed=4)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert not np.array_equal(a.x_train, c.x_train)
    assert load("synthetic", seed=np.random.default_rng(3)).x_train.shape == a.x_train.shape


def test_synthetic_with_a_thousand_classes():
    ds = load("synthetic", n_classes=1000, dim=16, n_train=3000, n_test=1000, seed=0)
    assert ds.x_train.shape == (3000, 16) and ds.x_test.shape == (1000, 16)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.n_classes == 1000 and ds.image_shape is None and not ds.is_image
    np.testing.assert_array_equal(ds.class_counts("train"), np.full(1000, 3))
    np.testing.assert_array_equal(ds.class_counts("test"), np.ones(1000))
    assert ds.flat().dtype == np.float32 and ds.flat().shape == (3000, 16)


def test_synthetic_separation_controls_class_structure():
    def nearest_mean_accuracy(sep: float) -> float:
        ds = load("synthetic", n_classes=5, dim=10, n_train=2000, n_test=500, separation=sep, seed=0)
        means = np.stack([ds.x_train[ds.y_train == c].mean(axis=0) for c in range(5)])
        pred = np.argmin(((ds.x_test[:, None, :] - means) ** 2).sum(-1), axis=1)
        return float((pred == ds.y_test).mean())

    assert nearest_mean_accuracy(3.0) > 0.95
    assert nearest_mean_accuracy(0.0) < 0.4
