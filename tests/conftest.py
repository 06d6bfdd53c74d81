"""Fixtures shared by the test folders: damaging a file as a crash, a full disk or a bad copy would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "deleted":
        path.unlink()
    elif how == "emptied":
        path.write_bytes(b"")
    elif how == "truncated":
        cut = data[: len(data) // 2]
        path.write_bytes(cut[:-1] if cut.endswith(b"\n") else cut)
    else:
        path.write_bytes(np.random.default_rng(0).bytes(max(len(data), 64)))


@pytest.fixture
def damage() -> Callable[[Path, str], None]:
    """``(path, how)``: truncate (mid-line), empty, delete or overwrite with random bytes the file ``path``
    (``how``: ``"truncated"``, ``"emptied"``, ``"deleted"`` or ``"garbage"``)."""
    return _damage


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    """A fresh ``$KNNOISE_CACHE`` for one test module (its networks and sweep cells are its own)."""
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("cache")
    mp.setenv("KNNOISE_CACHE", str(path))
    try:
        yield path
    finally:
        mp.undo()
