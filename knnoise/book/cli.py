"""The runner: ``python -m knnoise.book --profile NAME [--only NOTEBOOK ...] [-p KEY VALUE ...] [--no-build]
[--list] [--force] [--workers N | --scheduler ADDRESS]``.

:func:`run` executes the toc's notebooks for a profile, then builds the book, in named steps: select the
notebooks, merge their parameters (:mod:`knnoise.book.profiles`), validate them against each notebook's
schema (:mod:`knnoise.book.chapters`) before any kernel starts, execute (:mod:`knnoise.book.execute`) only
the notebooks whose code, merged parameters or ``knnoise`` package changed since their last successful
run (the others are restored from jupyter-cache, :mod:`knnoise.book.cache`; ``--force`` executes them all),
write the claims page and the execution table (:mod:`knnoise.book.runs`) and build
(:mod:`knnoise.book.build`). A bad value fails in about a second, with ``"<notebook>: <name> must be
<allowed>, got <value>"``. ``--workers N`` starts a Dask ``LocalCluster`` for
the run and ``--scheduler ADDRESS`` checks an existing one (:func:`knnoise.pipeline.engine.serve`),
before any kernel starts; the address goes to every notebook that declares a ``scheduler`` parameter.
Before any of that, the cache root (``$KNNOISE_CACHE``) and ``book/executed`` are proved writable, and
partial notebooks left by a killed run are removed. The checks before any kernel starts are in
:mod:`knnoise.book.preflight`.

Every expected failure prints one ``error: ...`` line naming the thing and exits 2 (a bad flag, profile,
notebook, value or address; a folder that cannot be written), 1 (a notebook or the build failed) or 130
(Ctrl-C: the partial notebook is removed and the message names the notebook that was running).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knnoise._cli import ErrorLineParser
from knnoise.book import build as _build
from knnoise.book import execute as _execute
from knnoise.book import preflight as _preflight
from knnoise.book import runs as _runs
from knnoise.book.chapters import SCHEMAS
from knnoise.book.errors import BookError, Interrupted
from knnoise.book.profiles import (
    EXECUTED_DIR,
    SOURCES_DIR,
    Merged,
    available_profiles,
    find_root,
    load_profile,
    merge_parameters,
    notebook_parameters,
    parse_cli_value,
    toc_notebooks,
)
from knnoise.book.schema import Schema
from knnoise.pipeline import engine as _engine

__all__ = ["RunResult", "main", "run"]


@dataclass
class RunResult:
    """What :func:`run` did: notebooks executed (with seconds each), those restored from the execution
    cache, and the built index, if any."""

    executed: dict[str, float] = field(default_factory=dict)
    cached: list[str] = field(default_factory=list)
    build_seconds: float | None = None
    html_index: Path | None = None


def run(
    profile: str,
    only: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    build: bool = True,
    *,
    root: str | os.PathLike[str] | None = None,
    progress: bool = True,
    schemas: Mapping[str, Schema] | None = None,
    force: bool = False,
    scheduler: int | str | None = None,
) -> RunResult:
    """Execute the toc's notebooks for a profile, then build the book.

    Parameters
    ----------
    profile : str
        ``smoke``, ``quick``, ``paper`` or any ``notebooks/params/<name>.yml``.
    only : sequence of str, optional
        Run just these notebooks. When building, toc notebooks that have never been executed are run
        too, with the profile's parameters only (not ``overrides``), since the book cannot build without
        them; already executed ones are kept as they are.
    overrides : mapping, optional
        ``-p`` values; each key must be declared by at least one selected notebook, and is passed to those
        that declare it.
    build : bool
        Build the HTML book afterwards.
    root : path, optional
        Repository root (see :func:`~knnoise.book.profiles.find_root`).
    progress : bool
        Show papermill's per-cell progress bars.
    schemas : mapping, optional
        Notebook name -> :class:`~knnoise.book.schema.Schema` (default: the chapters' schemas). A notebook
        without one is not validated here.
    force : bool
        Execute every notebook to run, even those whose last run the execution cache holds.
    scheduler : int or str, optional
        A worker count (a Dask ``LocalCluster`` for this run) or a Dask scheduler's address, handed to the
        notebooks' ``scheduler`` parameter (:func:`knnoise.pipeline.engine.serve`). None: as declared.

    Returns
    -------
    RunResult

    Raises
    ------
    BookError
        A usage or configuration error; :class:`~knnoise.book.schema.ParameterError` for a bad value;
        :class:`~knnoise.book.errors.NotWritable` for a cache root or ``book/executed`` that cannot be
        written. All are raised before any kernel starts.
    NotebookFailed, BuildFailed
    Interrupted
        Ctrl-C; the partial notebook is removed.
    """
    root = find_root(root)
    prof = load_profile(profile, root)
    names = toc_notebooks(root)
    selected = _preflight.selected_notebooks(root, prof, names, only)
    to_run, missing = _preflight.notebooks_to_run(root, names, selected, build=build and bool(only))
    merged = _preflight.merge_all(root, prof, to_run, selected, dict(overrides or {}))
    _preflight.validate_all(merged, SCHEMAS if schemas is None else schemas)
    _preflight.prepare_folders(root)
    if missing:
        print(
            f"note: {', '.join(missing)} not executed yet; running with profile {profile!r} so the "
            "book can build (use --no-build to skip)"
        )
    result = RunResult()
    with _engine.serve(scheduler) as address:  # an unreachable address fails here, before any kernel
        if address is not None:
            print(f"Dask scheduler {address}: the notebooks' sweeps run there", flush=True)
        merged = {n: _with_scheduler(m, address) for n, m in merged.items()}
        _execute_all(root, profile, merged, result, progress=progress, force=force)
    _warn_stale(root, names, set(to_run))
    _build.write_claims_page(root, names)
    _runs.write_table(root, names)  # how each chapter ran (book/execution.md), rows kept for the others
    if build:
        _build_book(root, result)
    return result


def _build_book(root: Path, result: RunResult) -> None:
    """Build the HTML book, recording its index and the seconds taken in ``result``."""
    print(f"building the book: {_build.BUILD_COMMAND}", flush=True)
    start = time.perf_counter()
    try:
        result.html_index = _build.build_book(root)
    except KeyboardInterrupt:
        message = "interrupted while building the book; the executed notebooks are kept"
        raise Interrupted(message) from None
    result.build_seconds = time.perf_counter() - start
    print(f"book built in {result.build_seconds:.1f} s: {result.html_index}", flush=True)


def _with_scheduler(merged: Merged, address: str | None) -> Merged:
    """``merged`` with ``scheduler = address`` where the notebook declares it (unchanged for None)."""
    if address is None or "scheduler" not in merged.values:
        return merged
    return Merged(
        values={**merged.values, "scheduler": address},
        sources={**merged.sources, "scheduler": "--workers/--scheduler"},
        injected={**merged.injected, "scheduler": address},
    )


def _format_value(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _print_parameters(merged: Merged) -> None:
    if not merged.values:
        print("    (no parameters cell)")
        return
    width = max(len(k) for k in merged.values)
    for key, value in merged.values.items():
        print(f"    {key:<{width}} = {_format_value(value):<24} [{merged.sources[key]}]")


def _execute_all(
    root: Path, profile: str, merged: Mapping[str, Merged], result: RunResult, *, progress: bool, force: bool
) -> None:
    for i, (name, m) in enumerate(merged.items(), start=1):
        print(
            f"[{i}/{len(merged)}] {name}: {SOURCES_DIR}/{name}.py -> {EXECUTED_DIR}/{name}.ipynb "
            f"(profile {profile})",
            flush=True,
        )
        _print_parameters(m)
        sys.stdout.flush()
        try:
            _execute_one(root, profile, name, m, result, progress=progress, force=force)
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted while running notebook {name!r} ({SOURCES_DIR}/{name}.py); its partial output "
                f"was removed and {EXECUTED_DIR}/{name}.ipynb left as it was"
            ) from None


def _execute_one(
    root: Path, profile: str, name: str, m: Merged, result: RunResult, *, progress: bool, force: bool
) -> None:
    # the cache's key leaves out where sweeps run (cache.without_engine): any earlier run matches
    if not force and _execute.restore_notebook(name, m.injected, root=root, profile=profile):
        result.cached.append(name)
        print("    unchanged since its last run: restored from the cache (--force executes)", flush=True)
        return
    start = time.perf_counter()
    _execute.execute_notebook(name, m.injected, root=root, profile=profile, progress=progress, cache=True)
    result.executed[name] = time.perf_counter() - start
    print(f"    done in {result.executed[name]:.1f} s", flush=True)


def _warn_stale(root: Path, names: Iterable[str], ran: set[str]) -> None:
    for name in names:
        out = root / EXECUTED_DIR / f"{name}.ipynb"
        src = root / SOURCES_DIR / f"{name}.py"
        if name not in ran and out.exists() and src.stat().st_mtime > out.stat().st_mtime:
            print(
                f"note: {out.relative_to(root)} is older than {src.relative_to(root)}; "
                f"rerun it with --only {name}"
            )


def _list(root: Path, profile: str) -> None:
    prof = load_profile(profile, root)
    names = toc_notebooks(root)
    _preflight.check_profile_notebooks(prof, names)
    for name in names:
        source = root / SOURCES_DIR / f"{name}.py"
        print(f"{name}  ({source.relative_to(root)})")
        if not source.is_file():
            print("    (source missing)")
            continue
        declared = notebook_parameters(source)
        merged = merge_parameters(name, declared, prof.globals, prof.notebooks.get(name))
        width = max((len(k) for k in declared), default=0)
        for key, param in declared.items():
            value = f"{_format_value(merged.values[key], 40)} [{merged.sources[key]}]"
            print(f"    {key:<{width}} = {value:<52} {param.help}")


def _parser() -> argparse.ArgumentParser:
    parser = ErrorLineParser(
        prog="python -m knnoise.book",
        description="Execute the book's notebooks for a parameter profile with papermill, then build "
        f"the HTML book strictly ({_build.BUILD_COMMAND}).",
        epilog="examples:\n"
        "  python -m knnoise.book --profile smoke\n"
        "  python -m knnoise.book --profile quick --only data -p dataset digits\n"
        '  python -m knnoise.book --profile paper --only fig3_knn -p ks "[1, 5, 25]"\n'
        "  python -m knnoise.book --profile quick --list\n"
        "  python -m knnoise.book --profile quick --force  # re-execute even unchanged notebooks\n"
        "  python -m knnoise.book --profile paper --only fig4_dnn --workers 4  # a local Dask cluster\n"
        "  python -m knnoise.book --profile paper --scheduler tcp://HOST:8786  # an existing one",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profile", default="quick", help="notebooks/params/<PROFILE>.yml (default: quick)")
    parser.add_argument(
        "--only",
        nargs="+",
        action="extend",
        metavar="NOTEBOOK",
        help="run only these notebooks (names as in _toc.yml's book/executed/<name>); toc notebooks never "
        "executed before are run too when building",
    )
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("KEY", "VALUE"),
        default=[],
        help="override a parameter; VALUE is YAML (-p ks '[1, 5, 25]', -p dataset digits)",
    )
    parser.add_argument("--no-build", action="store_true", help="execute only; do not build the book")
    parser.add_argument(
        "--force",
        action="store_true",
        help="re-execute every notebook, even those unchanged since their last run (by default their "
        "code, merged parameters and the knnoise package are compared with the execution cache's)",
    )
    engine = parser.add_mutually_exclusive_group()
    engine.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="run the sweeps on a Dask LocalCluster of N worker processes, started for this run",
    )
    engine.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the sweeps on the running Dask scheduler at ADDRESS (tcp://HOST:PORT), e.g. one of "
        "dask-cuda's LocalCUDACluster or of dask-jobqueue's workers",
    )
    parser.add_argument("--list", action="store_true", help="list notebooks and their merged parameters")
    parser.add_argument("--no-progress", action="store_true", help="hide papermill's per-cell progress bar")
    parser.add_argument("--root", help="repository root (default: the current folder)")
    return parser


def _positive_int(text: str) -> int:
    """``--workers``: a whole number from 1 to 4 per CPU (more local worker processes only compete)."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or int(digits) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    cpus = os.cpu_count() or 1
    if len(digits) > 6 or int(digits) > 4 * cpus:
        raise argparse.ArgumentTypeError(
            f"must be at most {4 * cpus} (4 per CPU of this machine: a local cluster), got {text!r}; "
            "use --scheduler ADDRESS for a bigger cluster"
        )
    return int(digits)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status: 0, 1 (a notebook or the build failed), 2 (a
    usage, configuration or input error, one ``error: ...`` line), 130 (Ctrl-C)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _main(parser, args)
    except _engine.EngineError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BookError as err:
        if type(err) is BookError:
            parser.error(str(err))  # exits 2 with the usage line
        print(f"error: {err}", file=sys.stderr)  # a bad value (exit 2), a failed notebook or build (1), ...
        return err.exit_code
    except KeyboardInterrupt:  # outside a notebook's run (which names it: Interrupted)
        print("error: interrupted", file=sys.stderr)
        return 130


def _main(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    root = find_root(args.root)
    profiles = available_profiles(root)
    if args.profile not in profiles:
        parser.error(f"unknown profile {args.profile!r}; allowed: {', '.join(profiles) or '(none)'}")
    if args.list:
        _list(root, args.profile)
        return 0
    overrides = {key: parse_cli_value(value) for key, value in args.parameter}
    try:
        scheduler = _engine.parse(args.workers or args.scheduler)
    except ValueError as err:
        parser.error(f"argument --scheduler: {err}")
    result = run(
        args.profile,
        only=args.only,
        overrides=overrides,
        build=not args.no_build,
        root=root,
        progress=not args.no_progress,
        force=args.force,
        scheduler=scheduler,
    )
    total = sum(result.executed.values())
    restored = f", restored {len(result.cached)} unchanged from the cache" if result.cached else ""
    print(f"executed {len(result.executed)} notebook(s) in {total:.1f} s{restored}", flush=True)
    return 0
