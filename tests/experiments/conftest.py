"""Shared fixtures of the experiments' tests."""

import pytest


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
