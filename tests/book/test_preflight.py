"""Before any work the runner proves the cache root and ``book/executed`` writable, and removes the partial
notebooks a killed run left (issue 18, points 3 and 4). No kernel starts here."""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from pathlib import Path

import pytest

from knnoise import book
from knnoise._outputs import FolderNotWritable, ensure_cache_root, ensure_folder
from knnoise.book import cli, partials
from knnoise.book import execute as _execute


def _fail_in(monkeypatch: pytest.MonkeyPatch, folder: Path, where: str, code: int) -> None:
    """Make creating (``where="create"``) or syncing (``"sync"``) a file in ``folder`` fail with ``code``."""
    mkstemp, fsync = tempfile.mkstemp, os.fsync
    probes: set[int] = set()

    def failing_mkstemp(*args, dir=None, **kwargs):  # noqa: A002 - tempfile's own name
        if dir is not None and Path(dir).resolve() == folder.resolve():
            if where == "create":
                raise OSError(code, os.strerror(code), str(dir))
            fd, name = mkstemp(*args, dir=dir, **kwargs)
            probes.add(fd)
            return fd, name
        return mkstemp(*args, dir=dir, **kwargs)

    def failing_fsync(fd):
        if fd in probes:
            raise OSError(code, os.strerror(code))
        return fsync(fd)

    monkeypatch.setattr(tempfile, "mkstemp", failing_mkstemp)
    monkeypatch.setattr(os, "fsync", failing_fsync)


# ----------------------------------------------------------------------------------------------------
# knnoise._outputs.ensure_folder


def test_a_missing_folder_is_made_and_no_probe_is_left(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"
    assert ensure_folder(folder) == folder
    assert folder.is_dir() and list(folder.iterdir()) == []
    assert ensure_folder(folder) == folder  # and again, existing


def test_a_file_in_the_way_is_named(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(FolderNotWritable, match=r"^the folder .*afile is not writable: it is a file"):
        ensure_folder(tmp_path / "afile")
    with pytest.raises(FolderNotWritable, match=r"is not writable: .*/afile is a file, not a folder$"):
        ensure_folder(tmp_path / "afile" / "sub", "the thing")


@pytest.mark.parametrize(
    ("where", "code", "reason"),
    [
        ("create", errno.EACCES, "Permission denied"),
        ("create", errno.EROFS, "Read-only file system"),
        ("sync", errno.ENOSPC, "No space left on device"),  # a full disk may only say so on fsync
        ("sync", errno.EDQUOT, "Disk quota exceeded"),
    ],
)
def test_a_folder_that_cannot_take_a_file_is_refused(tmp_path, monkeypatch, where, code, reason) -> None:
    _fail_in(monkeypatch, tmp_path, where, code)
    with pytest.raises(FolderNotWritable) as info:
        ensure_folder(tmp_path, "the place")
    assert str(info.value) == f"the place is not writable: {reason}"
    assert list(tmp_path.iterdir()) == []  # the probe is gone


def test_a_probe_that_reads_back_differently_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(Path, "read_bytes", lambda self: b"something else")
    with pytest.raises(FolderNotWritable, match="not writable: a file written there reads back differ"):
        ensure_folder(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    try:
        with pytest.raises(FolderNotWritable, match="is not writable: Permission denied"):
            ensure_folder(folder)
        with pytest.raises(FolderNotWritable, match="is not writable: Permission denied"):
            ensure_folder(folder / "cache")
    finally:
        folder.chmod(0o755)


def test_the_cache_root_message_names_knnoise_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "afile"))
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OSError) as info:  # FolderNotWritable is an OSError
        ensure_cache_root()
    assert str(info.value) == (
        f"the cache root {tmp_path / 'afile'} (KNNOISE_CACHE) is not writable: it is a file, not a folder"
    )
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "new" / "cache"))
    assert ensure_cache_root() == tmp_path / "new" / "cache"


# ----------------------------------------------------------------------------------------------------
# The runner: one error line, exit 2, before any kernel, cluster or build


ARGV = ["--profile", "t", "--no-build", "--workers", "1"]


def test_a_cache_root_that_is_a_file_fails_before_any_work(
    mini, monkeypatch, no_work, capsys, cli_error
) -> None:
    cache = mini / "cache-file"
    cache.write_text("x")
    monkeypatch.setenv("KNNOISE_CACHE", str(cache))
    status, line = cli_error([*ARGV, "--root", str(mini)], capsys)
    assert status == 2
    assert line == (
        f"error: the cache root {cache} (KNNOISE_CACHE) is not writable: it is a file, not a folder"
    )


