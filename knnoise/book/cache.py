"""The notebooks' execution cache: jupyter-cache under ``$KNNOISE_CACHE/jupyter-cache``.

A notebook's run is keyed by the notebook *as papermill runs it*: its code cells (the injected parameters
cell included, so every merged parameter is in the key) and their tags, its kernelspec, and its ``knnoise``
metadata: profile, parameters (but not where sweeps run: :func:`without_engine`), :func:`code_hash` (a hash
of the ``knnoise`` package's files, so an edit to the package re-executes every chapter) and
:func:`input_hashes` (of the files and folders that parameters name, such as Fig. 4's committed
``results/paper``). Markdown cells are not in the key: a prose edit is merged into the cached outputs
without re-executing. Each entry stores the executed notebook and, as jupyter-cache artifacts, the claims
the chapter recorded (``book/executed/results/<name>.json``) and its figures' data
(``book/executed/results/<name>/*.csv``), restored with it (:func:`load` reads and checks an entry; the
runner writes it).

A damaged entry (its stored notebook or claims artifact missing, truncated or unreadable, checked before
anything is restored) is reported once as a warning, dropped, and the notebook is executed again and stored
anew. A damaged or deleted index (``global.db``) is reported once, moved aside and rebuilt from the stored
runs when the cache is opened: nothing is executed again for it. Restoring writes nothing to the cache's
database that must succeed, so a read-only cache restores; a failure to store is a warning saying what
happened (read-only, disk full), never that something is damaged.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import functools
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

from knnoise._io import cache_dir
from knnoise.book.cache_key import (
    ENGINE_PARAMETERS,
    code_hash,
    fold_injected,
    input_hashes,
    key_notebook,
    without_engine,
)
from knnoise.book.claims import valid_rows

__all__ = [
    "CACHE_SUBDIR",
    "ENGINE_PARAMETERS",
    "code_hash",
    "input_hashes",
    "fold_injected",
    "key_notebook",
    "load",
    "open_cache",
    "store",
    "without_engine",
]

CACHE_SUBDIR = "jupyter-cache"
_NB_METADATA = ("kernelspec", "knnoise")  # notebook metadata in the key
_CELL_METADATA = ("tags",)  # cell metadata in the key (not papermill's timings)


@functools.cache
def _cache_class() -> type:
    """:class:`jupyter_cache.cache.main.JupyterCacheBase`, keyed by the code, the cells' tags and the
    ``kernelspec``/``knnoise`` metadata (imported on first use: a kernel importing knnoise.book stays light).

    jupyter-cache hashes every cell's metadata by default, papermill's per-cell timings included, so an
    executed notebook would never match the notebook before its run.
    """
    from jupyter_cache.cache.main import JupyterCacheBase

    class NotebookCache(JupyterCacheBase):
        def create_hashed_notebook(
            self, nb: Any, nb_metadata: Any = _NB_METADATA, cell_metadata: Any = _CELL_METADATA
        ) -> tuple[Any, str]:
            nb = without_engine(nb)
            return super().create_hashed_notebook(nb, nb_metadata=nb_metadata, cell_metadata=cell_metadata)

    return NotebookCache


def open_cache(path: str | os.PathLike[str] | None = None) -> Any:
    """The jupyter-cache at ``path`` (default ``$KNNOISE_CACHE/jupyter-cache``), created when missing.

    Its index (``global.db``) is checked first: a damaged one (not a database, truncated, emptied) or a
    missing one beside stored runs is reported once, moved aside (``global.db.damaged``) and rebuilt from
    the stored runs (:func:`_check_index`), so that nothing is executed again for it.
    """
    path = Path(path) if path is not None else cache_dir() / CACHE_SUBDIR
    path.mkdir(parents=True, exist_ok=True)
    _check_index(path)
    return _cache_class()(str(path))


def _index_problem(db: Path) -> str | None:
    """Why the SQLite index ``db`` is unusable (None when it is fine, or busy, or only read-only).

    Read-only (``mode=ro``): checking writes nothing, so a read-only cache is checked too.
    """
    import sqlite3

    try:
        uri = f"{db.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as con:
            (verdict,) = con.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                return f"integrity check: {verdict}"
            con.execute("SELECT pk, hashkey, uri, data FROM nbcache LIMIT 1").fetchall()
    except sqlite3.OperationalError as err:  # busy, locked, cannot open: not damage, unless a table is gone
        return f"{err}" if "no such" in str(err) or "malformed" in str(err) else None
    except sqlite3.DatabaseError as err:  # "file is not a database", "database disk image is malformed"
        return f"{err}"
    return None


def _check_index(path: Path) -> None:
    """Move a damaged index of the cache at ``path`` aside and rebuild it from the stored runs
    (``executed/<hash>/base.ipynb``); rebuild a deleted one. Reported once; a failure to repair (a
    read-only cache) is reported instead."""
    from jupyter_cache.cache.db import DB_NAME

    db = path / DB_NAME
    stored = sorted(p for p in (path / "executed").glob("*") if p.is_dir())
    if db.exists():
        problem = _index_problem(db)
        if problem is None:
            return
        what = f"is damaged ({problem})"
    elif stored:
        what = "is missing"
    else:
        return
    aside = db.with_name(DB_NAME + ".damaged")
    try:
        if db.exists():
            os.replace(db, aside)
        kept = _rebuild_index(_cache_class()(str(path)), stored)  # a new cache object: a new index
    except Exception as err:  # noqa: BLE001 - a read-only or full cache: it works as a miss
        warnings.warn(
            f"the notebook cache's index {db} {what} and could not be rebuilt ({_reason(err)}); notebooks "
            "are executed and not stored",
            stacklevel=3,
        )
        return
    moved = f", moved aside to {aside.name}" if aside.exists() else ""
    warnings.warn(
        f"the notebook cache's index {db} {what}{moved}: rebuilt from the {kept} stored run(s) "
        f"in {db.parent / 'executed'} (unreadable ones dropped)",
        stacklevel=3,
    )


def _rebuild_index(nb_cache: Any, folders: list[Path]) -> int:
    """Create the index afresh and add a record for every stored run whose notebook reads and hashes to
    its folder's name; the others are removed. Returns how many were kept."""
    import nbformat
    from jupyter_cache.cache.db import NbCacheRecord

    kept = 0
    for folder in folders:
        try:
            nb = nbformat.reads((folder / "base.ipynb").read_text(encoding="utf-8"), nbformat.NO_CONVERT)
            _, hashkey = nb_cache.create_hashed_notebook(nb)
            if hashkey != folder.name:
                raise ValueError(f"it hashes to {hashkey}")
        except Exception:  # noqa: BLE001 - a damaged stored run: dropped, its notebook executes again
            shutil.rmtree(folder, ignore_errors=True)
            continue
        artifacts = folder / "artifacts"
        found = sorted(p for p in artifacts.rglob("*") if p.is_file()) if artifacts.is_dir() else []
        data = {"artifacts": [p.relative_to(artifacts).as_posix() for p in found]}
        uri = str(nb.metadata.get("knnoise", {}).get("source") or folder.name)
        NbCacheRecord.create_record(uri=uri, hashkey=hashkey, db=nb_cache.db, data=data)
        kept += 1
    return kept


