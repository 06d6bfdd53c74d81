"""The kernel a notebook runs in: its environment, and a kernel manager that stops it at once on Ctrl-C.

:func:`kernel_environment` sets what the kernel inherits while one notebook runs (the inline backend, a
fixed hash seed, where the chapter's claims and figures' data go). :func:`interruptible` notices Ctrl-C
and :func:`kernel_manager_class` makes jupyter_client's kernel manager stop the kernel at once after it,
and watch the kernel's peak memory (:class:`knnoise.book.runs.PeakMemory`) from its start to its shutdown.
Used by :func:`knnoise.book.execute.execute_notebook`.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from knnoise.book.claims import RESULTS_ENV
from knnoise.book.page import FIGURE_DATA_ENV

__all__ = ["KERNEL_ARGUMENTS", "interruptible", "kernel_environment", "kernel_manager_class"]

# The kernel logs only errors: its "running over TCP without encryption" warning (a local kernel talking
# to its own runner) would otherwise interrupt every notebook's progress bar.
KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=ERROR",)


@contextmanager
def interruptible() -> Iterator[threading.Event]:
    """An event set by Ctrl-C (SIGINT) in the block, before the usual KeyboardInterrupt is raised.

    Only in the main thread, and only over Python's own handler (or another Python callable, still called).
    """
    interrupted = threading.Event()
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield interrupted
        return

    def handler(signum: int, frame: Any) -> None:
        interrupted.set()
        previous(signum, frame)

    signal.signal(signal.SIGINT, handler)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


def kernel_manager_class(interrupted: threading.Event, memory: Any = None) -> type:
    """jupyter_client's kernel manager, except that after ``interrupted`` it stops the kernel at once;
    ``memory`` (a :class:`knnoise.book.runs.PeakMemory`) watches the kernel process from its start to its
    shutdown.

    Its usual graceful shutdown would race the cell still running: the kernel then prints a traceback
    (a reply on a closed socket) under the runner's ``error: interrupted``. The client's tasks still
    waiting for that cell are cancelled first, or they report the killed kernel as a crash.
    """
    import asyncio

    from jupyter_client import AsyncKernelManager

    class _KernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:
            await super().start_kernel(**kw)
            if memory is not None:
                memory.watch(getattr(self.provisioner, "pid", None))

        async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
            if memory is not None:
                memory.stop()
            if interrupted.is_set():
                now = True
                waiting = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in waiting:
                    task.add_done_callback(_retrieved)
                    task.cancel()
                if waiting:
                    await asyncio.wait(waiting, timeout=1.0)
            await super().shutdown_kernel(now=now, restart=restart)

    return _KernelManager


def _retrieved(task: Any) -> None:
    """Mark a finished task's exception as seen (a cancelled cell's client reports the kernel dead)."""
    if not task.cancelled():
        task.exception()


@contextmanager
def kernel_environment(results_dir: Path | None = None, figure_data: Path | None = None) -> Iterator[None]:
    """Environment the kernel inherits while one notebook runs.

    ``MPLBACKEND`` is set to the inline backend: ipykernel picks it only when the variable is unset, and an
    inherited ``MPLBACKEND=Agg`` (common on headless machines) would silently drop every figure from the
    executed notebooks. ``PYTHONHASHSEED`` is fixed (unless set) so that str-keyed set orders are stable.
    ``$KNNOISE_RESULTS`` tells :func:`knnoise.book.claims.record` where the chapter's key results go,
    ``$KNNOISE_FIGURE_DATA`` :func:`knnoise.book.page.glue_figure` where its figures' data go.
    """
    keys = ("MPLBACKEND", "PYTHONHASHSEED", RESULTS_ENV, FIGURE_DATA_ENV)
    saved = {key: os.environ.get(key) for key in keys}
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ.setdefault("PYTHONHASHSEED", "0")
    if results_dir is not None:
        os.environ[RESULTS_ENV] = str(results_dir)
    if figure_data is not None:
        os.environ[FIGURE_DATA_ENV] = str(figure_data)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
