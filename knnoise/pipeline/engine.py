"""Where a sweep's cells run: in this process, on a Dask ``LocalCluster``, or on an existing Dask cluster.

A ``scheduler`` value names the engine (the book runner's ``--workers`` / ``--scheduler``, handed to
each notebook as its ``scheduler`` parameter):

- ``None``: in this process (:func:`~knnoise.pipeline.sweep.run_sweep` without an executor);
- an int ``N`` or ``"local:N"``: a ``distributed.LocalCluster`` of ``N`` worker processes, one thread
  each, started here and closed at the end;
- ``"tcp://HOST:PORT"`` (or ``tls://``, ``ucx://``...): a running Dask scheduler (a ``LocalCluster`` the
  runner started, ``dask-cuda``'s ``LocalCUDACluster``, ``dask-jobqueue`` workers on SLURM/PBS).

:func:`executor` yields a :class:`concurrent.futures.Executor` (``Client.get_executor()``), which
``run_sweep`` takes as is: the client writes each finished cell atomically as it arrives, and Dask
reschedules the cells of a worker that dies. Before any cell is sent, every worker is checked to see
the client's cache root (``$KNNOISE_CACHE``) and to read and write it.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from knnoise._io import cache_dir

__all__ = [
    "CONNECT_TIMEOUT",
    "EngineError",
    "check_cache",
    "connect",
    "executor",
    "local_cluster",
    "parse",
    "serve",
    "worker_count",
]

CONNECT_TIMEOUT = 5.0  # seconds to reach a scheduler before giving up
_LOCAL = re.compile(r"local:([0-9]{1,9})")
# PROTOCOL://HOST:PORT, HOST a name, an IPv4 address or a bracketed IPv6 one (as Dask writes them)
_ADDRESS = re.compile(r"[a-z][a-z0-9+.-]*://(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})")


class EngineError(RuntimeError):
    """The Dask scheduler cannot be reached, or a worker cannot use the cache root."""


def parse(scheduler: int | str | None) -> int | str | None:
    """``None``, a worker count (from ``N`` or ``"local:N"``) or a scheduler address.

    An address needs its host and port (1..65535): ``"tcp://HOST:PORT"``, ``"tls://..."``, IPv6 as
    ``"tcp://[::1]:8786"``.

    Raises
    ------
    ValueError
        ``"scheduler must be None, a worker count N >= 1, 'local:N' or 'tcp://HOST:PORT' (PORT 1..65535),
        got ..."``.
    """
    if scheduler is None:
        return None
    if isinstance(scheduler, int) and not isinstance(scheduler, bool) and scheduler >= 1:
        return scheduler
    if isinstance(scheduler, str):
        local = _LOCAL.fullmatch(scheduler.strip())
        if local and int(local.group(1)) >= 1:
            return int(local.group(1))
        address = _ADDRESS.fullmatch(scheduler.strip())
        if address and 1 <= int(address.group("port")) <= 65535:
            return scheduler.strip()
    raise ValueError(
        "scheduler must be None, a worker count N >= 1, 'local:N' or 'tcp://HOST:PORT' (PORT 1..65535), "
        f"got {scheduler!r}"
    )


def local_cluster(n_workers: int, **kwargs):
    """A ``distributed.LocalCluster`` of ``n_workers`` processes with one thread each (the dashboard, with
    bokeh, on a free port).

    Thread settings are Dask's (its nannies set ``OMP_NUM_THREADS=1``): a cell does not depend on them,
    since the torch thread count a network trains with travels in the cell's schedule (``p.schedule``, a
    :class:`~knnoise.dnn.TrainOptions` made in the kernel: :func:`knnoise.pipeline.networks.cell_options`)
    and is set inside the training call.
    """
    from distributed import LocalCluster

    options = {"threads_per_worker": 1, "processes": True, "dashboard_address": ":0", **kwargs}
    return LocalCluster(n_workers=n_workers, **options)


def connect(address: str, timeout: float = CONNECT_TIMEOUT):
    """A ``distributed.Client`` of the scheduler at ``address``; :class:`EngineError` naming it if none
    answers within ``timeout`` seconds."""
    from distributed import Client

    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError) as err:
        raise EngineError(
            f"no Dask scheduler answered at {address} within {timeout:g} s ({type(err).__name__}: {err}); "
            "start one (dask scheduler / LocalCluster / dask-jobqueue) or use --workers N for a local one"
        ) from None


def _probe_cache(path: str) -> str | None:
    """On a worker: None if ``path`` is readable/writable and this worker's cache root, else why not."""
    probe = Path(path) / f".worker-probe-{uuid.uuid4().hex}"
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        probe.write_text("ok", encoding="utf-8")
        ok = probe.read_text(encoding="utf-8") == "ok"
        probe.unlink()
    except OSError as err:
        return f"it cannot write and read {path}: {err}"
    if not ok:
        return f"it read back something else than it wrote in {path}"
    mine = str(cache_dir())
    if mine != path:
        return f"its cache root is {mine} (set KNNOISE_CACHE={path} on the workers, a path they all see)"
    return None


