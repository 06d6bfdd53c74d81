"""A user's features as a dataset: an ``.npz`` with ``x_train, y_train, x_test, y_test`` (``class_names``
optional), e.g. DenseNet-121 features of ImageNet (the paper's Fig. 3 and Fig. 4, ImageNet rows).

Every array is validated; each problem is a ValueError naming the file, the key and what is wrong.
Features become ``float32`` ``(N, D)``, labels ``int64``; without ``class_names`` the classes are named
``"0"`` to ``"L-1"`` with ``L`` one more than the largest label.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from knnoise.data.dataset import _ARRAY_KEYS, Dataset

__all__: list[str] = []


def _load_features(path: str | os.PathLike[str] | None = None, name: str | None = None) -> Dataset:
    """A user's ``.npz`` of features: ``x_train, y_train, x_test, y_test`` and optional ``class_names``."""
    if path is None:
        raise ValueError("dataset 'features' needs path=... (an .npz with x_train, y_train, x_test, y_test)")
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"features file not found: {path}")
    arrays = _read_npz(path)
    x_train, y_train, x_test, y_test, class_names = _validate_features(arrays, path)
    return Dataset(x_train, y_train, x_test, y_test, class_names, name or path.stem)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` (no pickles); every key of a dataset must be there."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            missing = [k for k in _ARRAY_KEYS if k not in keys]
            if missing:
                raise ValueError(
                    f"{path}: missing key(s) {', '.join(missing)}; found {', '.join(sorted(keys)) or 'none'}"
                )
            return {k: npz[k] for k in (*_ARRAY_KEYS, "class_names") if k in keys}
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise ValueError(
                f"{path}: holds object arrays; store numeric arrays and a str class_names"
            ) from err
        raise
    except zipfile.BadZipFile as err:
        raise ValueError(f"{path} is not a readable .npz file: {err}") from err


def _validate_features(
    arrays: dict[str, np.ndarray], where: Path | str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """Check a features dict; returns ``x_train, y_train, x_test, y_test, class_names``."""
    xs = {key: _checked_features(arrays[key], key, where) for key in ("x_train", "x_test")}
    if xs["x_train"].shape[1] != xs["x_test"].shape[1]:
        raise ValueError(
            f"{where}: x_test has D={xs['x_test'].shape[1]} features "
            f"but x_train has D={xs['x_train'].shape[1]}"
        )
    ys = {
        key: _checked_labels(arrays[key], key, xs[xkey], xkey, where)
        for key, xkey in (("y_train", "x_train"), ("y_test", "x_test"))
    }
    class_names = _class_names(arrays.get("class_names"), ys, where)
    return xs["x_train"], ys["y_train"], xs["x_test"], ys["y_test"], class_names


def _checked_features(x: np.ndarray, key: str, where: Path | str) -> np.ndarray:
    """A non-empty numeric ``(N, D)`` array of values finite in float32, as float32."""
    if x.ndim != 2:
        raise ValueError(f"{where}: {key} must be 2-D (N, D), got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise ValueError(f"{where}: {key} must be numeric (int or float), got dtype {x.dtype}")
    if x.shape[0] == 0:
        raise ValueError(f"{where}: {key} is empty")
    with np.errstate(over="ignore"):  # values beyond float32 become inf and are reported below
        x = x.astype(np.float32)
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).sum())
        raise ValueError(f"{where}: {key} holds {bad} non-finite value(s) (NaN, inf, or beyond float32)")
    return x


def _checked_labels(y: np.ndarray, key: str, x: np.ndarray, xkey: str, where: Path | str) -> np.ndarray:
    """Non-negative 1-D integer labels, one per row of ``x``, as int64."""
    if y.ndim != 1:
        raise ValueError(f"{where}: {key} must be 1-D, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{where}: {key} must hold integer labels, got dtype {y.dtype}")
    if len(y) != len(x):
        raise ValueError(f"{where}: {key} has {len(y)} labels but {xkey} has {len(x)} rows")
    if y.min() < 0:
        raise ValueError(f"{where}: {key} holds negative labels (min {y.min()}); labels must be 0..L-1")
    return y.astype(np.int64)


def _class_names(
    names: np.ndarray | None, ys: dict[str, np.ndarray], where: Path | str
) -> tuple[str, ...]:
    """The stored class names (1-D strings covering every label), else ``"0"`` .. ``str(max label)``."""
    if names is None:
        top = int(max(y.max() for y in ys.values()))
        return tuple(str(i) for i in range(top + 1))
    if names.ndim != 1 or names.dtype.kind not in "US":
        raise ValueError(
            f"{where}: class_names must be a 1-D array of strings, got {names.dtype} {names.shape}"
        )
    class_names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names.tolist())
    for key, y in ys.items():
        if y.max() >= len(class_names):
            raise ValueError(
                f"{where}: {key} holds label {y.max()} but class_names has only {len(class_names)} "
                f"entries (labels must be 0..{len(class_names) - 1})"
            )
    return class_names
