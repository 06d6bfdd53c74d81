"""Tests for knnoise.data.cifar10: the local pickle batches, the archive, the offline error."""

from __future__ import annotations

import pickle
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from knnoise.data import cifar10, load

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
def test_cifar10_from_a_local_folder(tmp_path, no_network, bytes_keys):
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


def test_cifar10_extracts_a_local_archive(tmp_path, no_network):
    staging = tmp_path / "staging"
    _write_fake_cifar(staging)
    root = tmp_path / "root"
    root.mkdir()
    with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tf:
        tf.add(staging / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    ds = load("cifar10", root=root)
    assert ds.n_train == 20 and (root / "cifar-10-batches-py" / "data_batch_1").is_file()


def test_cifar10_default_root_is_under_the_data_dir(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("KNNOISE_DATA", str(tmp_path))
    _write_fake_cifar(tmp_path / "cifar10")
    assert load("cifar10").n_test == 5


@pytest.mark.parametrize("download", [True, False])
def test_cifar10_absent_and_offline_says_where_to_put_it(tmp_path, no_network, download):
    with pytest.raises(RuntimeError) as err:
        load("cifar10", root=tmp_path, download=download)
    message = str(err.value)
    assert str(tmp_path / "cifar-10-batches-py") in message
    assert "cifar-10-python.tar.gz" in message and "root=" in message


def test_cifar10_incomplete_folder(tmp_path, no_network):
    _write_fake_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(RuntimeError, match="data_batch_3 is missing"):
        load("cifar10", root=tmp_path)


def test_cifar_helper_accepts_torchvision_layout():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    ds = cifar10._cifar_dataset(x, [0, 1, 2, 9], x[:2], [3, 4], _CIFAR_NAMES)
    np.testing.assert_array_equal(ds.x_train, x)
    assert ds.y_train.dtype == np.int64 and ds.n_classes == 10
    with pytest.raises(ValueError, match="uint8"):
        cifar10._cifar_dataset(x.astype(np.float32), [0] * 4, x[:2], [0, 0], _CIFAR_NAMES)
    with pytest.raises(ValueError, match="3072"):
        cifar10._cifar_dataset(x[:, :16], [0] * 4, x[:2], [0, 0], _CIFAR_NAMES)


def test_cifar10_without_a_working_torchvision_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar10, "_internet_reachable", lambda *a, **k: True)
    for name in ("torchvision", "torchvision.datasets"):
        monkeypatch.setitem(sys.modules, name, None)  # `import torchvision` now raises ImportError
    with pytest.raises(RuntimeError, match="torchvision's download failed: ModuleNotFoundError"):
        load("cifar10", root=tmp_path)