def check_cache(client, path: str | os.PathLike[str] | None = None) -> None:
    """Check on every worker of ``client`` that the cache root ``path`` (default: this process's
    ``$KNNOISE_CACHE``) is theirs and readable/writable; :class:`EngineError` naming it otherwise."""
    path = str(cache_dir() if path is None else Path(path))
    problems = {w: why for w, why in client.run(_probe_cache, path).items() if why is not None}
    if problems:
        worker, why = next(iter(problems.items()))
        raise EngineError(
            f"the cache root {path} is not usable by {len(problems)} Dask worker(s); worker {worker}: {why}"
        )


@contextmanager
def _checked_client(target: int | str, timeout: float) -> Iterator[tuple[Any, str]]:
    """A client of a new ``LocalCluster`` of ``target`` workers, or of the scheduler at address ``target``,
    with that scheduler's address; every worker checked to use the cache root. Closed on leaving."""
    from distributed import Client

    with ExitStack() as stack:
        if isinstance(target, int):
            cluster = stack.enter_context(local_cluster(target))
            client, address = stack.enter_context(Client(cluster)), cluster.scheduler_address
        else:
            client, address = stack.enter_context(connect(target, timeout)), target
        check_cache(client)
        yield client, address


@contextmanager
def executor(
    scheduler: int | str | None = None, *, timeout: float = CONNECT_TIMEOUT
) -> Iterator[Executor | None]:
    """The executor a sweep's cells go to: ``None`` (in this process) or a Dask client's executor.

    Parameters
    ----------
    scheduler : None, int or str
        See the module docstring (:func:`parse`).
    timeout : float
        Seconds to reach a scheduler address.

    Yields
    ------
    concurrent.futures.Executor or None
        Pass it to ``run_sweep(..., executor=...)``; the cluster (if started here) and the client are
        closed on leaving the block.
    """
    target = parse(scheduler)
    if target is None:
        yield None
        return
    with _checked_client(target, timeout) as (client, _):
        yield client.get_executor()


@contextmanager
def serve(scheduler: int | str | None = None, *, timeout: float = CONNECT_TIMEOUT) -> Iterator[str | None]:
    """For the book runner: the scheduler address the notebooks connect to, checked before they start.

    ``None`` yields None (the notebooks run their sweeps in their kernels); a worker count starts a
    ``LocalCluster`` for the whole run (closed on leaving the block); an address is connected to once,
    so that an unreachable one fails here within ``timeout`` seconds. Either way every worker is checked
    to use this process's cache root (:func:`check_cache`).
    """
    target = parse(scheduler)
    if target is None:
        yield None
        return
    with _checked_client(target, timeout) as (_, address):
        yield address


def worker_count(executor: Executor | None) -> int:
    """How many cells ``executor`` (from :func:`executor`) runs at once: its cluster's workers (at least
    1); 1 for None (this process)."""
    if executor is None:
        return 1
    from distributed import default_client

    try:
        client = default_client()  # the client executor() made (the default one)
    except ValueError:  # not a Dask executor
        return 1
    return max(1, len(client.scheduler_info()["workers"]))
