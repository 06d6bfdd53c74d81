"""knnoise.book.runs: the run record of each executed notebook and the execution table (starts kernels)."""

from __future__ import annotations

import contextlib
import csv
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import nbformat
import psutil
import pytest

from knnoise import book
from knnoise.book import runs


def _table(root: Path) -> list[dict[str, str]]:
    with (root / runs.TABLE_CSV).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_runner_writes_how_each_chapter_ran(mini: Path) -> None:
    book.run("t", build=False, root=mini, progress=False)
    rows = _table(mini)
    assert list(rows[0]) == list(runs.COLUMNS.values())
    assert [r["chapter"] for r in rows] == ["alpha", "beta"]  # the toc's order
    for row in rows:
        assert row["profile"] == "t" and row["run"] == "executed"
        assert 0 < float(row["wall time (s)"]) < 300
        assert 30 < int(row["peak memory (MiB)"]) < 4000, "a Python kernel holds tens of MiB"
        assert row["device"].startswith("cpu (") and row["commit"] == "unknown"  # not a git checkout
        assert row["numpy"] == metadata.version("numpy") and row["torch"] == metadata.version("torch")
        assert row["knnoise"] == metadata.version("knnoise")
        assert row["restored (UTC)"] == row["restored at commit"] == "", "executed for this build"
    payload = json.loads((mini / runs.TABLE_JSON).read_text(encoding="utf-8"))
    assert [r["chapter"] for r in payload] == ["alpha", "beta"] and payload[0]["status"] == "executed"
    nb = nbformat.read(mini / "book" / "executed" / "alpha.ipynb", as_version=4)
    assert nb.metadata[runs.RUN_KEY]["wall_s"] == float(rows[0]["wall time (s)"])


def test_a_restored_chapter_keeps_the_numbers_of_its_run_and_others_keep_their_rows(mini: Path) -> None:
    book.run("t", build=False, root=mini, progress=False)
    first = _table(mini)
    result = book.run("t", only=["alpha"], build=False, root=mini, progress=False)
    assert result.cached == ["alpha"]
    second = _table(mini)
    assert second[0]["run"] == "restored"
    assert second[0]["restored (UTC)"] >= first[0]["finished (UTC)"]
    assert second[0]["restored at commit"] == "unknown", "this build's commit (mini is no git checkout)"
    same = ["wall time (s)", "peak memory (MiB)", "device", "finished (UTC)"]
    assert [second[0][k] for k in same] == [first[0][k] for k in same]
    assert second[1] == first[1], "beta was not run: its row is kept"
    book.run("t", only=["beta"], build=False, root=mini, progress=False, force=True)
    third = _table(mini)
    assert third[0] == second[0] and third[1]["run"] == "executed"
    assert third[1]["finished (UTC)"] >= first[1]["finished (UTC)"]


ALLOCATE = "import os, time; b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096])\n"


@contextlib.contextmanager
def _watched(code: str) -> Iterator[tuple[psutil.Process, runs.PeakMemory]]:
    """A Python child that runs ``ALLOCATE + code`` (printing 1 when ready), its memory watched from its
    start; the child and its own children are killed at the end."""
    child = subprocess.Popen([sys.executable, "-c", ALLOCATE + code], stdout=subprocess.PIPE, text=True)
    try:
        memory = runs.PeakMemory(interval=0.05)
        memory.watch(child.pid)
        assert child.stdout.readline().strip() == "1"
        yield psutil.Process(child.pid), memory
    finally:
        for process in psutil.Process(child.pid).children():
            process.kill()
        child.kill()
        child.wait()


def test_peak_memory_sees_an_allocation() -> None:
    with _watched("print(1, flush=True); time.sleep(30)") as (_, memory):
        memory.stop()
    assert 300 * 2**20 <= memory.peak_bytes < 1000 * 2**20


def test_peak_memory_counts_pages_shared_with_a_forked_worker_once() -> None:
    """A worker forked by the kernel shares its pages: summed RSS would count 300 MiB twice, PSS once."""
    code = "pid = os.fork()\nif pid == 0: time.sleep(30); os._exit(0)\nprint(1, flush=True); time.sleep(30)"
    with _watched(code) as (child, memory):
        deadline = time.monotonic() + 30
        while len(child.children()) != 1:  # the fork is seen by the next sample
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)
        memory.stop()
        rss = sum(p.memory_info().rss for p in [child, *child.children()])
    assert rss > 600 * 2**20, "both processes hold the pages"
    assert 300 * 2**20 <= memory.peak_bytes < 450 * 2**20


def test_commit_names_a_dirty_checkout(tmp_path: Path) -> None:
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "f").write_text("1")
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout
    clean = runs._commit(tmp_path)
    assert head.startswith(clean) and len(clean) == 12
    (tmp_path / "f").write_text("2")
    runs._commit.cache_clear()  # it is asked once per checkout and run
    assert runs._commit(tmp_path) == f"{clean}-dirty"


@pytest.mark.parametrize(("device", "expected"), [("cpu", "cpu ("), ("auto", "cpu (")])
def test_device_without_and_with_cuda(device: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs, "_cuda_name", lambda: None)
    assert runs._device({"device": device}).startswith(expected)
    monkeypatch.setattr(runs, "_cuda_name", lambda: "NVIDIA H200")
    cpu = runs._device({})  # a chapter without a device parameter
    assert runs._device({"device": device}) == ("cuda (NVIDIA H200)" if device == "auto" else cpu)
