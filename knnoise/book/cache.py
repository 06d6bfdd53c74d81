"""The notebooks' execution cache: jupyter-cache under ``$KNNOISE_CACHE/jupyter-cache``.

A notebook's run is keyed by the notebook *as papermill runs it*: its code cells (the injected parameters
cell included, so every merged parameter is in the key) and their tags, its kernelspec, and its ``knnoise``
metadata: profile, parameters (but not where sweeps run: :func:`without_engine`), :func:`code_hash` (a hash
of the ``knnoise`` package's files, so an edit to the package re-executes every chapter) and
:func:`input_hashes` (of the files and folders that parameters name, such as Fig. 4's committed
``results/paper``). Markdown cells are not in the key: a prose edit is merged into the cached outputs
without re-executing. Each entry stores the executed notebook and, as a jupyter-cache artifact, the claims
the chapter recorded (``book/executed/results/<name>.json``), restored with it.

A damaged entry (an unreadable stored notebook, a broken database) is reported once as a warning,
dropped, and the notebook is executed again.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
import warnings
from pathlib import Path
from typing import Any

from knnoise._io import atomic_file, cache_dir

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
    """The jupyter-cache at ``path`` (default ``$KNNOISE_CACHE/jupyter-cache``), created when missing."""
    path = Path(path) if path is not None else cache_dir() / CACHE_SUBDIR
    path.mkdir(parents=True, exist_ok=True)
    return _cache_class()(str(path))


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


def _warn_damaged(what: str, err: BaseException) -> None:
    warnings.warn(
        f"dropping the damaged notebook cache entry {what} ({type(err).__name__}: {err}); "
        "the notebook will be executed again",
        stacklevel=3,
    )


def restore(cache: Any, nb: Any, output: Path, results_dir: Path) -> bool:
    """Write the cached run of ``nb`` (a :func:`key_notebook`) to ``output`` and restore its claims.

    Returns False on a miss, or when the entry is damaged (then reported, dropped and left to re-execute).
    """
    import nbformat

    try:
        record = cache.match_cache_notebook(nb)
    except KeyError:
        return False
    except Exception as err:  # noqa: BLE001 - an unreadable database is a miss, reported
        _warn_damaged(str(cache.path), err)
        return False
    try:
        _, merged = cache.merge_match_into_notebook(nb, nb_meta=None, cell_meta=None)
        artifacts = [(rel, handle.read()) for rel, handle in cache.get_cache_bundle(record.pk).artifacts]
        text = nbformat.writes(merged).rstrip("\n") + "\n"  # as nbformat.write
    except Exception as err:  # noqa: BLE001 - a missing or unreadable stored notebook
        _warn_damaged(f"{cache.path}/executed/{record.hashkey}", err)
        try:
            cache.remove_cache(record.pk)
        except Exception:  # noqa: BLE001 - already half gone: the record goes with the next store
            pass
        return False
    for rel, data in artifacts:
        with atomic_file(results_dir / rel, "wb") as f:
            f.write(data)
    with atomic_file(output) as f:
        f.write(text)
    return True


def store(cache: Any, executed: Path, uri: str, results_file: Path) -> None:
    """Store the executed notebook ``executed`` (and the claims in ``results_file``, if any).

    A failure to store (a full disk, a read-only cache) is a warning: the run itself succeeded.
    """
    import nbformat
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.cache.main import NbArtifacts

    try:
        nb = nbformat.read(executed, as_version=4)
        paths = [str(results_file)] if results_file.is_file() else []
        artifacts = NbArtifacts(paths, in_folder=results_file.parent)
        bundle = CacheBundleIn(nb, uri, artifacts=artifacts)
        cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
    except Exception as err:  # noqa: BLE001
        warnings.warn(f"could not store {uri} in the notebook cache {cache.path}: {err}", stacklevel=2)
