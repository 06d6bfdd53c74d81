"""Paper-scale MNIST points on a GPU: the authors' schedule (20 epochs, all 60,000 images) at a few noise
levels, to set beside the CPU `quick` profile. Trains until ``--budget`` seconds are spent.

    KNNOISE_DATA=/folder/with/mnist.npz python scripts/gpu_paper_points.py --budget 240 --out results.json

Prints one line per network and writes the rows as JSON (noise, gamma, accuracy, epochs, seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import torch  # noqa: E402

from knnoise.data import load  # noqa: E402
from knnoise.dnn import PAPER_SCHEDULES, train  # noqa: E402
from knnoise.noise import corrupt, flip, uniform  # noqa: E402

POINTS = [("uniform", 0.8), ("flip", 0.45), ("uniform", 0.9), ("flip", 0.55), ("uniform", 0.5), ("flip", 0.3),
          ("uniform", 0.0)]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=240.0, help="seconds of training to spend")
    parser.add_argument("--out", type=Path, default=None, help="write the rows here as JSON")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu_paper_points: CUDA is not available", file=sys.stderr)
        return 2
    mnist = load("mnist", download=False)
    matrices = {"uniform": uniform(10), "flip": flip(10)}
    rows, start = [], time.perf_counter()
    for noise, gamma in POINTS:
        if time.perf_counter() - start > args.budget:
            break
        labels = corrupt(mnist.y_train, gamma, matrices[noise], seed=0).labels
        t = time.perf_counter()
        result = train(mnist, labels, **PAPER_SCHEDULES["mnist"], seed=0, device="cuda", progress=False,
                       train_outputs=False)  # fmt: skip
        row = {"noise": noise, "gamma": gamma, "test_accuracy": round(result.test_accuracy, 4),
               "best_epoch": result.best_epoch, "seconds": round(time.perf_counter() - t, 1)}  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out:
            args.out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
