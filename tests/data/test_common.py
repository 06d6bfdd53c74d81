"""Tests for knnoise.data._common: the data folder and the reachability probe."""

from __future__ import annotations

import time

from knnoise.data import _common, data_dir


def test_reachability_check_is_quick_and_false_offline():
    start = time.perf_counter()
    assert _common._internet_reachable("host.invalid", 443, timeout=1.0) is False
    assert _common._internet_reachable("127.0.0.1", 9, timeout=1.0) is False  # discard port: nothing listens
    assert time.perf_counter() - start < 3.0


def test_data_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("KNNOISE_DATA", raising=False)
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache"))
    assert data_dir() == (tmp_path / "cache" / "data").resolve()
    monkeypatch.setenv("KNNOISE_DATA", str(tmp_path / "d"))
    assert data_dir() == (tmp_path / "d").resolve()
    monkeypatch.delenv("KNNOISE_DATA")
    monkeypatch.delenv("KNNOISE_CACHE")
    default = data_dir()
    assert default.parts[-3:] == (".cache", "knnoise", "data") and default.is_absolute()