@pytest.mark.parametrize(
    ("where", "code", "reason"),
    [("create", errno.EROFS, "Read-only file system"), ("sync", errno.ENOSPC, "No space left on device")],
)
def test_a_read_only_or_full_cache_fails_before_any_work(
    mini, monkeypatch, no_work, capsys, cli_error, where, code, reason
):
    cache = mini / "cache"
    cache.mkdir()
    _fail_in(monkeypatch, cache, where, code)
    status, line = cli_error([*ARGV, "--root", str(mini)], capsys)
    assert status == 2
    assert line == f"error: the cache root {cache} (KNNOISE_CACHE) is not writable: {reason}"


def test_an_unwritable_output_folder_fails_before_any_work(
    mini, monkeypatch, no_work, capsys, cli_error
) -> None:
    (mini / "book" / "executed").write_text("not a folder")
    status, line = cli_error([*ARGV, "--root", str(mini)], capsys)
    assert status == 2
    assert line == (
        f"error: the book's output folder {mini / 'book' / 'executed'} is not writable: "
        "it is a file, not a folder"
    )
    (mini / "book" / "executed").unlink()
    _fail_in(monkeypatch, mini / "book" / "executed", "create", errno.EACCES)
    status, line = cli_error([*ARGV, "--root", str(mini)], capsys)
    assert line.endswith("book/executed is not writable: Permission denied")


def test_bad_values_are_reported_before_the_folders(mini, monkeypatch, no_work, capsys, cli_error) -> None:
    monkeypatch.setenv("KNNOISE_CACHE", str(mini / "_toc.yml"))  # a file
    status, line = cli_error(["--profile", "t", "-p", "nope", "1", "--root", str(mini)], capsys)
    assert status == 2 and line.startswith("error: unknown parameter 'nope'")


# ----------------------------------------------------------------------------------------------------
# Partial notebooks of killed runs


def _partial(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".{name}.abc123.partial.ipynb"
    path.write_text("{}")
    return path


def test_stale_partial_notebooks_are_removed_and_live_ones_kept(mini: Path) -> None:
    executed = mini / "book" / "executed"
    stale, live = _partial(executed, "alpha"), _partial(executed, "beta")
    other = executed / "alpha.ipynb"
    other.write_text("{}")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running execute_notebook holds it
    try:
        assert partials.remove_stale_partials(mini) == [stale]
        assert live.exists() and other.exists() and not stale.exists()
    finally:
        os.close(fd)
    assert partials.remove_stale_partials(mini) == [live]  # its run has ended
    assert partials.remove_stale_partials(mini) == []


def test_the_runner_removes_stale_partials_before_running(mini: Path, monkeypatch, capsys) -> None:
    stale = _partial(mini / "book" / "executed", "beta")
    seen = []
    monkeypatch.setattr(cli._execute, "restore_notebook", lambda *a, **k: None)
    monkeypatch.setattr(cli._execute, "execute_notebook", lambda name, *a, **k: seen.append(stale.exists()))
    monkeypatch.setattr(cli._build, "write_claims_page", lambda *args: None)
    book.run("t", only=["beta"], build=False, root=mini)
    assert seen == [False]
    out = capsys.readouterr().out
    note = "note: removed 1 partial notebook(s) left in book/executed by a run that was killed"
    assert f"{note}: {stale.name}\n" in out


def test_a_running_notebook_locks_its_partial_file(mini: Path, monkeypatch) -> None:
    """execute_notebook holds the lock while papermill runs: a second runner would keep the file."""
    found = []

    def papermill(nb, tmp, *args, **kwargs):
        found.append((tmp.exists(), partials.remove_stale_partials(kwargs["root"])))
        raise KeyboardInterrupt

    monkeypatch.setattr(_execute, "_papermill", papermill)
    with pytest.raises(KeyboardInterrupt):
        _execute.execute_notebook("beta", {}, root=mini)
    assert found == [(True, [])]
    assert list((mini / "book" / "executed").glob(partials.PARTIAL_PATTERN)) == []  # removed on Ctrl-C
    assert not (mini / "book" / "executed" / "beta.ipynb").exists()
