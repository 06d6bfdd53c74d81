"""The notebooks' execution cache: jupyter-cache under ``$KNNOISE_CACHE/jupyter-cache``.

A notebook's run is keyed by the notebook *as papermill runs it*: its code cells (the injected parameters
cell included, so every merged parameter is in the key) and their tags, its kernelspec, and its ``knnoise``
metadata: profile, parameters (but not where sweeps run: :func:`without_engine`), :func:`code_hash` (a hash
of the ``knnoise`` package's files, so an edit to the package re-executes every chapter) and
:func:`input_hashes` (of the files and folders that parameters name, such as Fig. 4's committed
``results/paper``). Markdown cells are not in the key: a prose edit is merged into the cached outputs
without re-executing. Each entry stores the executed notebook and, as jupyter-cache artifacts, the claims
the chapter recorded (``book/executed/results/<name>.json``) and its figures' data
(``book/executed/results/<name>/*.csv``), restored with it.

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
import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

from knnoise._io import atomic_file, cache_dir
from knnoise.book.claims import valid_rows

__all__ = [
    "CACHE_SUBDIR",
    "ENGINE_PARAMETERS",
    "code_hash",
    "input_hashes",
    "key_notebook",
    "open_cache",
    "restore",
    "store",
    "without_engine",
]

CACHE_SUBDIR = "jupyter-cache"
_NB_METADATA = ("kernelspec", "knnoise")  # notebook metadata in the key
_CELL_METADATA = ("tags",)  # cell metadata in the key (not papermill's timings)
_PACKAGE = Path(__file__).resolve().parents[1]
ENGINE_PARAMETERS = ("scheduler",)  # where sweeps run, not what they compute: not in the key


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


def _tree_hash(root: Path) -> str:
    """SHA-256 of the files under ``root`` (or of the file ``root``): their paths and bytes, sorted."""
    digest = hashlib.sha256()
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in files:
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def code_hash(package: str | os.PathLike[str] | None = None) -> str:
    """SHA-256 of the ``knnoise`` package's files (``.py`` and package data; not ``__pycache__``)."""
    return _tree_hash(Path(package) if package is not None else _PACKAGE)


def input_hashes(parameters: dict[str, Any], root: Path) -> dict[str, str]:
    """SHA-256 of the files or folders that string parameters name (relative to ``root``), by parameter.

    A chapter reading committed data (Fig. 4's ``results_dir = "results/paper"``) or a user's file is
    re-executed when that data changes. A folder the notebook writes into is hashed before its run, so
    the run after one that changed it executes once more.
    """
    hashes = {}
    for key, value in parameters.items():
        if isinstance(value, str) and value and len(value) < 4096:
            path = Path(value).expanduser()
            path = path if path.is_absolute() else root / path
            if path.exists() and path.resolve() != root.resolve():
                hashes[key] = _tree_hash(path)
    return hashes


def _is_engine_line(line: str) -> bool:
    return line.partition("=")[0].strip() in ENGINE_PARAMETERS


def without_engine(nb: Any) -> Any:
    """A copy of ``nb`` without the parameters that say where sweeps run (:data:`ENGINE_PARAMETERS`):
    neither in its ``knnoise`` metadata nor in papermill's injected-parameters cell.

    A sweep gives the same numbers in the kernel and on a Dask cluster (tests/experiments/test_engine.py),
    so a run with ``--workers 2`` (whose scheduler address is new every time) is restored by any later
    run, with or without an engine, and the other way round.
    """
    nb = copy.deepcopy(nb)
    parameters = nb.get("metadata", {}).get("knnoise", {}).get("parameters")
    for name in ENGINE_PARAMETERS if isinstance(parameters, dict) else ():
        parameters.pop(name, None)
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            kept = [line for line in cell.source.splitlines(keepends=True) if not _is_engine_line(line)]
            cell.source = "".join(kept)
    return nb


