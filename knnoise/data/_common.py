"""What the downloading sources share: the data folder and a quick reachability probe."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

from knnoise._io import cache_dir

__all__ = ["data_dir"]

DATA_ENV = "KNNOISE_DATA"
_REACH_TIMEOUT_S = 2.0


def data_dir() -> Path:
    """The folder that holds downloaded and cached data.

    ``$KNNOISE_DATA``; else ``$KNNOISE_CACHE/data``; else ``.cache/knnoise/data`` in the source checkout
    holding this package; else ``.cache/knnoise/data`` under the current working directory.
    """
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser().resolve()
    return cache_dir() / "data"


def _internet_reachable(host: str, port: int = 443, timeout: float = _REACH_TIMEOUT_S) -> bool:
    """Whether a TCP connection to ``host:port`` opens within ``timeout`` seconds.

    Name resolution is not covered by socket timeouts, so the whole check runs in a daemon thread that
    is abandoned after ``timeout``.
    """
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])
