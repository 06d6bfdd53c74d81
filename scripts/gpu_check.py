"""Check the CUDA training path: one epoch of the MNIST net on the full MNIST on the GPU, then on the CPU.

Usage (on a machine with CUDA)::

    KNNOISE_DATA=/path/with/mnist.npz python scripts/gpu_check.py [--cpu-subset 10000] [--no-cpu]

Trains :class:`knnoise.dnn.MnistNet` for one epoch with the paper's optimiser settings
(:data:`knnoise.dnn.PAPER_SCHEDULES`) on all 60,000 MNIST training images (90% trained on, 10% clean
validation) with ``device="cuda"``, then one epoch on the CPU on a stratified subset of the training set,
and prints the device, the epoch time, the total time (training and feature extraction) and the test
accuracy of each. Nothing is cached and nothing is downloaded: MNIST is read from
``$KNNOISE_DATA/mnist.npz`` (or the default data folder, see :func:`knnoise.data.data_dir`).

Exit status: 0 on success, 2 when CUDA is not available, 3 when the MNIST file is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import torch  # noqa: E402

from knnoise.data import data_dir, load  # noqa: E402
from knnoise.dnn import PAPER_SCHEDULES, TrainResult, train  # noqa: E402


def _fail(message: str, code: int) -> None:
    print(f"gpu_check: {message}", file=sys.stderr)
    raise SystemExit(code)


def _report(label: str, result: TrainResult, n_train: int) -> dict:
    row = {
        "run": label,
        "device": result.device,
        "train_images": n_train,
        "trained_on": len(result.train_index),
        "epoch_seconds": round(result.history["seconds"][0], 2),
        "total_seconds": round(result.seconds, 2),
        "val_accuracy": round(result.best_val_accuracy, 4),
        "test_accuracy": round(result.test_accuracy, 4),
    }
    print(
        f"{label}: one epoch on {n_train} images ({row['trained_on']} trained on) in "
        f"{row['epoch_seconds']:.2f} s (with feature extraction {row['total_seconds']:.2f} s); "
        f"clean validation accuracy {row['val_accuracy']:.4f}, test accuracy {row['test_accuracy']:.4f}",
        flush=True,
    )
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-subset", type=int, default=10_000, help="training images for the CPU run")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU comparison")
    args = parser.parse_args(argv)

    if not torch.cuda.is_available():
        _fail(
            f"CUDA is not available (torch {torch.__version__}, built for CUDA {torch.version.cuda}, "
            f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')!r}); "
            "run this on a machine with an NVIDIA GPU",
            2,
        )
    try:
        mnist = load("mnist", download=False)
    except RuntimeError as err:
        _fail(
            f"MNIST not found in {data_dir()} (set KNNOISE_DATA to a folder holding mnist.npz):\n{err}",
            3,
        )

    name = torch.cuda.get_device_name(0)
    print(
        f"CUDA device: {name}; torch {torch.__version__}, CUDA {torch.version.cuda}, "
        f"cuDNN {torch.backends.cudnn.version()}; CPU: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()}",
        flush=True,
    )
    schedule = {**PAPER_SCHEDULES["mnist"], "epochs": 1}
    # create the CUDA context and cuDNN handles first, so the epoch time is the epoch's
    warm = torch.nn.Conv2d(1, 4, 5).cuda()
    warm(torch.zeros(2, 1, 28, 28, device="cuda")).sum().backward()
    torch.cuda.synchronize()

    rows = []
    t = time.perf_counter()
    gpu = train(mnist, mnist.y_train, **schedule, seed=0, device="cuda", progress=False, cache=False)
    torch.cuda.synchronize()
    rows.append(_report(f"cuda ({name})", gpu, mnist.n_train))
    print(f"  wall time of the call: {time.perf_counter() - t:.2f} s", flush=True)

    if not args.no_cpu:
        subset = mnist.subset(n_train=args.cpu_subset, seed=0)
        cpu = train(subset, subset.y_train, **schedule, seed=0, device="cpu", progress=False, cache=False)
        rows.append(_report(f"cpu ({torch.get_num_threads()} threads)", cpu, subset.n_train))
    print("RESULT " + json.dumps(rows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
