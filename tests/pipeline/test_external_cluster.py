"""A result does not depend on where it ran: Fig. 4's smoke sweep on a Dask cluster started the way a cluster
user starts one — ``dask scheduler`` and two ``dask worker --nthreads 1`` processes, thread settings left to
Dask (its nannies set ``OMP_NUM_THREADS=1``) — gives the in-process table bit for bit, also with a worker
killed mid-sweep. The torch thread count travels in each cell's schedule (p.schedule, made in the kernel)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from knnoise.book import parameters
from knnoise.experiments import fig4_dnn
from knnoise.pipeline import engine
from knnoise.pipeline.sweep import sweep_dir

pytestmark = pytest.mark.slow

# fig4_dnn under the smoke profile (notebooks/params/smoke.yml), two repeats, on fewer images
PARAMS = parameters(
    "fig4_dnn", **{
    "dataset": "digits", "data_path": None, "train_subset": 600, "test_subset": 200, "seed": 0,
    "device": "cpu", "n_jobs": 1, "repeats": 2,
    "model": "mnist", "epochs": 1, "lr": 0.01, "lr_halving_every": None,
    "uniform_gammas": [0.0, 0.5], "flip_gammas": [0.45], "general_gammas": [0.5],
    "concentrated_gammas": [0.25],
})  # fmt: skip
STARTUP_TIMEOUT = 60.0


def _dask_command() -> list[str]:
    found = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if found is None:
        pytest.skip("the dask command line is not installed")
    return [found]


def _wait_for(condition, what: str, procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not condition():
        dead = [p for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start (exited: {[p.args for p in dead]})")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def external(tmp_path_factory):
    """``(address, cache root)`` of a scheduler and two single-thread workers run as separate processes;
    they and this process share the cache root (``KNNOISE_CACHE``), as on a cluster's shared disk."""
    from distributed import Client

    def torch_threads() -> int:  # a closure: sent by value, as the workers cannot import this module
        import torch

        return torch.get_num_threads()

    root = tmp_path_factory.mktemp("external")
    cache, scheduler_file = root / "cache", root / "scheduler.json"
    env = {**os.environ, "KNNOISE_CACHE": str(cache)}
    env.pop("OMP_NUM_THREADS", None)  # as a user's shell: Dask's nanny decides
    dask = _dask_command()
    common = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([*dask, "scheduler", "--port", "0", "--dashboard-address", ":0",
                               "--scheduler-file", str(scheduler_file)], **common)]  # fmt: skip
    try:
        _wait_for(scheduler_file.exists, "dask scheduler", procs)
        worker = [*dask, "worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1"]
        procs += [subprocess.Popen([*worker, "--dashboard-address", ":0"], **common) for _ in range(2)]
        with Client(scheduler_file=str(scheduler_file), timeout=STARTUP_TIMEOUT) as client:
            _wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, "two dask workers", procs)
            address = client.scheduler.address
            assert set(client.run(torch_threads).values()) == {1}  # Dask's nanny: OMP_NUM_THREADS=1
        yield address, cache
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def in_process(tmp_path_factory) -> pd.DataFrame:
    """The sweep in this process, in a cache of its own."""
    mp = pytest.MonkeyPatch()
    mp.setenv("KNNOISE_CACHE", str(tmp_path_factory.mktemp("in-process")))
    try:
        return fig4_dnn.train_networks(PARAMS)
    finally:
        mp.undo()


@pytest.fixture
def cluster_cache(external, monkeypatch):
    """This process on the cluster's (emptied) cache root: every network is trained on the workers."""
    address, cache = external
    for folder in ("joblib", "sweeps"):
        shutil.rmtree(cache / folder, ignore_errors=True)
    monkeypatch.setenv("KNNOISE_CACHE", str(cache))
    return address


def test_external_workers_give_the_in_process_table_bit_for_bit(cluster_cache, in_process):
    with engine.executor(cluster_cache) as ex:
        on_cluster = fig4_dnn.train_networks(PARAMS, executor=ex)
    assert len(on_cluster) == 2 * 5  # 5 levels x 2 repeats
    pd.testing.assert_frame_equal(on_cluster, in_process, check_exact=True)


def _kill_a_worker_once_a_cell_is_done(client, folder: Path, done: threading.Event, killed: list) -> None:
    while not done.is_set() and not any(folder.glob("*.json")):
        time.sleep(0.05)
    if done.is_set():
        return
    pid = next(iter(client.run(os.getpid).values()))  # the worker process (its nanny starts a new one)
    os.kill(pid, signal.SIGKILL)
    killed.append(pid)


def test_a_worker_killed_mid_sweep_changes_no_number(cluster_cache, in_process):
    with engine.executor(cluster_cache) as ex:
        done, killed = threading.Event(), []
        killer = threading.Thread(
            target=_kill_a_worker_once_a_cell_is_done, args=(ex._client, sweep_dir("fig4_dnn"), done, killed)
        )
        killer.start()
        try:
            on_cluster = fig4_dnn.train_networks(PARAMS, executor=ex)
        finally:
            done.set()
            killer.join()
    assert killed, "no worker was killed"
    pd.testing.assert_frame_equal(on_cluster, in_process, check_exact=True)
