"""What every command line of the package shares: the exit statuses and a parser whose usage errors are
one ``error: ...`` line (``python -m knnoise``, ``python -m knnoise.book``, ``python -m knnoise.book.grid``).
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "ErrorLineParser"]

EXIT_ERROR = 2
"""Exit status of an expected failure (a bad argument or file, an output that cannot be written)."""
EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT, as a shell reports it)."""


class ErrorLineParser(argparse.ArgumentParser):
    """argparse, with a usage error as one ``error: ...`` line after the usage (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"error: {message.replace(chr(10), '  ')}\n")  # one line, whatever the input
