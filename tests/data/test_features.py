"""Tests for knnoise.data.features: a user's .npz of features, validated key by key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knnoise.data import load


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
