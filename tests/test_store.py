"""knnoise._store: the joblib cache under the cache root, damaged results dropped and recomputed (the
other damages, file by file: tests/test_faults.py)."""

from pathlib import Path

import numpy as np
import pytest

from knnoise import _store


def test_memory_lives_under_the_cache_root(tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "c"))
    assert Path(_store.memory().location) == (tmp_path / "c").resolve() / "joblib"


def test_memory_drops_an_unloadable_result_with_one_warning_and_recomputes(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))
    calls = []

    def double(x):
        calls.append(x)
        return np.arange(x) * 2

    cached = _store.memory().cache(double)
    cached(3)
    (output,) = tmp_path.rglob("output.pkl")
    output.write_bytes(b"")
    message = r"dropping the damaged cache entry .*double.* \(EOFError\); it will be recomputed"
    with pytest.warns(UserWarning, match=message):
        assert cached(3).tolist() == [0, 2, 4]
    assert calls == [3, 3] and output.is_file()
    assert not [r for r in caplog.records if r.name == "joblib"]
    assert cached(3).tolist() == [0, 2, 4] and calls == [3, 3]
