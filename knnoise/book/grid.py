"""``python -m knnoise.book.grid``: fill a chapter's paper-scale results table within a time budget.

    python -m knnoise.book.grid --profile paper --budget 9m            # a GPU lease: as much as fits
    python -m knnoise.book.grid --profile paper --workers 4            # a local Dask cluster, no budget
    python -m knnoise.book.grid --profile quick --budget 10m -p repeats 3
    python -m knnoise.book.grid --profile quick --group 4                # stacked groups of 4 networks

The chapter's parameters come from the profile exactly as the runner merges and validates them (defaults <
globals < the profile's notebook overrides < ``-p``), so the grid trains the very networks (the same cache
entries) the chapter's sweep would; :func:`knnoise.pipeline.grid.run_grid` trains those that no table in
``--out`` (default: the profile's ``save_results`` for the chapter) holds yet, breadth first, and
appends a row per finished network to a new table there. Rerun it, here or on another machine, until it
reports nothing missing; then ``python -m knnoise.book --only fig4_dnn`` draws the tables. Errors print one
``error: ...`` line and exit with status 2 (130 on Ctrl-C, after which every finished row is kept).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from knnoise._cli import EXIT_ERROR, EXIT_INTERRUPTED, ErrorLineParser
from knnoise.book.chapters import SCHEMAS
from knnoise.book.errors import BookError
from knnoise.book.preflight import merge_all, validate_all
from knnoise.book.profiles import find_root, load_profile, parse_cli_value
from knnoise.book.schema import derive, validate
from knnoise.pipeline.params import Params

__all__ = ["GRID_NOTEBOOKS", "main", "parse_budget", "grid_parameters"]

GRID_NOTEBOOKS = ("fig4_dnn",)
"""The chapters whose sweeps the grid command fills."""
_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*$", re.IGNORECASE)
_UNIT = {None: 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_budget(text: str) -> float:
    """``"9m"`` -> 540.0 seconds (units s, m or min, h; none: seconds).

    Raises
    ------
    ValueError
        ``"--budget must be a duration such as 90s, 9m or 1.5h, got ..."``.
    """
    match = _BUDGET.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"--budget must be a positive duration such as 90s, 9m or 1.5h, got {text!r}")
    unit = match.group(2).lower() if match.group(2) else None
    return float(match.group(1)) * _UNIT[unit]


def grid_parameters(
    profile: str, notebook: str = "fig4_dnn", overrides: dict | None = None, root=None
) -> Params:
    """The chapter's parameters under ``profile`` and ``-p`` ``overrides`` (with the derived ``schedule``
    and ``data``), as its setup cell would make them; merged and checked by the runner's own steps
    (:mod:`knnoise.book.preflight`), so a bad value gets the runner's message."""
    root = find_root(root)
    merged = merge_all(root, load_profile(profile, root), [notebook], [notebook], dict(overrides or {}))
    validate_all(merged, SCHEMAS)
    schema = SCHEMAS[notebook]
    values = validate(schema, {name: merged[notebook].values[name] for name in schema.params})
    return Params(notebook, {**values, **derive(schema, values)})


def _parser() -> argparse.ArgumentParser:
    parser = ErrorLineParser(
        prog="python -m knnoise.book.grid",
        description="Train the networks of a chapter's paper-scale grid that no results table holds yet, "
        "breadth first, within a wall-time budget; every finished network is appended to a new table.",
    )
    parser.add_argument("--profile", default="paper", help="notebooks/params/<PROFILE>.yml (default: paper)")
    parser.add_argument("--only", default="fig4_dnn", choices=GRID_NOTEBOOKS, help="the chapter (fig4_dnn)")
    parser.add_argument("--budget", type=_budget_arg, help="wall time, e.g. 9m (default: until complete)")
    parser.add_argument("--out", help="the folder of results tables (default: the profile's save_results)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                        help="override a parameter (VALUE is YAML)")  # fmt: skip
    engine = parser.add_mutually_exclusive_group()
    engine.add_argument("--workers", type=int, metavar="N", help="a Dask LocalCluster of N workers")
    engine.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler (tcp://HOST:PORT)")
    engine.add_argument("--group", type=_group_arg, metavar="N", help="networks per stacked group in this "
                        "process (default: as many as fit on a GPU, 1 on the CPU; a larger N than fits "
                        "runs out of memory)")  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--root", help="repository root (default: the current folder)")
    return parser


def _budget_arg(text: str) -> float:
    try:
        return parse_budget(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("--budget ")) from None


def _group_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _prepare(args: argparse.Namespace) -> tuple[Params, Path, int | str | None]:
    """The chapter's parameters, the tables' folder and the engine, all checked before anything is
    trained (a bad value, an unwritable folder or cache root, a damaged committed table)."""
    from knnoise._outputs import check_writable_folder, ensure_cache_root
    from knnoise.pipeline import engine, paper_results

    root = find_root(args.root)
    overrides = {key: parse_cli_value(value) for key, value in args.parameter}
    params = grid_parameters(args.profile, args.only, overrides, root)
    if not (args.out or params.save_results):
        raise BookError(f"profile {args.profile!r} sets no save_results for {args.only}: pass --out FOLDER")
    folder = root / (args.out or params.save_results)
    check_writable_folder(folder, "--out")
    paper_results.load_tables(folder)
    ensure_cache_root()
    return params, folder, engine.parse(args.workers or args.scheduler)


def _run(args: argparse.Namespace) -> int:
    from knnoise._outputs import FolderNotWritable
    from knnoise.pipeline import engine, grid

    try:
        params, folder, target = _prepare(args)
    except (BookError, ValueError, FolderNotWritable) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    try:
        with engine.executor(target) as ex:
            report = grid.run_grid(params, folder=folder, budget=args.budget, executor=ex,
                                   slots=engine.worker_count(ex), group=args.group,
                                   progress=not args.no_progress)  # fmt: skip
    except engine.EngineError as err:  # no scheduler there, or workers that cannot use the cache root
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    _print(report, folder)
    return 0


def _print(report: Any, folder: Any) -> None:
    where = f"; its rows are in {report.table}" if report.table else ""
    print(f"trained {report.trained} network(s) in {report.seconds:.0f} s{where}")
    if report.missing:
        why = "the budget is spent" if report.stopped_by_budget else "stopped"
        print(f"{report.missing} of {report.total} network(s) still missing ({why}): run the command again")
    else:
        print(f"the grid is complete: {report.total} network(s) in the tables under {folder}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("error: interrupted (every finished network's row is kept)", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
