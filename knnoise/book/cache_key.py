"""What a notebook's run is keyed by in the execution cache (:mod:`knnoise.book.cache`).

:func:`key_notebook` is the notebook as papermill runs it (the injected parameters cell included, folded as
the runner folds it: :func:`fold_injected`); :func:`without_engine` leaves out where sweeps run;
:func:`code_hash` hashes the ``knnoise`` package and :func:`input_hashes` the files that parameters name,
both kept in the notebook's ``knnoise`` metadata, which is part of the key.
"""

from __future__ import annotations

import copy
import hashlib
import os
from pathlib import Path
from typing import Any

__all__ = [
    "ENGINE_PARAMETERS",
    "code_hash",
    "fold_injected",
    "input_hashes",
    "key_notebook",
    "without_engine",
]

_PACKAGE = Path(__file__).resolve().parents[1]
ENGINE_PARAMETERS = ("scheduler",)  # where sweeps run, not what they compute: not in the key


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

    A sweep gives the same numbers in the kernel and on a Dask cluster (tests/pipeline/test_engine.py),
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