def _reason(err: BaseException) -> str:
    """``err`` in one line: its innermost cause, without the SQL that SQLAlchemy appends."""
    while err.__cause__ is not None:
        err = err.__cause__
    err = getattr(err, "orig", None) or err  # an SQLAlchemy error wraps the driver's
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _warn_damaged(what: str, err: BaseException) -> None:
    warnings.warn(
        f"dropping the damaged notebook cache entry {what} ({_reason(err)}); "
        "the notebook will be executed again",
        stacklevel=3,
    )


def _merge(nb: Any, stored: Any) -> Any:
    """``nb`` (the notebook as it will run) with the code cells and metadata of its stored run ``stored``.

    As :meth:`jupyter_cache.cache.main.JupyterCacheBase.merge_match_into_notebook` (all metadata from the
    stored run), without its write to the database: a read-only cache restores too.
    """
    import nbformat

    merged = nbformat.convert(copy.deepcopy(nb), 4)
    cached = [cell for cell in stored.cells if cell.cell_type == "code"]
    code = [i for i, cell in enumerate(merged.cells) if cell.cell_type == "code"]
    if len(cached) != len(code):
        raise ValueError(f"it holds {len(cached)} code cells, the notebook {len(code)}")
    merged.metadata = stored.metadata
    for index, cell in zip(code, cached, strict=True):
        if merged.nbformat_minor >= 5:
            cell.id = merged.cells[index].id
        else:
            cell.pop("id", None)
        merged.cells[index] = cell
    return merged


def _stored_artifacts(folder: Path, data: Any) -> list[tuple[str, bytes]]:
    """The artifacts of a stored run (relative path, bytes), each checked: the run's claims must be a list
    of claims rows (:func:`knnoise.book.claims.valid_rows`), and every artifact stored must be there."""
    found = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    artifacts = [(p.relative_to(folder).as_posix(), p.read_bytes()) for p in found]
    expected = data.get("artifacts", []) if isinstance(data, dict) else []
    missing = sorted(set(expected) - {rel for rel, _ in artifacts})
    if missing:
        raise FileNotFoundError(f"its artifact {missing[0]} is missing")
    for rel, content in artifacts:
        try:
            if rel.endswith(".json") and not valid_rows(json.loads(content.decode("utf-8"))):
                raise ValueError("not a list of claims rows")
        except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
            raise ValueError(f"its artifact {rel} is unreadable: {err}") from None
    return artifacts


