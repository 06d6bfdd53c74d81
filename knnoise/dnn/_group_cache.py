"""The training cache for networks trained in a group: each network is looked up and stored under the very
entry :func:`knnoise.dnn.train_cached` uses for it alone (:mod:`knnoise.dnn.cached`: joblib, keyed by the
validated arguments and ``cache_version``), so a lone call finds a group-trained network and a group
finds lone-trained ones.

A stored result is thus the result of *either* path. On the CPU (the loop over the group) they are
bitwise equal; vmapped groups (the GPU default) and lone training agree only to float rounding (the
grouped convolutions sum in another order), which training amplifies to run-to-run-like differences.

Storing uses joblib's own write path (``MemorizedFunc._after_call``: the output through a temporary file
and a rename, then the call's metadata), the one a cache miss takes after calling the function.
"""

from __future__ import annotations

import time
from typing import Any

from knnoise.dnn.cached import _CACHE_VERSION, _cached_train
from knnoise.dnn.result import TrainResult

__all__: list[str] = []


def _key(args: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of the cached function for the validated ``args`` (device etc. not hashed)."""
    return {**args, "cache_version": _CACHE_VERSION, "device": "cpu", "progress": False}


def _lookup(args: dict[str, Any]) -> TrainResult | None:
    """The cached result of the run of the validated ``args``, or None when it was never stored."""
    cached = _cached_train()
    key = _key(args)
    return cached(**key) if cached.check_call_in_cache(**key) else None


def _store(args: dict[str, Any], result: TrainResult) -> None:
    """Store ``result`` as the cached result of the run of the validated ``args``."""
    cached = _cached_train()
    key = _key(args)
    cached.check_call_in_cache(**key)  # as a call does: records the function's code on first use
    call_id = (cached.func_id, cached._get_args_id(**key))
    cached._after_call(call_id, (), key, False, result, time.time() - result.seconds)
