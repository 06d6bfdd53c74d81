"""Tests for knnoise.data.dataset (the Dataset type, stratified subsets) and the load() dispatcher."""

from __future__ import annotations

import numpy as np
import pytest

from knnoise.data import DATASETS, Dataset, load


# ======================================================================================================
# load(): names and options
# ======================================================================================================
def test_unknown_name_lists_the_allowed_names():
    with pytest.raises(ValueError, match="name must be one of .*, got 'imagenet'") as err:
        load("imagenet")
    for name in DATASETS:
        assert name in str(err.value)


def test_unknown_option_names_it_and_the_allowed_ones():
    with pytest.raises(ValueError, match="colour") as err:
        load("digits", colour=True)
    assert "seed" in str(err.value)


def test_datasets_are_the_documented_five():
    assert DATASETS == ("digits", "mnist", "cifar10", "features", "synthetic")


# ======================================================================================================
# Dataset
# ======================================================================================================
def test_dataset_properties_and_flat(tiny):
    ds = tiny()
    assert ds.n_classes == 3 and ds.n_train == 6 and ds.n_test == 3
    assert ds.class_names == ("c0", "c1", "c2")  # list coerced to a tuple
    assert ds.is_image and ds.image_shape == (4, 5) and ds.dim == 20
    flat = ds.flat("test")
    assert flat.dtype == np.float32 and flat.shape == (3, 20)
    np.testing.assert_allclose(flat, ds.x_test.reshape(3, -1) / 255.0, rtol=1e-6)
    assert 0.0 <= flat.min() and flat.max() <= 1.0
    np.testing.assert_array_equal(ds.class_counts("train"), [2, 2, 2])
    x, y = ds.arrays("train")
    assert x is ds.x_train and y is ds.y_train
    assert repr(ds) == "Dataset('tiny', n_train=6, n_test=3, n_classes=3, image_shape=(4, 5))"
    with pytest.raises(ValueError, match="split must be one of .*got 'valid'"):
        ds.flat("valid")


def test_dataset_is_frozen(tiny):
    ds = tiny()
    with pytest.raises(AttributeError):
        ds.name = "other"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"y_train": np.arange(5) % 3}, "y_train has 5|x_train has 6"),
        ({"y_test": np.array([0, 1, 3])}, "y_test must lie in 0..2"),
        ({"y_test": np.array([0.0, 1.0, 2.0])}, "y_test must be 1-D integer"),
        ({"x_test": np.zeros((3, 5, 4), np.uint8)}, "differ in shape"),
        ({"class_names": ()}, "at least one class"),
    ],
)
def test_dataset_rejects_inconsistent_arrays(tiny, change, message):
    ds = tiny()
    fields = {k: getattr(ds, k) for k in ("x_train", "y_train", "x_test", "y_test", "class_names", "name")}
    with pytest.raises(ValueError, match=message):
        Dataset(**{**fields, **change})


def test_dataset_rejects_non_arrays(tiny):
    ds = tiny()
    with pytest.raises(TypeError, match="x_train and y_train must be numpy arrays"):
        Dataset(list(ds.x_train), ds.y_train, ds.x_test, ds.y_test, ds.class_names, "l")


def test_subset_is_stratified_seeded_and_ordered():
    ds = load("synthetic", n_classes=4, n_train=400, n_test=100, dim=3, seed=1)
    sub = ds.subset(n_train=40, n_test=20, seed=7)
    assert (sub.n_train, sub.n_test, sub.name, sub.class_names) == (40, 20, ds.name, ds.class_names)
    np.testing.assert_array_equal(sub.class_counts("train"), [10, 10, 10, 10])
    np.testing.assert_array_equal(sub.class_counts("test"), [5, 5, 5, 5])
    again = ds.subset(n_train=40, n_test=20, seed=7)
    np.testing.assert_array_equal(sub.x_train, again.x_train)
    other = ds.subset(n_train=40, n_test=20, seed=8)
    assert not np.array_equal(sub.x_train, other.x_train)
    # Every drawn row is an original row, in the original order.
    rows = [int(np.flatnonzero((ds.x_train == r).all(axis=1))[0]) for r in sub.x_train]
    assert rows == sorted(rows)
    whole = ds.subset(None, None)
    np.testing.assert_array_equal(whole.x_train, ds.x_train)


def test_subset_keeps_class_shares_with_uneven_classes():
    y = np.repeat(np.arange(3), [50, 30, 20])
    ds = Dataset(np.zeros((100, 2), np.float32), y, np.zeros((1, 2), np.float32), y[:1], ("a", "b", "c"), "u")
    sub = ds.subset(n_train=10)
    np.testing.assert_array_equal(sub.class_counts(), [5, 3, 2])
    assert ds.subset(n_train=7, seed=3).n_train == 7


def test_subset_accepts_numpy_sizes_and_a_generator():
    ds = load("synthetic", n_classes=4, n_train=400, n_test=100, dim=3, seed=1)
    a = ds.subset(n_train=np.int64(40), seed=np.random.default_rng(5))
    b = ds.subset(n_train=40, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(a.x_train, b.x_train)


@pytest.mark.parametrize(
    ("n", "error"),
    [(0, ValueError), (-1, ValueError), (1438, ValueError), (2.5, TypeError), (True, TypeError)],
)
def test_subset_rejects_bad_sizes(n, error):
    ds = load("digits")
    with pytest.raises(error, match=r"n_train must be an integer in 1\.\.1437 or None"):
        ds.subset(n_train=n)


@pytest.mark.parametrize("seed", [-1, "zero", 1.5])
def test_subset_rejects_bad_seeds(seed):
    with pytest.raises(TypeError, match="seed must be a non-negative integer, a sequence of them or a numpy"):
        load("digits").subset(n_train=100, seed=seed)
