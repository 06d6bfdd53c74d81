"""CIFAR-10 (the python version of the data set), as uint8 images ``(N, 32, 32, 3)``.

Read from ``<root>/cifar-10-batches-py`` (or its ``.tar.gz`` archive in ``root``); where neither is there
and the internet is reachable, torchvision downloads it (torchvision is imported only then).
"""

from __future__ import annotations

import os
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from knnoise._io import warn_damaged
from knnoise.data._common import _internet_reachable, data_dir
from knnoise.data.dataset import Dataset

__all__: list[str] = []

_CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
_CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_CIFAR_HOST = ("www.cs.toronto.edu", 443)
_CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_TEST = "test_batch"
_CIFAR_META = "batches.meta"


def _load_cifar10(root: str | os.PathLike[str] | None = None, download: bool = True) -> Dataset:
    """CIFAR-10 from ``<root>/cifar-10-batches-py``; torchvision downloads it where the internet is reachable.

    The local folder is read directly (pickle batches), without torchvision's md5 checks, so that a
    re-packed copy also loads; the arrays are validated instead.
    """
    root = Path(root).expanduser().resolve() if root is not None else data_dir() / "cifar10"
    folder = root / _CIFAR_FOLDER
    if not folder.is_dir() and (root / _CIFAR_ARCHIVE).is_file():
        _extract_tar(root / _CIFAR_ARCHIVE, root)
    if not folder.is_dir():
        reason = _download(root) if download else "download=False was given"
        if not folder.is_dir():
            raise RuntimeError(
                f"CIFAR-10 not found: {folder} does not exist and it cannot be downloaded ({reason}).\n"
                f"Download {_CIFAR_URL} and extract it into {root} (or put the archive there), so that "
                f"{folder / 'data_batch_1'} exists; or pass root=... (default: $KNNOISE_DATA/cifar10)."
            )
    try:
        return _read_cifar_folder(folder)
    except _DamagedBatch as err:
        return _repaired(root, err)


class _DamagedBatch(RuntimeError):
    """A batch file of the folder that is missing or cannot be read."""

    def __init__(self, path: Path, err: BaseException) -> None:
        if isinstance(err, FileNotFoundError):
            err = FileNotFoundError("it is missing")
        reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        what = "is missing" if isinstance(err, FileNotFoundError) else f"is unreadable ({reason})"
        super().__init__(f"{path} {what}")
        self.path, self.err = path, err


def _repaired(root: Path, damaged: _DamagedBatch) -> Dataset:
    """Extract the archive (torchvision's download keeps it) again over a damaged folder and read it; without
    an archive, a RuntimeError that names the damaged file (a user's copy is never deleted here)."""
    archive = root / _CIFAR_ARCHIVE
    if not archive.is_file():
        raise RuntimeError(
            f"CIFAR-10 is damaged: {damaged}, and there is no {archive.name} in {root} to extract it again. "
            f"Delete {damaged.path.parent} to download it again, or extract {_CIFAR_URL} into {root}."
        ) from None
    warn_damaged(damaged.path, damaged.err, stacklevel=4, repair=f"extracted again from {archive}")
    try:
        _extract_tar(archive, root)
        return _read_cifar_folder(root / _CIFAR_FOLDER)
    except (OSError, tarfile.TarError, _DamagedBatch) as err:
        raise RuntimeError(
            f"CIFAR-10 is damaged and extracting {archive} again did not repair it ({err}); delete both to "
            f"download it again, or extract {_CIFAR_URL} into {root}."
        ) from None


def _download(root: Path) -> str:
    """Download CIFAR-10 into ``root`` with torchvision; returns why it did not work (if it did not)."""
    if not _internet_reachable(*_CIFAR_HOST):
        return f"{_CIFAR_HOST[0]} is not reachable"
    try:
        from torchvision.datasets import CIFAR10

        CIFAR10(str(root), train=True, download=True)
    except Exception as err:  # noqa: BLE001 - reported with the instructions
        return f"torchvision's download failed: {type(err).__name__}: {err}"
    return "torchvision's download gave no folder"


def _extract_tar(archive: Path, dest: Path) -> None:
    """Extract the ``.tar.gz`` ``archive`` into ``dest`` (tarfile's ``data`` filter: no links out)."""
    with tarfile.open(archive, "r:gz") as tf:
        tf.extractall(dest, filter="data")


def _unpickle(path: Path, *keys: str) -> dict[str, Any]:
    """One CIFAR pickle (Python 2 or 3) holding ``keys``; keys normalised to ``str``.

    Raises :class:`_DamagedBatch` when it is missing, truncated, emptied or not such a pickle.
    """
    try:
        with path.open("rb") as f:
            entry = pickle.load(f, encoding="latin1")
        entry = {k.decode() if isinstance(k, bytes) else k: v for k, v in entry.items()}
        missing = [k for k in keys if k not in entry]
        if missing:
            raise KeyError(f"no {', '.join(missing)}")
    except Exception as err:  # noqa: BLE001 - FileNotFoundError, EOFError, UnpicklingError, AttributeError...
        raise _DamagedBatch(path, err) from None
    return entry


def _read_cifar_folder(folder: Path) -> Dataset:
    """Read the ``cifar-10-batches-py`` pickle batches into a :class:`Dataset`."""
    batches = [_unpickle(folder / f, "data", "labels") for f in _CIFAR_TRAIN]
    test = _unpickle(folder / _CIFAR_TEST, "data", "labels")
    names = _unpickle(folder / _CIFAR_META, "label_names")["label_names"]
    return _cifar_dataset(
        x_train=np.concatenate([np.asarray(b["data"]) for b in batches]),
        y_train=np.concatenate([np.asarray(b["labels"]) for b in batches]),
        x_test=np.asarray(test["data"]),
        y_test=np.asarray(test["labels"]),
        class_names=[n.decode() if isinstance(n, bytes) else str(n) for n in names],
    )


def _cifar_dataset(
    x_train: np.ndarray,
    y_train: Any,
    x_test: np.ndarray,
    y_test: Any,
    class_names: Any,
    name: str = "cifar10",
) -> Dataset:
    """Turn torchvision-like CIFAR arrays into a :class:`Dataset`.

    ``x`` is either the pickled layout ``(N, 3072)`` (channel-major, as in the batches) or torchvision's
    ``.data`` layout ``(N, 32, 32, 3)``; ``y`` any integer sequence (torchvision's ``.targets`` list).
    """
    xs = []
    for split, x in (("train", x_train), ("test", x_test)):
        x = np.asarray(x)
        if x.dtype != np.uint8:
            raise ValueError(f"CIFAR x_{split} must be uint8, got {x.dtype}")
        if x.ndim == 2 and x.shape[1] == 3 * 32 * 32:
            x = x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        if x.shape[1:] != (32, 32, 3):
            raise ValueError(f"CIFAR x_{split} must be (N, 3072) or (N, 32, 32, 3), got {x.shape}")
        xs.append(np.ascontiguousarray(x))
    return Dataset(
        xs[0],
        np.asarray(y_train, dtype=np.int64),
        xs[1],
        np.asarray(y_test, dtype=np.int64),
        tuple(class_names),
        name,
    )
