"""The real book under the smoke profile: every notebook executes and the book builds strictly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from knnoise import book


@pytest.mark.notebooks
def test_smoke_profile_runs_every_notebook_and_builds_the_book_strictly(real_book: Path) -> None:
    """`python -m knnoise.book --profile smoke` on a copy of the book (leaves the real _build alone)."""
    command = [sys.executable, "-m", "knnoise.book", "--profile", "smoke", "--root", str(real_book)]
    completed = subprocess.run(
        [*command, "--no-progress"],
        cwd=real_book,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    log = completed.stdout + completed.stderr
    assert completed.returncode == 0, log[-6000:]
    assert "build succeeded" in log and "WARNING:" not in log, log[-6000:]
    assert (real_book / "_build" / "html" / "index.html").is_file()
    for name in book.toc_notebooks(real_book):
        assert (real_book / "book" / "executed" / f"{name}.ipynb").is_file()
        assert (real_book / "_build" / "html" / "book" / "executed" / f"{name}.html").is_file()