def fold_injected(nb: Any) -> Any:
    """Fold papermill's injected-parameters cell (tag it ``hide-input``) like the cell it overrides."""
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "hide-input" not in tags:
            cell.metadata["tags"] = [*tags, "hide-input"]
    return nb


def key_notebook(nb: Any, parameters: dict[str, Any], kernel_name: str) -> Any:
    """The notebook as papermill will run it: ``nb`` with the injected parameters cell, folded.

    The same steps as :func:`papermill.execute_notebook` before it starts the kernel (which adds empty
    ``tags`` to every cell), plus :func:`fold_injected`, which the runner applies to the executed notebook.
    """
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(copy.deepcopy(nb))
    if parameters:  # as papermill.execute_notebook does
        nb = parameterize_notebook(nb, parameters, kernel_name=kernel_name)
    return fold_injected(nb)


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


def restore(cache: Any, nb: Any, output: Path, results_dir: Path, *, mark: Any = None) -> bool:
    """Write the cached run of ``nb`` (a :func:`key_notebook`) to ``output`` and restore its claims and
    figure data; ``mark(notebook)``, when given, edits the notebook before it is written.

    The stored notebook and every artifact are read and checked before anything is written. Returns
    False on a miss, or when the entry is damaged (then reported once, dropped and left to re-execute).
    """
    import nbformat
    from jupyter_cache.cache.db import NbCacheRecord

    try:
        record = cache.match_cache_notebook(nb)
    except KeyError:
        return False
    except Exception as err:  # noqa: BLE001 - a database that open_cache found usable, now unreadable
        warnings.warn(
            f"could not read the notebook cache {cache.path} ({_reason(err)}); the notebook will be executed",
            stacklevel=2,
        )
        return False
    folder = Path(cache.path) / "executed" / record.hashkey
    try:
        stored = nbformat.reads((folder / "base.ipynb").read_text(encoding="utf-8"), nbformat.NO_CONVERT)
        merged = _merge(nb, stored)
        text = nbformat.writes(mark(merged) if mark else merged).rstrip("\n") + "\n"  # as nbformat.write
        artifacts = _stored_artifacts(folder / "artifacts", record.data)
    except Exception as err:  # noqa: BLE001 - a missing, unreadable or wrong stored notebook or artifact
        _warn_damaged(str(folder), err)
        _drop(cache, record.pk, folder)
        return False
    with contextlib.suppress(Exception):  # when it was last used (the cache's size limit); read-only: fine
        NbCacheRecord.touch(record.pk, cache.db)
    for rel, data in artifacts:
        with atomic_file(results_dir / rel, "wb") as f:
            f.write(data)
    with atomic_file(output) as f:
        f.write(text)
    return True


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


def store(cache: Any, executed: Path, uri: str, results_file: Path, data_dir: Path | None = None) -> None:
    """Store the executed notebook ``executed`` (and the claims in ``results_file`` and the figure data
    in ``data_dir``, a folder beside it, if any).

    A failure to store (a full disk, a read-only cache) is a warning saying what happened: the run itself
    succeeded, and the next run executes the notebook again.
    """
    import nbformat
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.cache.main import NbArtifacts

    try:
        nb = nbformat.read(executed, as_version=4)
        paths = [str(results_file)] if results_file.is_file() else []
        if data_dir is not None and data_dir.is_dir():
            paths += [str(p) for p in sorted(data_dir.rglob("*")) if p.is_file()]
        artifacts = NbArtifacts(paths, in_folder=results_file.parent)
        data = {"artifacts": [p.as_posix() for p in artifacts.relative_paths]}  # checked by restore
        bundle = CacheBundleIn(nb, uri, artifacts=artifacts, data=data)
        cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
    except Exception as err:  # noqa: BLE001
        warnings.warn(
            f"could not store {uri} in the notebook cache {cache.path}: {_store_problem(err)}; the run "
            "succeeded, but the next run executes it again",
            stacklevel=2,
        )
