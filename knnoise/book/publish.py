"""Publishing a chapter's run: its figures' data and notebook, each written beside and renamed in.

A run (or a restore) writes the chapter's figures' data into a folder of its own, named after its partial
notebook (:mod:`knnoise.book.partials`): ``book/executed/.<name>.<random>.partial.data/``
(:func:`partial_data`). Only a run that succeeded publishes (:func:`publish`): the folder replaces
``book/executed/results/<name>/`` and then the notebook its output, each a rename, so the book sees the old
notebook with the old data or the new with the new; a failed or interrupted run leaves both as they were.
The data folders of killed runs are removed with their partial notebooks (:func:`remove_stale_data`).
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = ["partial_data", "publish", "remove_stale_data"]

_DATA, _ASIDE = ".data", ".old"  # .<name>.<random>.partial.data/.old, beside .<name>.<random>.partial.ipynb


@contextmanager
def partial_data(tmp: Path) -> Iterator[Path]:
    """This run's folder for the chapter's figures' data, named after its partial notebook.

    Parameters
    ----------
    tmp : Path
        The run's partial notebook, ``book/executed/.<name>.<random>.partial.ipynb``.

    Yields
    ------
    Path
        ``book/executed/.<name>.<random>.partial.data`` (not created: the kernel makes it when it writes).
        Removed after the block if it is still there (the run was not published).
    """
    data = tmp.with_suffix(_DATA)
    try:
        yield data
    finally:
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(tmp.with_suffix(_ASIDE), ignore_errors=True)


def remove_stale_data(folder: Path) -> list[Path]:
    """Remove the figure-data folders in ``folder`` (``book/executed``) of runs that were killed.

    A folder is a killed run's when its partial notebook is gone: a live run keeps its partial notebook
    until its data folder is published or removed, and the runner removes a killed run's partial
    notebook first (:func:`knnoise.book.partials.remove_stale_partials`). Returns the folders removed.
    """
    removed = []
    for suffix in (_DATA, _ASIDE):
        for path in sorted(folder.glob(f".*.partial{suffix}")):
            if path.is_dir() and not path.with_suffix(".ipynb").exists():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def publish(tmp: Path, data: Path, output: Path, final: Path) -> None:
    """Publish a run: its figures' data folder, then its notebook, each by a rename.

    Parameters
    ----------
    tmp : Path
        The run's finished partial notebook; renamed onto ``output`` last.
    data : Path
        The run's figures' data (:func:`partial_data`); replaces ``final`` whole. When the run wrote
        none, ``final`` is removed: no file of an earlier run survives.
    output : Path
        ``book/executed/<name>.ipynb``.
    final : Path
        ``book/executed/results/<name>``, the folder the notebook's download links name.

    The book sees the old notebook with the old data or, at worst for an instant, the old notebook with
    the new data, never a half-written folder. Another run of the chapter publishing at the same moment:
    the last one wins.
    """
    aside = tmp.with_suffix(_ASIDE)
    for attempt in itertools.count():
        with suppress(FileNotFoundError):
            os.replace(final, aside)  # a folder renamed to a name that does not exist
        try:
            if data.is_dir():
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(data, final)
            break
        except OSError as err:  # another run put its folder there meanwhile: move that aside too
            if err.errno not in (errno.ENOTEMPTY, errno.EEXIST) or attempt >= 10:
                raise
        finally:
            shutil.rmtree(aside, ignore_errors=True)
    os.replace(tmp, output)
