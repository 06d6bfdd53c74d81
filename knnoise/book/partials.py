"""Partial notebooks: a notebook's output while it runs, ``book/executed/.<name>.<random>.partial.ipynb``.

:func:`partial_notebook` makes one beside the output and locks it for as long as its run goes on (``flock``;
the system releases the lock when the process ends, even by ``SIGKILL``). A run killed outright leaves its
partial file behind, unlocked: :func:`remove_stale_partials` removes those before the next run. The book
never shows one: the toc names only ``<name>``, and ``_config.yml`` excludes ``**.partial.ipynb``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: stale partial files are found by their age
    fcntl = None  # type: ignore[assignment]

from knnoise.book.profiles import EXECUTED_DIR, find_root

__all__ = ["PARTIAL_PATTERN", "partial_notebook", "remove_stale_partials"]

PARTIAL_PATTERN = ".*.partial.ipynb"  # a notebook being executed, in book/executed (ignored by the book)
_UNLOCKED_STALE_AFTER = 24 * 3600.0  # without file locks (not POSIX): a partial file this old is stale


@contextmanager
def partial_notebook(output: Path, name: str) -> Iterator[Path]:
    """A new partial notebook for notebook ``name`` beside ``output`` (same folder, so that renaming it onto
    ``output`` is atomic), locked for the block; removed, if still there, and unlocked after it."""
    fd, tmp_name = tempfile.mkstemp(dir=output.parent, prefix=f".{name}.", suffix=".partial.ipynb")
    _lock(fd)  # held until the run ends: a lock-free partial file is a killed run's (remove_stale_partials)
    tmp = Path(tmp_name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)
        os.close(fd)


def _lock(fd: int) -> None:
    """Lock the open file ``fd`` for this process (released when it is closed, or the process dies)."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a file system without locks: its partial files are never taken for stale
            pass


def _is_stale(path: Path) -> bool:
    """Whether the partial notebook ``path`` was left by a run that no longer exists (no lock on it)."""
    try:
        if fcntl is None:
            return time.time() - path.stat().st_mtime > _UNLOCKED_STALE_AFTER
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # gone meanwhile
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # locked: a run is writing it
        return False
    finally:
        os.close(fd)
    return True


def remove_stale_partials(root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove the partial notebooks (``book/executed/.<name>.*.partial.ipynb``) of runs that were killed.

    A running :func:`~knnoise.book.execute.execute_notebook` holds a lock on its partial file
    (:func:`partial_notebook`), so the partial files of runs still going are kept.

    Parameters
    ----------
    root : path, optional
        Repository root (see :func:`~knnoise.book.profiles.find_root`).

    Returns
    -------
    list of Path
        The files removed.
    """
    folder = find_root(root) / EXECUTED_DIR
    removed = []
    for path in sorted(folder.glob(PARTIAL_PATTERN)):
        if path.is_file() and _is_stale(path):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path)
    return removed
