"""Where expensive results are cached: ``$KNNOISE_CACHE`` (default ``.cache/knnoise`` in the checkout).

Notebooks share this cache, so a neighbour graph or a network computed for one chapter is reused by the
others when its parameters match. :func:`memory` is a :class:`joblib.Memory` keyed by the arguments.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import joblib

__all__ = ["cache_dir", "memory"]


def cache_dir() -> Path:
    """``$KNNOISE_CACHE``; else ``.cache/knnoise`` in the source checkout, else in the working directory."""
    if os.environ.get("KNNOISE_CACHE"):
        return Path(os.environ["KNNOISE_CACHE"]).expanduser().resolve()
    checkout = Path(__file__).resolve().parents[1]
    pyproject = checkout / "pyproject.toml"
    if pyproject.is_file() and 'name = "knnoise"' in pyproject.read_text(encoding="utf-8", errors="replace"):
        return checkout / ".cache" / "knnoise"
    return Path.cwd() / ".cache" / "knnoise"


@cache
def _memory(location: str) -> joblib.Memory:
    return joblib.Memory(location, verbose=0)


def memory() -> joblib.Memory:
    """A :class:`joblib.Memory` under :func:`cache_dir` (re-read each call, so tests can move it)."""
    return _memory(str(cache_dir() / "joblib"))
