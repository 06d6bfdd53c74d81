"""Convert the JSON of ``scripts/gpu_paper_points.py`` into a committed results table (results/paper/).

    python scripts/convert_gpu_points.py benchmarks/results/gpu_paper_points_h200_2026-11-27.json \
        --log benchmarks/results/gpu_check_h200_2026-11-27.log --out results/paper

Provenance comes from the files themselves, never typed: the device from the GPU check's log ("CUDA
device: ..."), the commit and date from git (the commit that added the JSON), the schedule from
``knnoise.dnn.PAPER_SCHEDULES["mnist"]`` (what the script trains with), and each network's selected and
changed fractions by redrawing the script's corruption (seed 0).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from knnoise._io import write_text  # noqa: E402
from knnoise.data import load  # noqa: E402
from knnoise.dnn import PAPER_SCHEDULES  # noqa: E402
from knnoise.pipeline.paper_results import from_gpu_points, label  # noqa: E402


def _added_in(path: Path) -> tuple[str, str]:
    """The short hash and date of the commit that added ``path``."""
    out = subprocess.run(
        ["git", "log", "--diff-filter=A", "--format=%h %as", "--", str(path.resolve())],
        capture_output=True, text=True, check=True, cwd=path.resolve().parent,
    )  # fmt: skip
    commit, date = out.stdout.split()[-2:]
    return commit, date


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("points", type=Path, help="the JSON gpu_paper_points.py wrote")
    parser.add_argument("--log", type=Path, required=True, help="gpu_check.py's log from the same machine")
    parser.add_argument("--out", type=Path, default=Path("results/paper"), help="the results folder")
    args = parser.parse_args()
    device = re.search(r"CUDA device: ([^;\n]+)", args.log.read_text(encoding="utf-8")).group(1).strip()
    commit, date = _added_in(args.points)
    table = from_gpu_points(
        args.points, dataset=load("mnist"), schedule=PAPER_SCHEDULES["mnist"], device=device, commit=commit,
        date=date,
    )  # fmt: skip
    name = f"fig4_{table.dataset[0]}_{table.train_images[0]}x{table.epochs[0]}_{date}.csv"
    path = write_text(args.out / name, table.to_csv(index=False))
    print(f"{path}: {label(table)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
