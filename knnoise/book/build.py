"""Building the book: the claims page from the recorded results, then ``jupyter-book build`` (strict).

Jupyter Book executes nothing here (``execute_notebooks: "off"``): it renders what
:func:`knnoise.book.execute.execute_notebook` wrote into ``book/executed/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from knnoise.book.claims import write_results_page
from knnoise.book.errors import BuildFailed
from knnoise.book.profiles import EXECUTED_DIR, HTML_INDEX, RESULTS_DIR, RESULTS_PAGE, find_root

__all__ = ["BUILD_COMMAND", "build_book", "write_claims_page"]

BUILD_OPTIONS = ("-W", "-n", "--keep-going", "--all")
BUILD_COMMAND = "jupyter-book build . " + " ".join(BUILD_OPTIONS)


def write_claims_page(root: str | os.PathLike[str] | None, chapters: Sequence[str]) -> Path:
    """Write the intro's claims table, ``book/executed/results.md``, from what ``chapters`` recorded.

    Each row links to its chapter's page, ``/book/executed/<chapter>``.
    """
    root = find_root(root)
    prefix = f"/{EXECUTED_DIR.as_posix()}/"
    return write_results_page(root / RESULTS_DIR, root / RESULTS_PAGE, chapters, page_prefix=prefix)


def build_book(root: str | os.PathLike[str] | None = None, *, quiet: bool = False) -> Path:
    """Build the HTML book strictly: ``jupyter-book build ROOT -W -n --keep-going --all``.

    ``--all`` re-reads every page: Sphinx only re-emits a page's warnings when it reads the page, so an
    incremental build could pass -W on a book that still has warnings.

    Returns
    -------
    Path
        ``_build/html/index.html``.

    Raises
    ------
    BuildFailed
        On a non-zero exit (any warning, with ``-W``).
    """
    root = find_root(root)
    exe = Path(sys.executable).with_name("jupyter-book")
    command = [str(exe)] if exe.is_file() else [sys.executable, "-m", "jupyter_book.cli.main"]
    command += ["build", str(root), *BUILD_OPTIONS]
    if quiet:
        command.append("-q")
    completed = subprocess.run(command, cwd=root, check=False)
    index = root / HTML_INDEX
    if completed.returncode != 0:
        raise BuildFailed(f"jupyter-book build exited with status {completed.returncode} (see above)")
    if not index.is_file():
        raise BuildFailed(f"jupyter-book build succeeded but {index} is missing")
    return index
