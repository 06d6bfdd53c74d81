"""Fault injection into every file the library keeps: each damaged file is reported once and repaired.

Kinds: sweep cells (``$KNNOISE_CACHE/sweeps/<name>/<key>.json``), trained networks and neighbour graphs
(joblib under ``$KNNOISE_CACHE/joblib``: an entry's ``output.pkl`` and ``metadata.json``, the function's
``func_code.py``), MNIST's converted arrays (``<data>/mnist.npz``), CIFAR-10's extracted batches, and the
committed paper-scale results tables (``results/paper/*.csv``); damages: truncated, emptied, deleted,
garbage. A cache file is reported once (a warning naming it; none when a deleted file is just a miss),
recomputed (or repaired without recomputing), the result equals the undamaged one, and the next call
loads from the cache without a report or a recompute. A committed table cannot be recomputed: a damaged
one is an error naming it. The book's own files (the execution cache, the claims): tests/book/
test_cache_faults.py.
"""

from __future__ import annotations

import pickle
import shutil
import tarfile
import warnings
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib.memory
import numpy as np
import pandas as pd
import pytest

from knnoise.data import cifar10, load, mnist
from knnoise.dnn import train_cached
from knnoise.knn import neighbor_graph
from knnoise.pipeline import paper_results
from knnoise.pipeline.sweep import grid, run_sweep, sweep_dir

REPO = Path(__file__).resolve().parents[1]
DAMAGES = ("truncated", "emptied", "deleted", "garbage")
DAMAGED = "dropping the damaged cache entry"
REPAIRED = "repairing the damaged cache file"


def reporting(call: Callable[[], Any], where: Path) -> tuple[Any, list[str]]:
    """``call()`` and the warnings it gave about files under ``where``."""
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in records if str(where) in str(w.message)]


def stamp(path: Path) -> tuple[int, int] | None:
    """The file's identity: changed when it was written again (atomic writes make a new file)."""
    return (path.stat().st_ino, path.stat().st_mtime_ns) if path.exists() else None


def expect_repaired(
    call: Callable[[], Any], where: Path, result: Path, *, report: str | None, recomputed: bool
) -> Any:
    """The call after the damage: ``report`` (a substring; None: no report) once, ``result`` (the file
    holding the result) written again iff ``recomputed``; then a second call loads it, silently."""
    before = stamp(result)
    value, reports = reporting(call, where)
    assert reports == [] if report is None else len(reports) == 1 and report in reports[0], reports
    assert (stamp(result) != before) == recomputed and result.is_file()
    after = stamp(result)
    again, reports = reporting(call, where)
    assert reports == [] and stamp(result) == after  # loaded from the cache
    return value, again


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget which cached functions' code joblib already checked (as a new process, e.g. a new kernel)."""
    monkeypatch.setattr(joblib.memory, "_FUNCTION_HASHES", weakref.WeakKeyDictionary())


# ---------------------------------------------------------------------------------------------------------
# sweep cells: read_json
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", DAMAGES)
def test_sweep_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, damage) -> None:
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))
    calls = []

    def accuracy(cell, offset):
        calls.append(cell)
        return {"accuracy": cell.gamma + offset}

    def sweep():
        cells = grid({"uniform": [0.1, 0.2], "flip": [0.3]}, 1)
        return run_sweep(accuracy, cells, name="faults", params={"offset": 0.5}, progress=False)

    first = sweep()
    victim = sorted(sweep_dir("faults").glob("*.json"))[0]
    damage(victim, how)
    report = None if how == "deleted" else DAMAGED  # a deleted cell: never computed, as far as anyone knows
    value, again = expect_repaired(sweep, tmp_path, victim, report=report, recomputed=True)
    assert len(calls) == 4  # the damaged cell only, once
    pd.testing.assert_frame_equal(value, first)
    pd.testing.assert_frame_equal(again, first)


