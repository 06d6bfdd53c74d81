"""knnoise.pipeline.engine: sweeps on a real Dask LocalCluster (2 worker processes), a worker killed
mid-sweep, a sweep interrupted then resumed, an unreachable scheduler, a cache root workers cannot use."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from knnoise.book import parameters
from knnoise.dnn.cached import is_cached
from knnoise.experiments import concentration_knob
from knnoise.pipeline import engine
from knnoise.pipeline.data_spec import load_dataset
from knnoise.pipeline.networks import cell_options, dnn_cell, noisy_labels, send_networks
from knnoise.pipeline.sweep import Cell, grid, run_sweep, sweep_dir

REPO = Path(__file__).resolve().parents[2]
CELLS = grid({"uniform": [0.0, 0.25, 0.5], "flip": [0.1, 0.3]}, repeats=2)  # 10 cells


def smoke_cell(cell, *, scale: float, log: str | None = None, pause: float = 0.0, fail: str | None = None):
    """A cheap cell: two rows from the cell's values; appends the cell to ``log`` (one line per call)."""
    time.sleep(pause)
    if log is not None:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{cell.noise} {cell.gamma} {cell.repeat}\n")
    if fail is not None and os.path.exists(fail) and (cell.noise, cell.repeat) == ("flip", 1):
        raise RuntimeError(f"cell {cell} failed on purpose")
    return [{"k": k, "accuracy": scale * (1 - cell.gamma) / k + cell.repeat} for k in (1, 5)]


def _calls(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


@pytest.fixture(scope="module")
def cluster(module_cache):
    """One LocalCluster of 2 worker processes for the module; the tests connect to its address.

    Its workers (spawned with this process's ``sys.path``) import ``smoke_cell`` from this module by
    its pytest name, ``tests.experiments.test_engine``: the repository root goes on ``sys.path`` first.
    """
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(REPO))
    try:
        with engine.serve(2) as address:
            yield address
    finally:
        mp.undo()


def test_parse():
    assert engine.parse(None) is None
    assert engine.parse(3) == 3
    assert engine.parse("local:2") == 2
    assert engine.parse(" tcp://10.0.0.1:8786 ") == "tcp://10.0.0.1:8786"
    for good in ("tcp://[::1]:8786", "tls://sched.example.org:1", "ucx://node-3:65535", "tcp://h_1:08786"):
        assert engine.parse(good) == good
    bad_addresses = (
        "tcp://127.0.0.1",  # no port
        "tcp://127.0.0.1:",
        "tcp://127.0.0.1:abc",
        "tcp://127.0.0.1:0",
        "tcp://127.0.0.1:65536",
        "tcp://127.0.0.1:123456",
        "tcp://127.0.0.1:8786/x",
        "tcp://:8786",  # no host
        "tcp://a b:8786",
        "tcp://::1:8786",  # IPv6 without brackets
        "tcp://127.0.0.1:٣",  # a digit, but not an ASCII one
        "local:٣",
        "local:" + "9" * 5000,  # more digits than int() converts
    )
    for bad in (0, -1, True, "local:0", "foo", "10.0.0.1:8786", 2.0, [1], *bad_addresses):
        with pytest.raises(ValueError, match=r"scheduler must be None, a worker count N >= 1, .*got"):
            engine.parse(bad)


def test_none_runs_in_process(module_cache):
    with engine.executor(None) as ex:
        assert ex is None


def test_local_cluster_gives_the_in_process_table(cluster, tmp_path):
    local = run_sweep(smoke_cell, CELLS, name="engine_local", params={"scale": 2.0}, progress=False)
    with engine.executor(cluster) as ex:
        dask = run_sweep(
            smoke_cell, CELLS, name="engine_dask", params={"scale": 2.0}, executor=ex, progress=False
        )
    pd.testing.assert_frame_equal(dask, local)
    assert len(list(sweep_dir("engine_dask").glob("*.json"))) == len(CELLS)  # written by the client


def test_executor_starts_and_closes_its_own_cluster(module_cache):
    with engine.executor("local:1") as ex:
        assert ex.submit(pow, 2, 5).result() == 32
        client = ex._client
    assert client.status == "closed"


def _kill_one_worker(client, folder: Path, done: threading.Event, killed: list[int]) -> None:
    """Once a cell is written, end one worker's process (SIGKILL) while the others still run."""
    while not done.is_set() and not any(folder.glob("*.json")):
        time.sleep(0.02)
    pids = client.run(os.getpid)  # {worker address: pid}; scheduler_info() lists the same workers
    assert set(pids) <= set(client.scheduler_info()["workers"])
    pid = next(iter(pids.values()))
    os.kill(pid, signal.SIGKILL)
    killed.append(pid)


