"""The real book under the smoke profile: every notebook executes and the book builds strictly."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from knnoise import book


def _book(root: Path, *options: str) -> tuple[str, float]:
    command = [sys.executable, "-m", "knnoise.book", "--profile", "smoke", "--root", str(root), *options]
    start = time.perf_counter()
    completed = subprocess.run(
        [*command, "--no-progress"], cwd=root, capture_output=True, text=True, timeout=1800, check=False
    )
    log = completed.stdout + completed.stderr
    assert completed.returncode == 0, log[-6000:]
    assert "build succeeded" in log and "WARNING:" not in log, log[-6000:]
    return log, time.perf_counter() - start


@pytest.mark.notebooks
def test_smoke_profile_runs_every_notebook_and_builds_the_book_strictly(real_book: Path) -> None:
    """`python -m knnoise.book --profile smoke --force` on a copy of the book (leaves the real _build
    alone), then again with nothing changed: every notebook is restored from the cache, the book rebuilt."""
    names = book.toc_notebooks(real_book)
    log, _ = _book(real_book, "--force")
    assert f"executed {len(names)} notebook(s)" in log
    assert (real_book / "_build" / "html" / "index.html").is_file()
    for name in names:
        assert (real_book / "book" / "executed" / f"{name}.ipynb").is_file()
        assert (real_book / "_build" / "html" / "book" / "executed" / f"{name}.html").is_file()
    log, seconds = _book(real_book)
    assert f"executed 0 notebook(s) in 0.0 s, restored {len(names)} unchanged from the cache" in log, log
    print(f"no-change rebuild (smoke): {seconds:.1f} s")
