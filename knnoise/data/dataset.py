"""The one dataset type, :class:`Dataset`: a labelled train/test split, and its stratified subsets.

Images are ``uint8`` arrays of shape ``(N, H, W)`` (grayscale) or ``(N, H, W, 3)`` (colour); features are
``float32`` arrays of shape ``(N, D)``; labels are ``int64`` in ``0..L-1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from knnoise._checks import check_choice, check_int, check_seed

__all__ = ["Dataset", "Split"]

Split = Literal["train", "test"]
_SPLITS = ("train", "test")
_ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")  # the arrays of a Dataset (and of an .npz of one)
_DIGIT_NAMES = tuple(str(i) for i in range(10))  # class names of MNIST and the 8x8 digits


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
        The dataset's name (as given to :func:`knnoise.data.load`).
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
        for split in _SPLITS:
            self._check_split_arrays(split)
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"x_train and x_test differ in shape per example: {self.x_train.shape[1:]} vs "
                f"{self.x_test.shape[1:]}"
            )

    def _check_split_arrays(self, split: str) -> None:
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
                f"got {y.min()}..{y.max()}"
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
        check_choice("split", split, _SPLITS)
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
        n_train = check_int("n_train", n_train, maximum=self.n_train, allow_none=True)
        n_test = check_int("n_test", n_test, maximum=self.n_test, allow_none=True)
        rng = np.random.default_rng(check_seed(seed))
        i_train = _stratified_indices(self.y_train, n_train, rng)
        i_test = _stratified_indices(self.y_test, n_test, rng)
        return Dataset(
            x_train=self.x_train[i_train],
            y_train=self.y_train[i_train],
            x_test=self.x_test[i_test],
            y_test=self.y_test[i_test],
            class_names=self.class_names,
            name=self.name,
        )


def _stratified_indices(y: np.ndarray, n: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of a stratified sample of ``n`` of the labels ``y`` (all of them when ``n`` is None).

    Each class gets ``n * count / len(y)`` rounded down; the ``n - sum`` missing ones go to the largest
    remainders (ties broken at random, so no class is favoured systematically). ``n`` is assumed checked
    (``1 <= n <= len(y)``).
    """
    total = len(y)
    if n is None:
        return np.arange(total)
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    quota = counts * (n / total)
    take = np.floor(quota).astype(np.int64)
    short = n - int(take.sum())
    if short:
        order = np.lexsort((rng.random(len(classes)), -(quota - take)))
        take[order[:short]] += 1
    picked = [
        rng.choice(np.flatnonzero(inverse == c), size=int(k), replace=False) for c, k in enumerate(take) if k
    ]
    return np.sort(np.concatenate(picked))
