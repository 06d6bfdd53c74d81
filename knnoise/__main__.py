"""``python -m knnoise COMMAND``: the package's command line (``--help`` lists the commands).

* ``predict``: a network's accuracy under label noise from its clean softmax (:mod:`knnoise.predict.cli`).

The book has its own runner, ``python -m knnoise.book``. A bad argument or file prints ``error: ...``
(no traceback) and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from knnoise.predict import cli as _predict

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as ``error: ...`` lines (exit status 2), as the commands' own."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"error: {message}\n")


def parser() -> argparse.ArgumentParser:
    """The top-level parser, one subparser per command."""
    top = _Parser(prog="python -m knnoise", description="knnoise: label noise in K-NN and DNN (Drory et al.)")
    commands = top.add_subparsers(title="commands", dest="command", metavar="COMMAND", required=True)
    _predict.add_parser(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit status (2 for a bad argument or file)."""
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except _predict.CommandError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
