"""Atomic writes (text, JSON, ``.npz``) and the cache root ``$KNNOISE_CACHE``.

Every file the project writes goes through a temporary file in the same folder and :func:`os.replace`,
so a reader (another notebook, a resumed run, the book build) never sees a half-written file. The cache
(neighbour graphs, trained networks, sweep cells) lives under :func:`cache_dir`;
:func:`knnoise._store.memory` is the :class:`joblib.Memory` over it. Notebooks share this cache, so a
result computed for one chapter is reused by the others when its parameters match. An unreadable entry
(a truncated JSON file, a joblib result that does not unpickle) is reported once as a warning
(:func:`warn_damaged`), dropped and recomputed. Checking that outputs can be written, and writing several
all or none: :mod:`knnoise._outputs`.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = [
    "CACHE_ENV",
    "atomic_file",
    "cache_dir",
    "read_json",
    "save_npz",
    "warn_damaged",
    "write_json",
    "write_text",
]

CACHE_ENV = "KNNOISE_CACHE"


@contextmanager
def atomic_file(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success it replaces ``path``, on error it is removed.

    The file gets the usual permissions (``0o666`` less the umask), not ``mkstemp``'s ``0o600``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    with atomic_file(path) as f:
        f.write(text)
    return Path(path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"values written as JSON must be JSON-serialisable, got {type(value).__name__}")


def write_json(path: str | os.PathLike[str], payload: Any, *, indent: int | None = None) -> Path:
    """Write ``payload`` as JSON (numpy scalars and arrays converted) to ``path`` atomically."""
    with atomic_file(path) as f:
        json.dump(payload, f, indent=indent, default=_jsonable)
    return Path(path)


def read_json(
    path: str | os.PathLike[str],
    *,
    check: Callable[[Any], bool] | None = None,
    on_damaged: Callable[[Path, BaseException], None] | None = None,
) -> Any | None:
    """The JSON in ``path``; None when it is missing, or damaged (truncated, invalid, failing ``check``).

    A damaged file is removed, so the caller recomputes it, and reported once: by ``on_damaged(path,
    error)`` when given, else as a :func:`warn_damaged` warning.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if check is not None and not check(payload):
            raise ValueError("unexpected content")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, UnicodeDecodeError) as err:
        if on_damaged is None:
            warn_damaged(path, err)
        else:
            on_damaged(path, err)
        path.unlink(missing_ok=True)
        return None
    return payload


def save_npz(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` to ``path`` (an uncompressed ``.npz``) atomically."""
    with atomic_file(path, "wb") as f:
        np.savez(f, **arrays)
    return Path(path)


def cache_dir() -> Path:
    """``$KNNOISE_CACHE``; else ``.cache/knnoise`` in the source checkout, else in the working directory."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser().resolve()
    checkout = Path(__file__).resolve().parents[1]
    pyproject = checkout / "pyproject.toml"
    if pyproject.is_file() and 'name = "knnoise"' in pyproject.read_text(encoding="utf-8", errors="replace"):
        return checkout / ".cache" / "knnoise"
    return Path.cwd() / ".cache" / "knnoise"


def warn_damaged(
    path: str | os.PathLike[str], err: BaseException, *, stacklevel: int = 2, repair: str | None = None
) -> None:
    """Report the damaged cache entry ``path`` (dropped by the caller, then recomputed) as a warning.

    ``repair``: what is done instead of recomputing it (e.g. ``"rewritten from the current code"``).
    """
    reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    message = (
        f"dropping the damaged cache entry {path} ({reason}); it will be recomputed"
        if repair is None
        else f"repairing the damaged cache file {path} ({reason}): {repair}"
    )
    warnings.warn(message, stacklevel=stacklevel + 1)