def _drop(cache: Any, pk: int, folder: Path) -> None:
    """Remove a stored run and its record (as far as possible: the next store replaces what is left)."""
    from jupyter_cache.cache.db import NbCacheRecord

    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(Exception):
        NbCacheRecord.remove_records([pk], cache.db)


def load(cache: Any, nb: Any, *, mark: Any = None) -> tuple[str, list[tuple[str, bytes]]] | None:
    """The cached run of ``nb`` (a :func:`key_notebook`): the notebook to write (``nb``'s markdown, the
    stored run's code cells and metadata; ``mark(notebook)``, when given, edits it) and the stored
    artifacts (path relative to ``book/executed/results``, bytes): the claims ``<name>.json`` and the
    figures' data ``<name>/*``.

    The stored notebook and every artifact are read and checked here, before the caller writes anything.
    Returns None on a miss, or when the entry is damaged (then reported once, dropped and left to
    re-execute).
    """
    import nbformat
    from jupyter_cache.cache.db import NbCacheRecord

    try:
        record = cache.match_cache_notebook(nb)
    except KeyError:
        return None
    except Exception as err:  # noqa: BLE001 - a database that open_cache found usable, now unreadable
        warnings.warn(
            f"could not read the notebook cache {cache.path} ({_reason(err)}); the notebook will be executed",
            stacklevel=2,
        )
        return None
    folder = Path(cache.path) / "executed" / record.hashkey
    try:
        stored = nbformat.reads((folder / "base.ipynb").read_text(encoding="utf-8"), nbformat.NO_CONVERT)
        merged = _merge(nb, stored)
        text = nbformat.writes(mark(merged) if mark else merged).rstrip("\n") + "\n"  # as nbformat.write
        artifacts = _stored_artifacts(folder / "artifacts", record.data)
    except Exception as err:  # noqa: BLE001 - a missing, unreadable or wrong stored notebook or artifact
        _warn_damaged(str(folder), err)
        _drop(cache, record.pk, folder)
        return None
    with contextlib.suppress(Exception):  # when it was last used (the cache's size limit); read-only: fine
        NbCacheRecord.touch(record.pk, cache.db)
    return text, artifacts


def _store_problem(err: BaseException) -> str:
    """Why storing failed, in words: a read-only cache, a full disk, or the error itself."""
    reason = _reason(err)
    inner = err
    while inner.__cause__ is not None:
        inner = inner.__cause__
    if isinstance(inner, PermissionError) or "readonly" in reason or "read-only" in reason:
        return f"it is read-only ({reason})"
    if getattr(inner, "errno", None) == errno.ENOSPC or "disk is full" in reason:
        return f"the disk is full ({reason})"
    return reason


def _artifacts(files: dict[str, Path]) -> Any:
    """``files`` (relative path -> file) as jupyter-cache artifacts, wherever the files are."""
    from jupyter_cache.base import NbArtifactsAbstract

    class Artifacts(NbArtifactsAbstract):
        @property
        def relative_paths(self) -> list[Path]:
            return [Path(rel) for rel in files]

        def __iter__(self) -> Any:
            for rel, path in files.items():
                with path.open("rb") as handle:
                    yield Path(rel), handle

    return Artifacts()


def store(cache: Any, executed: Path, uri: str, files: dict[str, Path] | None = None) -> None:
    """Store the executed notebook ``executed`` and, as its artifacts, ``files`` (path relative to
    ``book/executed/results`` -> the file to store there: the claims ``<name>.json``, the figures' data
    ``<name>/*.csv``, which may still be in the run's own folder).

    A failure to store (a full disk, a read-only cache) is a warning saying what happened: the run itself
    succeeded, and the next run executes the notebook again.
    """
    import nbformat
    from jupyter_cache.base import CacheBundleIn

    files = dict(files or {})
    try:
        nb = nbformat.read(executed, as_version=4)
        data = {"artifacts": sorted(files)}  # checked by load
        bundle = CacheBundleIn(nb, uri, artifacts=_artifacts(files), data=data)
        cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
    except Exception as err:  # noqa: BLE001
        warnings.warn(
            f"could not store {uri} in the notebook cache {cache.path}: {_store_problem(err)}; the run "
            "succeeded, but the next run executes it again",
            stacklevel=2,
        )
