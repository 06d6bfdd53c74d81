"""How each chapter ran: the run record the runner keeps in every executed notebook, and the book's table.

:func:`knnoise.book.execute.execute_notebook` measures a chapter's run and stores it in the executed
notebook's metadata (``metadata.knnoise_run``, outside the execution cache's key): the profile, the wall
time of the kernel (start to shutdown), its peak memory (:class:`PeakMemory`), the device, the torch /
numpy / knnoise versions (as installed for the runner's Python, which is also the kernel's: jupyter_client
starts the ``python3`` kernel with the runner's own interpreter), the commit and when it finished. A chapter
restored from the execution cache keeps the record of the run that produced it, marked ``restored`` with
when and into which checkout's commit it was restored (:func:`mark_restored`). After every run
:func:`write_table` rebuilds ``book/executed/execution.csv`` (and ``.json``) from the executed notebooks
of the toc, so a chapter not run this time keeps its last row; ``book/execution.md`` shows it.
:func:`without_widgets` keeps the progress bars' widgets out of the executed notebooks.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import os
import platform
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from knnoise._io import write_json, write_text
from knnoise.book.profiles import EXECUTED_DIR, find_root

__all__ = [
    "COLUMNS",
    "RUN_KEY",
    "TABLE_CSV",
    "TABLE_JSON",
    "WIDGET_VIEW",
    "PeakMemory",
    "mark_restored",
    "run_record",
    "table_rows",
    "without_widgets",
    "write_table",
]

RUN_KEY = "knnoise_run"  # notebook metadata; not in the execution cache's key (cache._NB_METADATA)
TABLE_CSV = EXECUTED_DIR / "execution.csv"
TABLE_JSON = EXECUTED_DIR / "execution.json"
# record key -> the table's column header (book/execution.md shows the CSV as it is)
COLUMNS = {
    "chapter": "chapter",
    "profile": "profile",
    "status": "run",
    "wall_s": "wall time (s)",
    "peak_mib": "peak memory (MiB)",
    "device": "device",
    "torch": "torch",
    "numpy": "numpy",
    "knnoise": "knnoise",
    "commit": "commit",
    "finished": "finished (UTC)",
    "restored_at": "restored (UTC)",
    "restored_commit": "restored at commit",
}


class PeakMemory:
    """Peak memory of a kernel: its process and all its children, sampled by a thread.

    Every ``interval`` seconds the proportional set sizes (PSS: each shared page divided among the
    processes sharing it, so a forked worker's pages shared with the kernel are counted once) of the
    process and its descendants are summed (psutil; the resident set size where PSS cannot be read); on
    :meth:`stop` the kernel's own high-water mark (Linux ``VmHWM``, exact, between samples too) is taken as
    well. The peak is the largest of these: a tree's peak shorter than ``interval`` may be missed in its
    children, never in the kernel process itself (on Linux).
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_bytes = 0
        self._pid: int | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, pid: int | None) -> None:
        """Start sampling the process ``pid`` (None: nothing to watch)."""
        if pid is None or self._thread is not None:
            return
        self._pid = pid
        self._thread = threading.Thread(target=self._run, name="knnoise-peak-memory", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Take a last sample and the kernel's high-water mark, and stop sampling (the kernel still runs)."""
        if self._thread is None or self._done.is_set():
            return
        self._done.set()
        self._thread.join()
        self._sample()
        self.peak_bytes = max(self.peak_bytes, _high_water(self._pid))

    def _run(self) -> None:
        while not self._done.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        try:
            import psutil
        except ImportError:  # the high-water mark alone
            return
        try:
            kernel = psutil.Process(self._pid)
            processes = [kernel, *kernel.children(recursive=True)]
        except psutil.Error:  # gone already
            return
        self.peak_bytes = max(self.peak_bytes, sum(map(_proportional, processes)))


def _proportional(process: Any) -> int:
    """The process's proportional set size (PSS) in bytes; its RSS where PSS is not available; 0 if gone."""
    import psutil

    try:
        return int(getattr(process.memory_full_info(), "pss", None) or process.memory_info().rss)
    except psutil.AccessDenied:
        try:
            return int(process.memory_info().rss)
        except psutil.Error:
            return 0
    except psutil.Error:  # gone meanwhile
        return 0


def _high_water(pid: int | None) -> int:
    """The process's peak RSS in bytes (``VmHWM`` in ``/proc/<pid>/status``); 0 where not available."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


@functools.cache
def _commit(root: Path) -> str:
    """``git describe --always --dirty`` of ``root`` (a ``-dirty`` suffix for uncommitted changes);
    ``unknown`` outside a git checkout or without git."""
    command = ["git", "-C", str(root), "describe", "--always", "--dirty", "--abbrev=12"]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


@functools.cache
def _cuda_name() -> str | None:
    """The first CUDA device's name as a kernel sees it, or None: asked in a child process, so that the
    runner itself holds no CUDA context while the notebooks run."""
    code = "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    name = out.stdout.strip().splitlines()[-1:] if out.returncode == 0 else []
    return name[0] if name and name[0] else None


def _device(parameters: Mapping[str, Any]) -> str:
    """Where a chapter's networks ran: its ``device`` parameter resolved as :func:`knnoise.dnn.pick_device`
    does (``auto``: CUDA when present); a chapter without one computes on the CPU."""
    cpu = f"cpu ({platform.machine() or 'unknown'}, {os.cpu_count()} cores)"
    device = str(parameters.get("device", "cpu"))
    if device == "cpu":
        return cpu
    name = _cuda_name()
    if name is None:
        return cpu if device == "auto" else device
    return f"{device if device != 'auto' else 'cuda'} ({name})"


def run_record(
    profile: str | None, parameters: Mapping[str, Any], *, wall_s: float, peak_bytes: int, root: Path
) -> dict[str, Any]:
    """The record of a chapter's run that has just finished (status ``executed``).

    The versions are those installed for this Python, which jupyter_client also starts the ``python3``
    kernel with (its spec's ``python`` is replaced by ``sys.executable``): the kernel's environment.
    """
    return {
        "profile": profile,
        "status": "executed",
        "wall_s": round(wall_s, 1),
        "peak_mib": round(peak_bytes / 2**20) if peak_bytes else None,
        "device": _device(parameters),
        "torch": _version("torch"),
        "numpy": _version("numpy"),
        "knnoise": _version("knnoise"),
        "commit": _commit(Path(root).resolve()),
        "finished": _now(),
    }


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


def mark_restored(nb: Any, root: str | os.PathLike[str]) -> Any:
    """Mark the run record of a notebook restored from the execution cache into the checkout ``root``.

    The numbers (and the commit) of the run that produced it are kept; ``restored_at`` and
    ``restored_commit`` say when and into which commit of ``root`` it was restored: the cache is shared
    by checkouts, so the run's commit may be another checkout's.
    """
    run = nb.metadata.get(RUN_KEY)
    if isinstance(run, dict):
        run.update(status="restored", restored_at=_now(), restored_commit=_commit(Path(root).resolve()))
    return nb


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def without_widgets(nb: Any) -> Any:
    """Drop ``nb``'s widget views (the outputs that hold one) and saved widget state, in place.

    ``tqdm.auto`` draws an ipywidgets bar in a kernel; its output (a widget view, with a text snapshot of
    the bar as it first was) and the widget state nbclient saves would make the book load require.js and
    ``@jupyter-widgets/html-manager`` from CDNs to draw a progress bar nobody needs on a static page. The
    kernel keeps ``tqdm.auto``: a reader running a notebook in Jupyter still sees live bars.
    """
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if WIDGET_VIEW not in o.get("data", {})]
    nb.metadata.pop("widgets", None)
    return nb


def _read_record(path: Path) -> dict[str, Any] | None:
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - an unreadable notebook: the build reports it
        return None
    run = nb.metadata.get(RUN_KEY)
    return dict(run) if isinstance(run, dict) else {"status": "not recorded"}


def table_rows(root: str | os.PathLike[str] | None, chapters: Sequence[str]) -> list[dict[str, Any]]:
    """One row per chapter of ``chapters`` that has an executed notebook, in that order."""
    root = find_root(root)
    rows = []
    for chapter in chapters:
        path = root / EXECUTED_DIR / f"{chapter}.ipynb"
        run = _read_record(path) if path.is_file() else None
        if run is not None:
            rows.append({key: run.get(key) for key in COLUMNS} | {"chapter": chapter})
    return rows


def write_table(root: str | os.PathLike[str] | None, chapters: Sequence[str]) -> Path:
    """Write ``book/executed/execution.csv`` (headers as shown in the book) and ``execution.json``
    atomically, from the run records of the executed notebooks of ``chapters``; returns the CSV."""
    root = find_root(root)
    rows = table_rows(root, chapters)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS.values())
    for row in rows:
        writer.writerow("" if row[key] is None else row[key] for key in COLUMNS)
    write_json(root / TABLE_JSON, rows, indent=1)
    return write_text(root / TABLE_CSV, text.getvalue())