def test_a_killed_worker_loses_no_cell(cluster, tmp_path):
    log = tmp_path / "calls.txt"
    params = {"scale": 1.0, "log": str(log), "pause": 0.25}
    name = "engine_kill"
    with engine.executor(cluster) as ex:
        done, killed = threading.Event(), []
        killer = threading.Thread(target=_kill_one_worker, args=(ex._client, sweep_dir(name), done, killed))
        killer.start()
        try:
            table = run_sweep(smoke_cell, CELLS, name=name, params=params, executor=ex, progress=False)
        finally:
            done.set()
            killer.join()
    assert killed, "no worker was killed"
    expected = run_sweep(smoke_cell, CELLS, name="engine_kill_local", params=params, progress=False)
    pd.testing.assert_frame_equal(table, expected)  # every cell once, in grid order
    assert len(list(sweep_dir(name).glob("*.json"))) == len(CELLS)


def test_an_interrupted_sweep_resumes_without_recomputing(cluster, tmp_path):
    log, fail = tmp_path / "calls.txt", tmp_path / "fail"
    fail.touch()
    params = {"scale": 1.0, "log": str(log), "fail": str(fail)}
    with engine.executor(cluster) as ex:
        with pytest.raises(RuntimeError, match="failed on purpose"):
            run_sweep(smoke_cell, CELLS, name="engine_resume", params=params, executor=ex, progress=False)
    finished = len(list(sweep_dir("engine_resume").glob("*.json")))
    assert 0 < finished < len(CELLS)
    first = _calls(log)
    fail.unlink()
    with engine.executor(cluster) as ex:
        table = run_sweep(smoke_cell, CELLS, name="engine_resume", params=params, executor=ex, progress=False)
    rerun = _calls(log)[len(first) :]
    assert len(rerun) == len(CELLS) - finished  # the finished cells were read from the cache
    assert len(table) == 2 * len(CELLS)


def test_a_cell_function_the_workers_cannot_import_fails_clearly(cluster, tmp_path, monkeypatch):
    """The workers started before the module existed on this process's path: they cannot unpickle a
    task naming it (a worker would drop its connection and the sweep wait for ever)."""
    (tmp_path / "client_only_cells.py").write_text("def cell(cell):\n    return {'x': cell.gamma}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from client_only_cells import cell as client_only

    start = time.perf_counter()
    with engine.executor(cluster) as ex:
        with pytest.raises(
            RuntimeError, match=r"client_only_cells\.cell cannot be imported on the workers \(ModuleNotFound"
        ):
            run_sweep(client_only, CELLS, name="engine_unimportable", executor=ex, progress=False)
        assert ex.submit(pow, 2, 3).result(timeout=10) == 8  # the workers are still there
    assert time.perf_counter() - start < 10
    assert not sweep_dir("engine_unimportable").exists()


def test_a_chapter_s_networks_train_on_the_workers_as_in_the_kernel(cluster, tmp_path, monkeypatch):
    """send_networks: the clean network first, then the rest on the workers; afterwards the kernel's own
    calls load them (nothing left to train), with the numbers a kernel-only run gives."""
    schedule = {"model": "mnist", "epochs": 1, "lr": 0.003, "lr_halving_every": None}
    params = parameters("concentration", dataset="digits", train_subset=400, test_subset=100, epochs=1,
                        lr=0.003, seed=0, device="cpu", gammas=[0.3], dnn_concentrations=[0.0, 1.0], dnn=True)
    cells = [Cell("flip", 0.3, 0), Cell("concentrated", 0.25, 0)]
    with engine.executor(cluster) as ex:
        rows = send_networks(cells, params, ex)
        knobs = concentration_knob.networks(params, executor=ex)
    ds = load_dataset("digits", train_subset=400, test_subset=100)
    flip = noisy_labels(ds, "flip", 0.3, 0).labels
    assert is_cached(ds, ds.y_train, **schedule, seed=0)
    assert is_cached(ds, flip, **schedule, seed=0, train_outputs=False)
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "kernel-only"))  # this process only
    alone = [dnn_cell(c, **cell_options(params)) for c in cells]
    assert rows.accuracy.tolist() == [r["accuracy"] for r in alone]
    pd.testing.assert_frame_equal(knobs, concentration_knob.networks(params), check_exact=True)


def test_an_unreachable_scheduler_fails_fast_naming_it(module_cache):
    start = time.perf_counter()
    with pytest.raises(
        engine.EngineError, match=r"no Dask scheduler answered at tcp://127\.0\.0\.1:1 within"
    ):
        with engine.executor("tcp://127.0.0.1:1", timeout=1.0):
            pass
    assert time.perf_counter() - start < 10


def test_a_cache_root_workers_cannot_use_is_named(cluster, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache root should be")
    with engine.executor(cluster) as ex:
        with pytest.raises(
            engine.EngineError,
            match=rf"the cache root {blocked} is not usable by \d Dask worker\(s\); .*cannot write",
        ):
            engine.check_cache(ex._client, blocked)


def test_a_worker_with_another_cache_root_is_named(cluster, tmp_path):
    with engine.executor(cluster) as ex:
        with pytest.raises(engine.EngineError, match="set KNNOISE_CACHE="):
            engine.check_cache(ex._client, tmp_path / "elsewhere")
