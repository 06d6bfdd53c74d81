"""``python -m knnoise COMMAND``: the package's command line (``--help`` lists the commands).

* ``predict``: a network's accuracy under label noise from its clean softmax (:mod:`knnoise.predict.cli`).

The book has its own runner, ``python -m knnoise.book``. Every command fails the same way: a bad argument
or file, or an output that cannot be written, prints one ``error: ...`` line naming it (no traceback) and
exits with status 2; Ctrl-C prints ``error: interrupted`` and exits with status 130, leaving no partial
output file (outputs are written into temporary files and renamed into place only once complete).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from contextlib import suppress

from knnoise._cli import EXIT_ERROR, EXIT_INTERRUPTED, ErrorLineParser
from knnoise.predict import cli as _predict

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "main"]


def parser() -> argparse.ArgumentParser:
    """The top-level parser, one subparser per command."""
    top = ErrorLineParser(
        prog="python -m knnoise", description="knnoise: label noise in K-NN and DNN (Drory et al.)"
    )
    commands = top.add_subparsers(title="commands", dest="command", metavar="COMMAND", required=True)
    _predict.add_parser(commands)
    return top


def _fail(message: str, status: int) -> int:
    """Print one ``error:`` line on stderr; returns ``status``."""
    with suppress(OSError, ValueError):  # a closed stdout must not hide the error
        sys.stdout.flush()
    print(f"error: {message}", file=sys.stderr)
    return status


def _quiet_stdout() -> None:
    """After a closed pipe (``... | head``): send what is left of stdout to devnull, so that Python's
    final flush does not fail again."""
    with suppress(OSError, ValueError):  # no file descriptor (a captured stdout): nothing to redirect
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit status (0; 2 for a bad argument, file or output; 130 on Ctrl-C).

    Usage errors (argparse) raise :class:`SystemExit` with status 2 after their ``error:`` line.
    """
    try:
        args = parser().parse_args(argv)
        return args.run(args)
    except _predict.CommandError as err:
        return _fail(str(err), EXIT_ERROR)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:  # the reader of stdout went away: nothing left to tell it
        _quiet_stdout()
        return 1
    except OSError as err:  # an unexpected failure to read or write a file: name it, no traceback
        where = f" {err.filename!r}" if err.filename else ""
        return _fail(f"a file could not be read or written{where} ({err.strerror or err})", EXIT_ERROR)


if __name__ == "__main__":
    sys.exit(main())
