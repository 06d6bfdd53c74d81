"""The joblib cache :func:`memory` under ``$KNNOISE_CACHE/joblib``, with damaged files repaired.

Neighbour graphs and trained networks are cached here. A damaged entry (a result that does not unpickle,
a mangled ``func_code.py``) is reported once as a :func:`~knnoise._io.warn_damaged` warning and repaired:
dropped and recomputed, or rewritten from the current code (:class:`_RepairingStore`).
"""

from __future__ import annotations

import logging
import os
import sys
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

import joblib
from joblib._store_backends import FileSystemStoreBackend
from joblib.func_inspect import get_func_code
from joblib.memory import FIRST_LINE_TEXT

from knnoise._io import cache_dir, warn_damaged, write_text

__all__ = ["memory"]


class _DamagedEntry(Exception):
    """A joblib entry that could not be loaded; already reported and dropped by :class:`_RepairingStore`."""


class _RepairingStore(FileSystemStoreBackend):
    """joblib's file store, with every damaged file reported once as a warning and repaired.

    - An entry whose result (``output.pkl``) cannot be loaded (truncated, emptied, not a pickle) or is gone
      while its ``metadata.json`` (written after it) is there: dropped; joblib recomputes and stores it.
    - A damaged or deleted ``func_code.py`` (the cached function's code, one per function): rewritten from
      the function's current code and its entries kept. joblib would take it for an edited function and
      wipe every entry of it (every trained network), or fail on undecodable bytes. A well-formed
      ``func_code.py`` of other code is an edit: joblib's own rule (clear the function's entries) applies.
    - ``metadata.json`` is not read to load a result (joblib treats an unreadable one as empty): harmless.
    """

    def load_item(self, call_id: Any, verbose: int = 1, timestamp: Any = None, metadata: Any = None) -> Any:
        try:
            return super().load_item(call_id, verbose=verbose, timestamp=timestamp, metadata=metadata)
        except Exception as err:
            path = os.path.join(self.location, *call_id)
            warn_damaged(path, err, stacklevel=5)  # the caller of the cached function
            self.clear_item(call_id)
            raise _DamagedEntry(path) from err

    def contains_item(self, call_id: Any) -> bool:
        if super().contains_item(call_id):
            return True
        path = os.path.join(self.location, *call_id)
        if os.path.exists(os.path.join(path, "metadata.json")):  # written after output.pkl: it was there
            warn_damaged(path, FileNotFoundError("output.pkl is missing"), stacklevel=5)
            self.clear_item(call_id)
        return False

    def get_cached_func_code(self, call_id: Any) -> str:
        path = os.path.join(self.location, *call_id, "func_code.py")
        try:
            text = super().get_cached_func_code(call_id)
        except OSError as err:  # a new cache, or a deleted file
            if not _has_entries(os.path.dirname(path)):
                raise
            problem: BaseException | None = FileNotFoundError(f"{err.strerror or err}")
        except ValueError as err:  # undecodable bytes
            problem = err
        else:
            problem = _func_code_problem(text)
            if problem is None:
                return text
        current = _current_func_code(call_id)
        if current is None:  # joblib writes it anew and recomputes this one call
            warn_damaged(path, problem, stacklevel=6)
            Path(path).unlink(missing_ok=True)
            raise OSError(f"damaged {path}")
        warn_damaged(path, problem, stacklevel=6, repair="rewritten from the current code, its entries kept")
        write_text(path, current)
        return current


def _has_entries(folder: str) -> bool:
    """Whether the function folder ``folder`` holds stored results (entry folders)."""
    if not os.path.isdir(folder):
        return False
    with os.scandir(folder) as entries:
        return any(entry.is_dir() for entry in entries)


def _func_code_problem(text: str) -> ValueError | None:
    """Why ``text`` is not a ``func_code.py`` as joblib writes it (None when it is one).

    joblib writes ``"# first line: N\\n"`` and the function's source lines, each ending with a newline
    (or, for a function without source, a hash after ``N = -1``).
    """
    header, newline, code = text.partition("\n")
    number = header.removeprefix(FIRST_LINE_TEXT).strip()
    if not header.startswith(FIRST_LINE_TEXT) or not newline or not number.lstrip("-").isdigit():
        return ValueError("no '# first line: N' header")
    if int(number) == -1:
        return None if code else ValueError("no code")
    if not code.endswith("\n"):
        return ValueError("the code is cut short")
    try:
        compile(textwrap.dedent(code), "func_code.py", "exec")
    except (SyntaxError, ValueError) as err:
        return ValueError(f"the code does not compile: {err}")
    return None


def _current_func_code(call_id: Any) -> str | None:
    """``func_code.py`` as joblib writes it for the function ``call_id[0]``, if it is a module's function."""
    *module, name = str(call_id[0]).split("/")
    func = getattr(sys.modules.get(".".join(module)), name, None)
    if not callable(func):
        return None
    code, _, first_line = get_func_code(func)
    return f"{FIRST_LINE_TEXT} {first_line}\n{code}"


class _ReportedOnce(logging.Filter):
    """Drops joblib's own log of a load failure (a traceback) that :class:`_RepairingStore` reported."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _DamagedEntry.__name__ not in record.getMessage()


_STORE = "knnoise"
joblib.register_store_backend(_STORE, _RepairingStore)
logging.getLogger("joblib").addFilter(_ReportedOnce())


@cache
def _memory(location: str) -> joblib.Memory:
    return joblib.Memory(location, backend=_STORE, verbose=0)


def memory() -> joblib.Memory:
    """A :class:`joblib.Memory` under :func:`~knnoise._io.cache_dir` (re-read each call, so tests can move
    it); a damaged entry is reported once and repaired (:class:`_RepairingStore`)."""
    return _memory(str(cache_dir() / "joblib"))
