"""The runner's errors; each carries the exit status of ``python -m knnoise.book``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["BookError", "BuildFailed", "Interrupted", "NotWritable", "NotebookFailed", "ParameterError"]


class BookError(Exception):
    """A usage or configuration error (unknown profile, notebook or parameter); exit status 2."""

    exit_code = 2


class NotWritable(BookError):
    """A folder the run writes to (the cache root, ``book/executed``) cannot be written; exit status 2.

    Found before any notebook runs; the message names the folder and why.
    """


class Interrupted(BookError, KeyboardInterrupt):
    """Ctrl-C: the run stopped, its partial files removed; exit status 130. The message says what was
    running. A ``KeyboardInterrupt`` too, so that code stopping on Ctrl-C still stops."""

    exit_code = 130


class NotebookFailed(BookError):
    """A notebook raised while executing; exit status 1. The partial output is kept for inspection."""

    exit_code = 1

    def __init__(self, message: str, notebook: str, failed_path: Path | None) -> None:
        super().__init__(message)
        self.notebook = notebook
        self.failed_path = failed_path


class BuildFailed(BookError):
    """``jupyter-book build`` exited non-zero (a warning in strict mode counts); exit status 1."""

    exit_code = 1


class ParameterError(BookError, ValueError):
    """A value a notebook's parameter schema does not allow: a ``ValueError`` too; exit status 2.

    ``notebook`` and ``name`` say which parameter, when the error is about one.
    """

    def __init__(self, message: str, *, notebook: str | None = None, name: str | None = None) -> None:
        super().__init__(message)
        self.notebook = notebook
        self.name = name

    @classmethod
    def invalid(cls, notebook: str, name: str, allowed: object, value: Any) -> ParameterError:
        """The one message format: ``"<notebook>: <name> must be <allowed>, got <value>"``."""
        return cls(f"{notebook}: {name} must be {allowed}, got {value!r}", notebook=notebook, name=name)
