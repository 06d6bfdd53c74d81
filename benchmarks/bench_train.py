"""Speed of knnoise.dnn.train on the CPU: one epoch of the MNIST net on MNIST subsets (2 torch threads).

Reports the epoch time (training on 90% of the subset plus the clean validation pass) and the whole call
(with the features and softmax of all training and test images), for the paper's network (width 1.0)
and for a half-width one (``width=0.5``), and the time of the same call with the contiguous (NCHW) layout
instead of channels-last. Uses the cached MNIST (``knnoise.data.load("mnist")``).
"""

from __future__ import annotations

from unittest import mock

import torch

from knnoise.data import load
from knnoise.dnn import PAPER_SCHEDULES, _stacked, train


def _one_epoch(ds, **kwargs) -> tuple[float, float]:
    schedule = {**PAPER_SCHEDULES["mnist"], "epochs": 1}
    r = train(ds, ds.y_train, **{**schedule, **kwargs}, seed=0, device="cpu", progress=False, num_threads=2)
    return r.history["seconds"][0], r.seconds


def main() -> None:
    mnist = load("mnist")
    print(f"torch {torch.__version__}, 2 threads, test set of {mnist.n_test} images")
    for n_train, width in ((10_000, 1.0), (20_000, 1.0), (10_000, 0.5)):
        ds = mnist.subset(n_train=n_train, seed=0)
        epoch, total = _one_epoch(ds, width=width)
        print(f"MnistNet width {width}: {n_train} images: epoch {epoch:.1f} s, whole call {total:.1f} s")
    # the contiguous layout, for comparison (the default on CPU is channels-last)
    ds = mnist.subset(n_train=10_000, seed=0)

    with mock.patch.object(_stacked, "_CHANNELS_LAST", False):  # kernels, batches, validation, features
        epoch, total = _one_epoch(ds, width=1.0)
    print(f"MnistNet width 1.0, contiguous NCHW: 10000 images: epoch {epoch:.1f} s, whole call {total:.1f} s")
