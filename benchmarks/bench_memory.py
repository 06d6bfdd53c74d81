"""Peak resident memory of every notebook, cold cache and warm (issue 13: Binder allows 2 GB).

Each notebook runs alone through the book's runner (``python -m knnoise.book --only NAME --no-build
--force``) in a child process; ``os.wait4`` gives the largest resident set of that process tree (the runner
and the notebook's kernel, which the runner waits for). *Cold*: a fresh, empty cache, the notebooks in the
book's order (so a chapter that reuses another's networks finds them, as in a first ``make book``);
*warm*: every notebook again over that same cache. Downloaded data (MNIST) is shared with the checkout's
cache and not counted as cold work. The notebooks run in a scratch copy of the book's root, so the
checkout's executed book is not touched.

``python -m benchmarks.bench_memory [--profile quick] [--only NAME ...] [--warm-only] [--limit-mb 1536]
[--keep-cache DIR]``
(``python -m benchmarks memory`` runs the quick profile, about 25 minutes on a 2-core laptop). Prints one
row per notebook and exits 1 when a peak passes the limit.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from knnoise._io import CACHE_ENV, cache_dir
from knnoise.book.profiles import find_root, toc_notebooks
from knnoise.data._common import DATA_ENV, data_dir

LIMIT_MB = 1536  # the budget: 1.5 GB under Binder's 2 GB, leaving room for the Jupyter server
_LINKED = ("_toc.yml", "_config.yml", "notebooks", "results", "knnoise", "pyproject.toml")


def _scratch_root(root: Path, scratch: Path) -> Path:
    """A book root whose sources are links to ``root``'s and whose ``book/executed`` is its own."""
    for name in _LINKED:
        if (root / name).exists():
            (scratch / name).symlink_to(root / name)
    (scratch / "book").mkdir()
    for entry in (root / "book").iterdir():
        if entry.name != "executed":
            (scratch / "book" / entry.name).symlink_to(entry)
    return scratch


def _torch() -> str:
    """The torch build the kernels import (a CUDA wheel maps about 290 MB more than a CPU build)."""
    try:
        return f"torch {version('torch')} ({sys.executable})"
    except PackageNotFoundError:
        return f"no torch ({sys.executable})"


def peak_mb(name: str, profile: str, root: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Run one notebook; its process tree's peak resident memory (MB), wall time (s) and exit code."""
    command = [sys.executable, "-m", "knnoise.book", "--profile", profile, "--only", name]
    command += ["--no-build", "--force", "--no-progress", "--root", str(root)]
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        tail = child.stderr.read().decode(errors="replace").strip().splitlines()[-5:]
        print(f"  {name} failed (exit {child.returncode}):", *tail, sep="\n    ", file=sys.stderr)
    child.stderr.close()
    return usage.ru_maxrss / 1024, time.perf_counter() - start, child.returncode  # ru_maxrss is in KiB


def _run(names: list[str], profile: str, root: Path, env: dict[str, str], label: str) -> dict[str, tuple]:
    rows = {}
    for name in names:
        rows[name] = peak_mb(name, profile, root, env)
        mb, wall, code = rows[name]
        print(
            f"  {label:4} {name:20} {mb:8.0f} MB {wall:8.1f} s" + (f"  (exit {code})" if code else ""),
            flush=True,
        )
    return rows


def measure(
    profile: str, only: list[str] | None, warm_only: bool, limit_mb: float, keep_cache: Path | None = None
) -> int:
    """Print every notebook's cold and warm peak; 1 if any passes ``limit_mb`` or fails, else 0."""
    root = find_root()
    names = [n for n in toc_notebooks(root) if not only or n in only]
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        print(f"unknown notebook(s) {unknown}; this profile has {names}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="knnoise-memory-") as scratch:
        scratch = Path(scratch)
        (scratch / "root").mkdir()
        book_root = _scratch_root(root, scratch / "root")
        env = dict(os.environ, **{DATA_ENV: str(data_dir())})
        cold_cache = keep_cache if keep_cache is not None else scratch / "cache"
        if not warm_only and cold_cache.exists() and any(cold_cache.iterdir()):
            print(f"--keep-cache {cold_cache} must be empty or absent for a cold run", file=sys.stderr)
            return 2
        env[CACHE_ENV] = str(cache_dir()) if warm_only else str(cold_cache)
        print(f"profile {profile}: peak resident memory per notebook (limit {limit_mb:.0f} MB); {_torch()}")
        cold = {} if warm_only else _run(names, profile, book_root, env, "cold")
        warm = _run(names, profile, book_root, env, "warm")
    print(f"\n{'notebook':20} {'cold MB':>8} {'warm MB':>8}")
    worst, failed = 0.0, False
    for name in names:
        c = cold.get(name, (float("nan"), 0, 0))
        w = warm[name]
        print(f"{name:20} {c[0]:8.0f} {w[0]:8.0f}")
        worst = max(worst, w[0], c[0] if name in cold else 0.0)
        failed |= bool(w[2] or c[2])
    print(
        f"largest peak {worst:.0f} MB: " + ("within" if worst <= limit_mb else "OVER") + f" {limit_mb:.0f} MB"
    )
    return 1 if failed or worst > limit_mb else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_memory", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--only", nargs="+", metavar="NAME")
    parser.add_argument("--warm-only", action="store_true", help="only warm, over the checkout's own cache")
    parser.add_argument("--limit-mb", type=float, default=LIMIT_MB)
    parser.add_argument(
        "--keep-cache", type=Path, metavar="DIR", help="the cold run's cache (kept), not a temporary one"
    )
    args = parser.parse_args([] if argv is None else argv)
    return measure(args.profile, args.only, args.warm_only, args.limit_mb, args.keep_cache)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
