"""What Dask adds to a sweep (knnoise.pipeline.engine): the same smoke sweep in this process, on a
1-worker and on a 2-worker ``LocalCluster``, in one run.

The cells are cheap and CPU-bound (a fixed numpy sort, about 50 ms), so the per-cell overhead Dask
adds (sending the cell, the result back, the client writing the cell file) is visible; a real cell (one
network, seconds to minutes) dwarfs it. Cluster start-up is timed apart from the sweep. Printed as
ratios to the in-process wall time.
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from knnoise.pipeline import engine
from knnoise.pipeline.sweep import grid, run_sweep

CELLS = grid({"uniform": np.linspace(0, 0.9, 10), "flip": np.linspace(0, 0.45, 10)}, repeats=2)  # 40
SIZE = 4_000_000  # numbers sorted per cell (about 50 ms on this machine)


def smoke_cell(cell, *, size: int) -> dict:
    """A fixed amount of CPU work seeded by the cell; one row."""
    rng = np.random.default_rng([int(cell.gamma * 1000), cell.repeat, len(cell.noise)])
    values = np.sort(rng.random(size))
    return {"median": float(values[size // 2])}


def _sweep(name: str, ex) -> tuple[float, object]:
    start = time.perf_counter()
    table = run_sweep(smoke_cell, CELLS, name=name, params={"size": SIZE}, executor=ex, progress=False)
    return time.perf_counter() - start, table


def main() -> None:
    old = os.environ.get("KNNOISE_CACHE")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["KNNOISE_CACHE"] = cache  # a fresh cache: every cell computed; workers inherit it
        try:
            base, reference = _sweep("bench_inprocess", None)
            rows = []
            for workers in (1, 2):
                start = time.perf_counter()
                with engine.executor(workers) as ex:
                    startup = time.perf_counter() - start
                    wall, table = _sweep(f"bench_dask{workers}", ex)
                assert table.equals(reference), "the Dask sweep's table differs from the in-process one"
                rows.append((workers, startup, wall))
        finally:
            if old is None:
                os.environ.pop("KNNOISE_CACHE", None)
            else:
                os.environ["KNNOISE_CACHE"] = old
    n = len(CELLS)
    print(
        f"{n} cells of {SIZE:,} numbers sorted; in this process: {base:.2f} s ({1000 * base / n:.1f} ms/cell)"
    )
    for workers, startup, wall in rows:
        overhead = (wall * workers - base) / n  # worker-seconds per cell beyond the in-process work
        print(
            f"LocalCluster, {workers} worker(s): start {startup:.2f} s, sweep {wall:.2f} s = "
            f"{wall / base:.2f} x in-process ({base / wall:.2f} x speed-up); overhead "
            f"{1000 * overhead:+.1f} ms per cell; tables equal"
        )


if __name__ == "__main__":
    main()
