"""The runner: ``python -m knnoise.book --profile NAME [--only NOTEBOOK ...] [-p KEY VALUE ...] [--no-build]
[--list] [--force] [--workers N | --scheduler ADDRESS]``.

:func:`run` executes the toc's notebooks for a profile, then builds the book, in named steps: select the
notebooks, merge their parameters (:mod:`knnoise.book.profiles`), validate them against each notebook's
schema (:mod:`knnoise.book.chapters`) before any kernel starts, execute (:mod:`knnoise.book.execute`) only
the notebooks whose code, merged parameters or ``knnoise`` package changed since their last successful
run (the others are restored from jupyter-cache, :mod:`knnoise.book.cache`; ``--force`` executes them all),
write the claims page and build (:mod:`knnoise.book.build`). A bad value fails in about a second, with
``"<notebook>: <name> must be <allowed>, got <value>"``. ``--workers N`` starts a Dask ``LocalCluster`` for
the run and ``--scheduler ADDRESS`` checks an existing one (:func:`knnoise.experiments.engine.serve`),
before any kernel starts; the address goes to every notebook that declares a ``scheduler`` parameter.
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

from knnoise.book import build as _build
from knnoise.book import execute as _execute
from knnoise.book.chapters import SCHEMAS
from knnoise.book.errors import BookError
from knnoise.book.profiles import (
    EXECUTED_DIR,
    SOURCES_DIR,
    Merged,
    Profile,
    _did_you_mean,
    available_profiles,
    find_root,
    load_profile,
    merge_parameters,
    notebook_parameters,
    parse_cli_value,
    toc_notebooks,
)
from knnoise.book.schema import ParameterError, Schema, validate
from knnoise.experiments import engine as _engine

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
        notebooks' ``scheduler`` parameter (:func:`knnoise.experiments.engine.serve`). None: as declared.

    Returns
    -------
    RunResult

    Raises
    ------
    BookError
        A usage or configuration error; :class:`~knnoise.book.schema.ParameterError` for a bad value. Both
        are raised before any kernel starts.
    NotebookFailed, BuildFailed
    """
    root = find_root(root)
    prof = load_profile(profile, root)
    names = toc_notebooks(root)
    selected = _selected(root, prof, names, only)
    to_run, missing = _to_run(root, names, selected, build=build and bool(only))
    merged = _merge_all(root, prof, to_run, selected, dict(overrides or {}))
    _validate_all(merged, SCHEMAS if schemas is None else schemas)
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
    if build:
        print(f"building the book: {_build.BUILD_COMMAND}", flush=True)
        start = time.perf_counter()
        result.html_index = _build.build_book(root)
        result.build_seconds = time.perf_counter() - start
        print(f"book built in {result.build_seconds:.1f} s: {result.html_index}", flush=True)
    return result


def _selected(root: Path, prof: Profile, names: list[str], only: Sequence[str] | None) -> list[str]:
    """The notebooks asked for (all of the toc by default), after checking the toc and the profile."""
    unknown_nb = sorted(set(prof.notebooks) - set(names))
    if unknown_nb:
        listed = ", ".join(map(repr, unknown_nb))
        raise BookError(
            f"profile {prof.name!r} has overrides for unknown notebook(s) {listed}; "
            f"notebooks in _toc.yml: {', '.join(names) or '(none)'}"
        )
    selected = list(dict.fromkeys(only)) if only else list(names)
    bad = [n for n in selected if n not in names]
    if bad:
        raise BookError(
            f"unknown notebook {bad[0]!r}; notebooks in _toc.yml: {', '.join(names) or '(none)'}"
            + _did_you_mean(bad[0], names)
        )
    for name in names:
        if not (root / SOURCES_DIR / f"{name}.py").is_file():
            raise BookError(
                f"_toc.yml lists {EXECUTED_DIR}/{name} but {SOURCES_DIR}/{name}.py does not exist"
            )
    return selected


def _to_run(root: Path, names: list[str], selected: list[str], *, build: bool) -> tuple[list[str], list[str]]:
    """The notebooks to execute, in toc order, and which of them were added because they never ran."""
    if not build:
        return list(selected), []
    missing = [n for n in names if n not in selected and not (root / EXECUTED_DIR / f"{n}.ipynb").exists()]
    return [n for n in names if n in selected or n in missing], missing


def _merge_all(
    root: Path, prof: Profile, to_run: list[str], selected: list[str], overrides: dict[str, Any]
) -> dict[str, Merged]:
    """Each notebook's merged parameters; ``overrides`` (``-p``) go to the selected notebooks only."""
    declared = {n: notebook_parameters(root / SOURCES_DIR / f"{n}.py") for n in to_run}
    declared_selected = {k for n in selected for k in declared[n]}
    for key in overrides:
        if key not in declared_selected:
            allowed = ", ".join(sorted(declared_selected)) or "(none)"
            raise BookError(
                f"unknown parameter {key!r} for notebook(s) {', '.join(map(repr, selected))}; "
                f"allowed: {allowed}" + _did_you_mean(key, declared_selected)
            )
    return {
        n: merge_parameters(
            n,
            declared[n],
            prof.globals,
            prof.notebooks.get(n),
            {k: v for k, v in overrides.items() if k in declared[n]} if n in selected else None,
        )
        for n in to_run
    }


def _validate_all(merged: Mapping[str, Merged], schemas: Mapping[str, Schema]) -> None:
    """Check every notebook's merged values against its schema: the first bad one raises.

    The notebook's parameters cell and its schema must declare the same names. Defaults that are not
    literals (never injected) are left to the notebook's setup cell.
    """
    for name, m in merged.items():
        schema = schemas.get(name)
        if schema is None:
            continue
        cell_only = [k for k in m.values if k not in schema.params]
        schema_only = [k for k in schema.params if k not in m.values]
        if cell_only or schema_only:
            raise BookError(
                f"{name}: the parameters cell of {SOURCES_DIR}/{name}.py and its schema disagree: "
                f"only in the cell: {', '.join(cell_only) or '-'}; only in the schema: "
                f"{', '.join(schema_only) or '-'}"
            )
        try:
            validate(schema, m.injected, partial=True)
        except ParameterError as err:
            if err.name not in m.sources:
                raise
            where = {
                "default": "the notebook's default",
                "globals": "the profile's globals",
                "profile": f"the profile's notebooks.{name}",
            }.get(m.sources[err.name], m.sources[err.name])
            raise ParameterError(f"{err} (from {where})", notebook=name, name=err.name) from None


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
        # the cache's key leaves out where sweeps run (cache.without_engine): any earlier run matches
        if not force and _execute.restore_notebook(name, m.injected, root=root, profile=profile):
            result.cached.append(name)
            print("    unchanged since its last run: restored from the cache (--force executes)", flush=True)
            continue
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
    for name in toc_notebooks(root):
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
    parser = argparse.ArgumentParser(
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
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
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
            parser.error(str(err))
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
    except _engine.EngineError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BookError as err:
        if type(err) is BookError:
            parser.error(str(err))  # exits 2 with the usage line
        print(f"error: {err}", file=sys.stderr)  # a bad value (exit 2), a failed notebook or build (1)
        return err.exit_code
    total = sum(result.executed.values())
    restored = f", restored {len(result.cached)} unchanged from the cache" if result.cached else ""
    print(f"executed {len(result.executed)} notebook(s) in {total:.1f} s{restored}", flush=True)
    return 0
