"""The on-disk store of trained networks, one entry per network, content-addressed by :func:`cache_key`.

The store is :func:`knnoise._store.memory` (``joblib.Memory`` under ``$KNNOISE_CACHE/joblib``, its damaged
files reported once and repaired), used through joblib's public API only: :meth:`joblib.Memory.cache`,
``check_call_in_cache`` and calls. Its one cached function, :func:`_network`, takes the key's values as
its arguments (so joblib hashes exactly :func:`cache_key`) and returns the network the caller *supplies*
for that key (:data:`_SUPPLY`): loading an entry supplies nothing (a damaged entry, which the store drops,
then reads as missing), storing one supplies the freshly trained result, which joblib writes through a
temporary file and a rename (a killed run leaves no partial entry).

A lone network and a network trained in a group have the same key, so each finds the other's entry: on
the CPU (the loop over the group) they are bitwise equal; vmapped groups (the GPU default) and lone
training agree only to float rounding (grouped convolutions sum in another order).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import numpy as np

from knnoise._store import memory
from knnoise.data import Dataset
from knnoise.dnn.options import TrainOptions
from knnoise.dnn.result import TrainResult

__all__ = ["cache_key"]

CACHE_VERSION = 3
"""Bumped when a change to the training code or to the key changes what an unchanged key would hold
(3: the key became :func:`cache_key`'s; earlier entries are not read)."""

_SUPPLY: ContextVar[Callable[[], TrainResult]] = ContextVar("_SUPPLY")


class _Missing(Exception):
    """Raised by :func:`_network` while loading: the entry was damaged (and dropped) after all."""


def cache_key(dataset: Dataset, labels: np.ndarray, seed: int, options: TrainOptions) -> dict[str, Any]:
    """The cache key of one network: everything that changes its numbers, nothing else.

    Parameters
    ----------
    dataset : Dataset
        Its data (joblib hashes the arrays and the name).
    labels : numpy.ndarray
        Its noisy training labels, canonical (contiguous ``int64``: equal labels of any dtype hit).
    seed : int
        Its seed.
    options : TrainOptions
        Its options, resolved for ``dataset`` (:meth:`TrainOptions.for_dataset`); :meth:`TrainOptions.key`
        gives their values, the thread count included. The device and the progress bar are not options.

    Returns
    -------
    dict
        The arguments of the cached function :func:`_network`, with :data:`CACHE_VERSION`.
    """
    return {"version": CACHE_VERSION, "dataset": dataset, "labels": labels, "seed": seed,
            "options": options.key()}  # fmt: skip


def _network(version: int, dataset: Dataset, labels: np.ndarray, seed: int, options: dict) -> TrainResult:
    """The function joblib caches: its arguments are :func:`cache_key`'s values, its value the network
    trained for them, supplied by the caller."""
    return _SUPPLY.get()()


def _cached() -> Any:
    """:func:`_network` cached under the current cache folder (re-read every call)."""
    return memory().cache(_network)


def _in_cache(key: dict[str, Any]) -> bool:
    """Whether the network of ``key`` is stored (nothing is loaded)."""
    return bool(_cached().check_call_in_cache(**key))


def _load(key: dict[str, Any]) -> TrainResult | None:
    """The stored network of ``key``, or None when there is none (or it was damaged, and dropped)."""
    cached = _cached()
    if not cached.check_call_in_cache(**key):
        return None

    def missing() -> TrainResult:
        raise _Missing

    token = _SUPPLY.set(missing)
    try:
        return cached(**key)
    except _Missing:
        return None
    finally:
        _SUPPLY.reset(token)


def _store(key: dict[str, Any], result: TrainResult) -> None:
    """Store ``result`` as the network of ``key``."""
    token = _SUPPLY.set(lambda: result)
    try:
        _cached()(**key)
    finally:
        _SUPPLY.reset(token)