# ---------------------------------------------------------------------------------------------------------
# joblib entries: neighbour graphs and trained networks (knnoise._store._RepairingStore)
# ---------------------------------------------------------------------------------------------------------
# file -> (report when damaged, report when deleted, recomputed)
JOBLIB_FILES = {
    "output.pkl": (DAMAGED, DAMAGED, True),  # deleted: its metadata.json says it was there
    "func_code.py": (REPAIRED, REPAIRED, False),  # rewritten from the code; joblib would wipe every entry
    "metadata.json": (None, None, False),  # not read to load a result: harmless
}


def _joblib_file(cache: Path, name: str) -> Path:
    (path,) = (cache / "joblib").rglob(name)
    return path


def _check_joblib(
    damage: Callable[[Path, str], None], cache: Path, file: str, how: str, call: Callable[[], Any]
) -> tuple[Any, Any]:
    victim = _joblib_file(cache, file)
    result = _joblib_file(cache, "output.pkl")
    damage(victim, how)
    joblib.memory._FUNCTION_HASHES.clear()  # fresh_process's own dict: the next call is a new process's
    damaged, deleted, recomputed = JOBLIB_FILES[file]
    report = deleted if how == "deleted" else damaged
    return expect_repaired(call, cache, result, report=report, recomputed=recomputed)


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("file", list(JOBLIB_FILES))
def test_neighbour_graph(tmp_path, monkeypatch, fresh_process, file: str, how: str, damage) -> None:
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))
    rng = np.random.default_rng(5)
    x_train, x_test = rng.random((120, 5)), rng.random((30, 5))
    first = neighbor_graph(x_train, x_test, 8)
    value, again = _check_joblib(damage, tmp_path, file, how, lambda: neighbor_graph(x_train, x_test, 8))
    assert value == first and again == first


NETWORK = {"epochs": 1, "batch_size": 128, "lr": 0.003, "lr_halving_every": None, "seed": 0, "width": 0.25,
           "train_outputs": False, "progress": False}  # fmt: skip


def _digits() -> Any:
    return load("digits").subset(n_train=400, n_test=100)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A cache holding one trained network (digits, one epoch), and the network; made as a new process
    makes it (with its func_code.py: joblib writes that only for a function it has not checked yet, and
    earlier tests of the session may have trained networks)."""
    cache = tmp_path_factory.mktemp("network-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KNNOISE_CACHE", str(cache))
        mp.setattr(joblib.memory, "_FUNCTION_HASHES", weakref.WeakKeyDictionary())
        digits = _digits()
        return cache, train_cached(digits, digits.y_train, **NETWORK)


def _same_network(a: Any, b: Any) -> bool:
    """The same numbers (on this machine: trained again with the same seed and threads, bit for bit)."""
    numbers = ("epoch", "train_loss", "train_accuracy", "val_accuracy")  # not "seconds"
    same_history = all(a.history[k] == b.history[k] for k in numbers)
    return same_history and np.array_equal(a.test_softmax, b.test_softmax) and a.best_epoch == b.best_epoch


@pytest.mark.slow  # a network trained once per module, again per damaged output.pkl: ~25 s on 2 cores
@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("file", list(JOBLIB_FILES))
def test_trained_network(tmp_path, monkeypatch, fresh_process, trained, file: str, how: str, damage) -> None:
    template, first = trained
    shutil.copytree(template, tmp_path, dirs_exist_ok=True)
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))
    digits = _digits()
    value, again = _check_joblib(
        damage, tmp_path, file, how, lambda: train_cached(digits, digits.y_train, **NETWORK)
    )
    assert _same_network(value, first) and _same_network(again, first)


# ---------------------------------------------------------------------------------------------------------
# data files: MNIST's converted arrays, CIFAR-10's extracted batches
# ---------------------------------------------------------------------------------------------------------
def _same_data(a: Any, b: Any) -> bool:
    keys = ("x_train", "y_train", "x_test", "y_test")
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in keys) and a.class_names == b.class_names


@pytest.mark.parametrize("how", DAMAGES)
def test_mnist_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, damage) -> None:
    """``mnist.npz`` (the arrays converted from torchvision's files or the wheel), at a tiny size."""
    shapes = {"x_train": (6, 28, 28), "y_train": (6,), "x_test": (4, 28, 28), "y_test": (4,)}
    monkeypatch.setattr(mnist, "_MNIST_SHAPES", shapes)
    rng = np.random.default_rng(0)
    arrays = {k: rng.integers(0, 10 if k[0] == "y" else 256, s).astype(np.int64 if k[0] == "y" else np.uint8)
              for k, s in shapes.items()}  # fmt: skip
    fetched = []
    monkeypatch.setattr(mnist, "_mnist_from_torchvision", lambda *a: fetched.append(1) or dict(arrays))
    first = load("mnist", data_dir=tmp_path, download=False)
    victim = tmp_path / "mnist.npz"
    damage(victim, how)
    report = None if how == "deleted" else DAMAGED  # deleted: not converted yet, as far as anyone knows
    call = lambda: load("mnist", data_dir=tmp_path, download=False)  # noqa: E731
    value, again = expect_repaired(call, tmp_path, victim, report=report, recomputed=True)
    assert fetched == [1, 1] and _same_data(value, first) and _same_data(again, first)


def _cifar(root: Path) -> None:
    """A tiny ``cifar-10-batches-py`` folder and its archive, as torchvision's download leaves them."""
    rng = np.random.default_rng(0)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = [f"class{i}" for i in range(10)]
    batches = {**{f"data_batch_{i}": 3 for i in range(1, 6)}, "test_batch": 2}
    for name, n in batches.items():
        entry = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": list(range(n))}
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names}, protocol=2))
    with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tf:
        tf.add(folder, arcname=folder.name)


