"""Executing one notebook with papermill: the kernel's environment, atomic output, failure reports.

``execute_notebook("fig3_knn", parameters)`` runs ``notebooks/fig3_knn.py`` (read with jupytext, so no
``.ipynb`` twin is needed) and writes ``book/executed/fig3_knn.ipynb`` atomically. A failing cell is reported
by its number in the source, its line and the exception; the partial notebook is kept in
``_build/failed/<name>.ipynb``. Ctrl-C stops the kernel and removes the partial notebook
(``book/executed/.<name>.*.partial.ipynb``); those of a run killed outright are removed by the next run
(:mod:`knnoise.book.partials`: a live one is locked by its run). With ``cache=True`` a successful run
is stored in the execution cache (:mod:`knnoise.book.cache`), and :func:`restore_notebook` writes it back
instead of executing while the notebook's code, parameters and the ``knnoise`` package are unchanged.
The executed notebook keeps how it ran (wall time, the kernel's peak memory, device, versions, commit:
:mod:`knnoise.book.runs`) and no widgets. The chapter's figures' data (``$KNNOISE_FIGURE_DATA``) are written
into a folder of this run's own beside its partial notebook (``book/executed/.<name>.*.partial.data/``), and
only when the run succeeds do they replace ``book/executed/results/<name>/``, just before the notebook
replaces its output: a failed or interrupted run leaves the old notebook *and* the data its download links
name, and two runs of one chapter never write into each other's folder. They are stored and restored with
the notebook, a restore replacing the whole folder the same way.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from knnoise._io import atomic_file
from knnoise.book import cache as _cache
from knnoise.book import publish as _publish
from knnoise.book import runs as _runs
from knnoise.book.errors import BookError, NotebookFailed
from knnoise.book.kernel import KERNEL_ARGUMENTS, interruptible, kernel_environment, kernel_manager_class
from knnoise.book.partials import partial_notebook
from knnoise.book.profiles import (
    EXECUTED_DIR,
    FAILED_DIR,
    KERNEL_NAME,
    RESULTS_DIR,
    SOURCES_DIR,
    find_root,
    read_source,
)

__all__ = ["KERNEL_ARGUMENTS", "execute_notebook", "restore_notebook"]


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return "(empty cell)"


def _source_line(source_file: Path, cell_source: str) -> int | None:
    """Line number of a cell's first non-blank line in its jupytext source (best effort)."""
    first = _first_line(cell_source)
    try:
        for number, line in enumerate(source_file.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip() == first:
                return number
    except OSError:
        pass
    return None


def _describe_failure(name: str, source_file: Path, nb: Any, err: Any, root: Path) -> str:
    index = err.cell_index
    cells = nb.cells if nb is not None else []
    # Number the cell as in the source: papermill's injected-parameters cell is not one of them.
    injected = sum(1 for c in cells[:index] if "injected-parameters" in c.get("metadata", {}).get("tags", []))
    number = index - injected + 1
    line = _source_line(source_file, err.source)
    shown = _display_path(source_file, root)
    where = f"{shown}:{line}" if line else shown
    return (
        f"notebook {name!r} failed in cell {number} (In [{err.exec_count}], {where}): "
        f"{_first_line(err.source)}\n  {err.ename}: {err.evalue}"
    )


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else repr(value)


def execute_notebook(
    name: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
    source: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    profile: str | None = None,
    progress: bool = True,
    cache: bool = False,
) -> Path:
    """Execute one notebook with papermill and write it atomically.

    Parameters
    ----------
    name : str
        Notebook name (``notebooks/<name>.py`` -> ``book/executed/<name>.ipynb`` by default).
    parameters : mapping, optional
        Values papermill injects after the ``parameters`` cell.
    root : path, optional
        Repository root; the kernel's working directory, so relative cache paths are shared.
    source, output : path, optional
        Override the source and output paths.
    profile : str, optional
        Recorded in the executed notebook's metadata.
    progress : bool
        Show papermill's per-cell progress bar.
    cache : bool
        Store the executed notebook, its recorded claims and its figures' data in the execution cache
        (``$KNNOISE_CACHE/jupyter-cache``), for :func:`restore_notebook`.

    Returns
    -------
    Path
        The executed notebook.

    Raises
    ------
    NotebookFailed
        A cell raised, or the kernel died; the partial notebook is kept in ``_build/failed/<name>.ipynb``,
        ``output`` and the chapter's figures' data are left as they were.
    KeyboardInterrupt
        Ctrl-C: the kernel is stopped, the partial notebook and data removed, ``output`` and the chapter's
        figures' data left as they were.
    """
    root = find_root(root)
    source = Path(source) if source is not None else root / SOURCES_DIR / f"{name}.py"
    output = Path(output) if output is not None else root / EXECUTED_DIR / f"{name}.ipynb"
    if not source.is_file():
        raise BookError(f"notebook {name!r}: source {source} does not exist")
    nb = _prepared(source, root, parameters, profile)
    output.parent.mkdir(parents=True, exist_ok=True)
    _publish.remove_stale_data(output.parent)
    # The book never sees a half-written notebook or half-written data: both are written beside their
    # outputs, then renamed onto them.
    with partial_notebook(output, name) as tmp, _publish.partial_data(tmp) as data:
        memory = _runs.PeakMemory()
        start = time.perf_counter()
        _papermill(nb, tmp, dict(parameters or {}), name=name, source=source, root=root, progress=progress,
                   memory=memory, figure_data=data)  # fmt: skip
        wall = time.perf_counter() - start
        peak = memory.peak_bytes
        run = _runs.run_record(profile, parameters or {}, wall_s=wall, peak_bytes=peak, root=root)
        _finalise(tmp, _display_path(source, root), _display_path(output, root), run=run)
        if cache:
            files = _artifact_files(root, name, data)
            _cache.store(_cache.open_cache(), tmp, _display_path(source, root), files)
        _publish.publish(tmp, data, output, root / RESULTS_DIR / name)
        (root / FAILED_DIR / f"{name}.ipynb").unlink(missing_ok=True)  # a fixed notebook's old failure
        return output


def restore_notebook(
    name: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
    profile: str | None = None,
) -> Path | None:
    """Write the cached run of ``notebooks/<name>.py`` to ``book/executed/<name>.ipynb``, if there is one.

    The cached run matches when the notebook's code cells, ``parameters``, ``profile`` and the ``knnoise``
    package's source are those of a run stored by :func:`execute_notebook` with ``cache=True``; its
    recorded claims (``book/executed/results/<name>.json``) are restored too, and its figures' data
    replace ``book/executed/results/<name>/`` whole (a file an earlier run wrote there does not survive).
    Markdown cells come from the current source. The run record is marked restored
    (:func:`knnoise.book.runs.mark_restored`).

    Returns
    -------
    Path or None
        The restored notebook; None when the notebook must be executed.
    """
    root = find_root(root)
    source = root / SOURCES_DIR / f"{name}.py"
    if not source.is_file():
        raise BookError(f"notebook {name!r}: source {source} does not exist")
    prepared = _prepared(source, root, parameters, profile)
    nb = _cache.key_notebook(prepared, dict(parameters or {}), KERNEL_NAME)
    found = _cache.load(_cache.open_cache(), nb, mark=lambda merged: _runs.mark_restored(merged, root))
    if found is None:
        return None
    text, artifacts = found
    output = root / EXECUTED_DIR / f"{name}.ipynb"
    output.parent.mkdir(parents=True, exist_ok=True)
    _publish.remove_stale_data(output.parent)
    with partial_notebook(output, name) as tmp, _publish.partial_data(tmp) as data:
        with tmp.open("w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        _readable(tmp)
        for rel, content in artifacts:
            inside, _, rest = rel.partition("/")  # <name>/<figure>.csv: the figures' data
            target = data / rest if inside == name and rest else root / RESULTS_DIR / rel
            with atomic_file(target, "wb") as f:
                f.write(content)
        _publish.publish(tmp, data, output, root / RESULTS_DIR / name)
    (root / FAILED_DIR / f"{name}.ipynb").unlink(missing_ok=True)
    return output


def _artifact_files(root: Path, name: str, data: Path) -> dict[str, Path]:
    """What the cache stores beside a run, by path relative to ``book/executed/results``: the chapter's
    claims (``<name>.json``) and its figures' data (``<name>/*``, from this run's folder ``data``)."""
    claims = root / RESULTS_DIR / f"{name}.json"
    files = {claims.name: claims} if claims.is_file() else {}
    found = sorted(p for p in data.rglob("*") if p.is_file()) if data.is_dir() else []
    return files | {f"{name}/{p.relative_to(data).as_posix()}": p for p in found}


def _prepared(source: Path, root: Path, parameters: Mapping[str, Any] | None, profile: str | None) -> Any:
    """The source as a notebook; its metadata records the profile, the parameters, and hashes of knnoise's
    code and of the files the parameters name (:mod:`knnoise.book.cache`)."""
    nb = read_source(source)
    nb.metadata["knnoise"] = {
        "profile": profile,
        "source": _display_path(source, root),
        "parameters": {k: _jsonable(v) for k, v in (parameters or {}).items()},
        "code": _cache.code_hash(),
        "inputs": _cache.input_hashes(dict(parameters or {}), root),
    }
    return nb


def _papermill(
    nb: Any,
    tmp: Path,
    parameters: dict[str, Any],
    *,
    name: str,
    source: Path,
    root: Path,
    progress: bool,
    memory: _runs.PeakMemory | None = None,
    figure_data: Path | None = None,
) -> None:
    """Run papermill into ``tmp``, the figures' data into ``figure_data``; on failure keep the partial
    notebook and raise :class:`NotebookFailed`.

    Ctrl-C raises KeyboardInterrupt after stopping the kernel at once.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        with kernel_environment(root / RESULTS_DIR, figure_data), interruptible() as interrupted:
            papermill.execute_notebook(
                nb,
                str(tmp),
                parameters=parameters,
                kernel_name=KERNEL_NAME,
                progress_bar=progress,
                cwd=str(root),
                extra_arguments=list(KERNEL_ARGUMENTS),
                kernel_manager_class=kernel_manager_class(interrupted, memory),
            )
    except PapermillExecutionError as err:
        failed = _keep_failed(tmp, root, name, source)
        message = _describe_failure(name, source, _read_partial(failed), err, root)
        raise NotebookFailed(_with_failed_hint(message, failed, root), name, failed) from err
    except Exception as err:  # kernel died, timeout, ...
        failed = _keep_failed(tmp, root, name, source)
        message = f"notebook {name!r} failed: {type(err).__name__}: {err}"
        raise NotebookFailed(_with_failed_hint(message, failed, root), name, failed) from err


def _display_path(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def _finalise(tmp: Path, source: str, output: str, *, run: dict[str, Any] | None = None) -> None:
    """Record real paths in papermill's metadata (not the in-memory input and the temporary output), fold
    papermill's injected-parameters cell like the parameters cell it overrides, drop widgets, and keep
    the ``run`` record (:mod:`knnoise.book.runs`)."""
    import nbformat

    nb = nbformat.read(tmp, as_version=4)
    meta = nb.metadata.get("papermill", {})
    meta["input_path"], meta["output_path"] = source, output
    _cache.fold_injected(nb)
    _runs.without_widgets(nb)
    if run is not None:
        nb.metadata[_runs.RUN_KEY] = run
    nbformat.write(nb, tmp)
    _readable(tmp)


def _readable(path: Path) -> None:
    """Give ``path`` the usual permissions (``0o666`` less the umask): mkstemp made it 0600."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _keep_failed(tmp: Path, root: Path, name: str, source: Path) -> Path | None:
    if not tmp.is_file() or tmp.stat().st_size == 0:
        return None
    failed = root / FAILED_DIR / f"{name}.ipynb"
    failed.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(tmp), failed)
    try:
        _finalise(failed, _display_path(source, root), _display_path(failed, root))
    except Exception:  # a notebook the kernel left unreadable is still worth keeping as it is
        pass
    return failed


def _read_partial(path: Path | None) -> Any | None:
    if path is None:
        return None
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except Exception:  # the message is still useful without cell numbering
        return None


def _with_failed_hint(message: str, failed: Path | None, root: Path) -> str:
    if failed is None:
        return message
    rel = failed.relative_to(root) if failed.is_relative_to(root) else failed
    return f"{message}\n  the partial notebook is in {rel}"
