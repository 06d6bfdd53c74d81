"""knnoise._io: atomic writes, damaged JSON entries dropped, the cache root."""

import json
import os

import numpy as np
import pytest

from knnoise import _io


def test_writes_are_atomic_and_leave_no_temporary_file(tmp_path):
    path = tmp_path / "deep" / "a.json"
    _io.write_json(path, {"x": np.float64(1.5), "y": np.arange(3)})
    assert json.loads(path.read_text()) == {"x": 1.5, "y": [0, 1, 2]}
    _io.write_text(tmp_path / "t.md", "hello")
    _io.save_npz(tmp_path / "a.npz", {"a": np.ones(2)})
    assert np.load(tmp_path / "a.npz")["a"].tolist() == [1, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "deep", "t.md"]
    assert oct((tmp_path / "t.md").stat().st_mode & 0o777) != oct(0o600)


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "a.json"
    _io.write_json(path, {"ok": True})
    with pytest.raises(TypeError, match="JSON-serialisable"):
        _io.write_json(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_read_json_drops_a_damaged_entry_with_one_warning(tmp_path):
    path = tmp_path / "cell.json"
    path.write_text('{"rows": [1, 2')  # truncated by a full disk
    with pytest.warns(UserWarning, match="damaged cache entry"):
        assert _io.read_json(path) is None
    assert not path.exists()
    assert _io.read_json(path) is None  # missing: no warning
    path.write_text('{"rows": 3}')
    with pytest.warns(UserWarning, match="unexpected content"):
        assert _io.read_json(path, check=lambda p: isinstance(p["rows"], list)) is None


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "c"))
    assert _io.cache_dir() == (tmp_path / "c").resolve()
    monkeypatch.delenv("KNNOISE_CACHE")
    assert _io.cache_dir().name == "knnoise" and os.fspath(_io.cache_dir()).endswith(".cache/knnoise")