@pytest.mark.parametrize("how", DAMAGES)
def test_cifar10_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, damage) -> None:
    _cifar(tmp_path)
    extracted = []
    extract = cifar10._extract_tar
    monkeypatch.setattr(cifar10, "_extract_tar", lambda *a: extracted.append(1) or extract(*a))
    first = load("cifar10", root=tmp_path, download=False)
    victim = tmp_path / "cifar-10-batches-py" / "data_batch_2"
    damage(victim, how)
    call = lambda: load("cifar10", root=tmp_path, download=False)  # noqa: E731
    value, again = expect_repaired(call, tmp_path, victim, report="extracted again from", recomputed=True)
    assert extracted == [1] and _same_data(value, first) and _same_data(again, first)


@pytest.mark.parametrize("how", DAMAGES)
def test_cifar10_batch_without_its_archive_is_an_error_naming_it(tmp_path: Path, how: str, damage) -> None:
    """A user's own folder (no archive to extract again) is never deleted: a clear error instead."""
    _cifar(tmp_path)
    (tmp_path / "cifar-10-python.tar.gz").unlink()
    victim = tmp_path / "cifar-10-batches-py" / "test_batch"
    damage(victim, how)
    with pytest.raises(RuntimeError, match=r"CIFAR-10 is damaged: .*test_batch is (missing|unreadable)"):
        load("cifar10", root=tmp_path, download=False)


# ---------------------------------------------------------------------------------------------------------
# results tables: committed, never recomputed
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", DAMAGES)
def test_committed_results_table(tmp_path: Path, how: str, damage) -> None:
    """A damaged committed table is an error naming it and how to restore it; a deleted one is absent (a
    change to the committed data, as an edit is: the chapter reading it is executed again)."""
    (table,) = (REPO / "results" / "paper").glob("*.csv")
    shutil.copy(table, tmp_path / table.name)
    (first,) = paper_results.load_tables(tmp_path).values()
    pd.testing.assert_frame_equal(first, pd.read_csv(table))
    damage(tmp_path / table.name, how)
    if how == "deleted":
        assert reporting(lambda: paper_results.load_tables(tmp_path), tmp_path) == ({}, [])
        return
    with pytest.raises(
        ValueError, match=r"results table .*\.csv is damaged \(.*\): restore it \(git checkout"
    ):
        paper_results.load_tables(tmp_path)
