"""Where a run writes: folders and files proved writable before any work, outputs landing all or none.

One probe (:func:`_probe`: a file written, synced, read back and deleted) finds a read-only folder or file
system, a missing permission or a full disk before any work starts, for any user (root included). Two
front ends report what it finds:

- :func:`check_writable` and :func:`check_writable_folder` check a user's output path or folder without
  making anything, and raise :class:`ValueError` naming the command-line flag or API parameter;
- :func:`ensure_folder` and :func:`ensure_cache_root` make a folder a run writes to (the cache root, the
  book's output) and raise :class:`FolderNotWritable`, an :class:`OSError` naming the folder.

:func:`staged_files` then writes several outputs so that all of them land, or none.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from knnoise._io import CACHE_ENV, cache_dir

__all__ = [
    "FolderNotWritable",
    "check_writable",
    "check_writable_folder",
    "ensure_cache_root",
    "ensure_folder",
    "staged_files",
]

_PROBE_BYTES = b"knnoise write probe\n" * 205  # about 4 KiB: a full disk refuses it


class FolderNotWritable(OSError):
    """A folder a run must write to cannot be used; the message names it and says why."""


# ----------------------------------------------------------------------------------------------------
# The probe
# ----------------------------------------------------------------------------------------------------
def _nearest_existing(path: str | os.PathLike[str]) -> Path:
    """``path`` (made absolute) or its nearest ancestor that exists: where its missing folders would go."""
    path = Path(os.path.abspath(path))
    return next((p for p in (path, *path.parents) if p.exists()), path)


def _probe(folder: Path) -> None:
    """Write, fsync, read back and delete a probe file in the existing ``folder``; OSError when any step
    fails (the probe is removed either way)."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=".knnoise-probe.", suffix=".tmp")
    probe = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_PROBE_BYTES)
            f.flush()
            os.fsync(f.fileno())
        if probe.read_bytes() != _PROBE_BYTES:
            raise OSError(f"a file written there reads back differently ({probe.name})")
        probe.unlink()
    finally:
        with suppress(OSError):
            probe.unlink(missing_ok=True)


def _reason(err: OSError) -> str:
    """What went wrong, as the system says it (``"Permission denied"``)."""
    return err.strerror or str(err) or type(err).__name__


def _probe_reason(folder: Path) -> str | None:
    """Why no file can be written in the existing ``folder`` (a file in the way, a failed probe), or None."""
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    try:
        _probe(folder)
    except OSError as err:
        return f"{folder} is not writable: {_reason(err)}"
    return None


# ----------------------------------------------------------------------------------------------------
# A user's outputs: checked before any work (nothing made), ValueError naming the flag or parameter
# ----------------------------------------------------------------------------------------------------
def check_writable_folder(folder: str | os.PathLike[str], name: str) -> Path:
    """``folder`` as a Path when files can be written in it (it exists, or can be made, and is writable).

    Checked with a probe file in it or in its nearest existing ancestor (nothing is made), so it holds for
    any user, root included. Raises :class:`ValueError` naming ``name`` and the folder.
    """
    path = Path(folder)
    reason = f"{path} is a file, not a folder" if path.exists() and not path.is_dir() else None
    reason = reason or _probe_reason(_nearest_existing(path))
    if reason:
        allowed = "a folder that can be written to"
        raise ValueError(f"{name} must be {allowed}, got {os.fspath(folder)!r} ({reason})")
    return path


def check_writable(path: str | os.PathLike[str], name: str) -> Path:
    """``path`` as a Path when a file can be written there atomically (:func:`staged_files`).

    Its folder must exist or be creatable, and be writable; ``path`` itself must not be a folder or a
    special file (``/dev/null``: replacing it would replace the device). Raises :class:`ValueError` naming
    ``name`` and the path, before any work is done.
    """
    target = Path(path)
    text = os.fspath(path)
    if text.endswith(("/", os.sep)) or target.is_dir():
        reason = "a folder; name a file in it"
    elif target.exists() and not target.is_file():
        reason = "not a regular file"
    else:
        reason = _probe_reason(_nearest_existing(target.parent))
    if reason:
        raise ValueError(f"{name} must be a file path in a writable folder, got {text!r} ({reason})")
    return target


# ----------------------------------------------------------------------------------------------------
# Folders a run writes to (the cache root, the book's output): made and proved usable before any work
# ----------------------------------------------------------------------------------------------------
def ensure_folder(folder: str | os.PathLike[str], label: str | None = None) -> Path:
    """Make ``folder`` if needed and prove that files can be written in it, before any work starts.

    A probe file is written, synced to disk, read back and deleted, so a read-only folder or file
    system, a missing permission, a file in the way or a full disk are found now, as root too.

    Parameters
    ----------
    folder : path
    label : str, optional
        How the message names the folder, e.g. ``"the cache root /x (KNNOISE_CACHE)"``; default
        ``"the folder <folder>"``.

    Returns
    -------
    Path
        ``folder`` (absolute).

    Raises
    ------
    FolderNotWritable
        ``"<label> is not writable: <reason>"``.
    """
    path = Path(os.path.abspath(folder))
    label = label or f"the folder {path}"
    try:
        existing = _nearest_existing(path)
        if not existing.is_dir():
            where = "it" if existing == path else str(existing)
            raise FolderNotWritable(f"{label} is not writable: {where} is a file, not a folder")
        path.mkdir(parents=True, exist_ok=True)
        _probe(path)
    except FolderNotWritable:
        raise
    except OSError as err:
        raise FolderNotWritable(f"{label} is not writable: {_reason(err)}") from err
    return path


def ensure_cache_root() -> Path:
    """:func:`ensure_folder` for :func:`~knnoise._io.cache_dir`, named ``"the cache root PATH
    (KNNOISE_CACHE)"``."""
    root = cache_dir()
    return ensure_folder(root, f"the cache root {root} ({CACHE_ENV})")


# ----------------------------------------------------------------------------------------------------
# Outputs written all or none
# ----------------------------------------------------------------------------------------------------
def _make_folders(folder: Path, made: list[Path]) -> None:
    """Make ``folder`` and its missing ancestors, inserting each one made at the front of ``made``."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
        made.insert(0, new)


def _publish(temporaries: list[Path], targets: list[Path]) -> None:
    """fsync each temporary file, give it the usual permissions, then rename them all into place."""
    umask = os.umask(0)
    os.umask(umask)
    for tmp in temporaries:
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~umask)
    for tmp, target in zip(temporaries, targets, strict=True):
        os.replace(tmp, target)


@contextmanager
def staged_files(paths: Sequence[str | os.PathLike[str]]) -> Iterator[list[Path]]:
    """Temporary paths beside each of ``paths``, to write in the block; all or none of them land.

    When the block succeeds, every temporary file is synced and renamed onto its target (the renames are
    the last step, after all the writing). When it fails (an exception, Ctrl-C), every temporary file and
    every folder made for them is removed and no target changes. Only a rename failing after another
    succeeded (a target replaced by a folder meanwhile) can leave some targets new: each rename is atomic,
    the set of them is not.
    """
    targets = [Path(os.path.abspath(p)) for p in paths]
    temporaries: list[Path] = []
    made: list[Path] = []
    try:
        for target in targets:
            _make_folders(target.parent, made)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            os.close(fd)
            temporaries.append(Path(tmp))
        yield list(temporaries)
        _publish(temporaries, targets)
    except BaseException:
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)
        for folder in made:
            with suppress(OSError):
                folder.rmdir()
        raise
