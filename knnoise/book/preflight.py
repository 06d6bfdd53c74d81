"""What the runner checks before any kernel starts: which notebooks run with which parameters, and where.

In the order :func:`knnoise.book.cli.run` calls them: :func:`selected_notebooks` (the toc, the profile and
``--only`` agree), :func:`notebooks_to_run` (plus, when building, the toc's never-executed notebooks),
:func:`merge_all` (each notebook's parameters: defaults < globals < the profile's notebook < ``-p``),
:func:`validate_all` (every merged value against its notebook's schema) and :func:`prepare_folders` (the
cache root and ``book/executed`` proved writable; partial notebooks of killed runs removed). Each raises a
:class:`~knnoise.book.errors.BookError` naming the thing, so a bad value fails in about a second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from knnoise._outputs import FolderNotWritable, ensure_cache_root, ensure_folder
from knnoise.book.errors import BookError, NotWritable
from knnoise.book.partials import remove_stale_partials
from knnoise.book.profiles import (
    EXECUTED_DIR,
    SOURCES_DIR,
    Merged,
    Profile,
    _did_you_mean,
    merge_parameters,
    notebook_parameters,
)
from knnoise.book.schema import ParameterError, Schema, validate

__all__ = [
    "check_profile_notebooks",
    "merge_all",
    "notebooks_to_run",
    "prepare_folders",
    "selected_notebooks",
    "validate_all",
]


def check_profile_notebooks(prof: Profile, names: list[str]) -> None:
    """Raise :class:`BookError` when the profile has overrides for a notebook that is not in the toc."""
    unknown_nb = sorted(set(prof.notebooks) - set(names))
    if unknown_nb:
        listed = ", ".join(map(repr, unknown_nb))
        raise BookError(
            f"profile {prof.name!r} has overrides for unknown notebook(s) {listed}; "
            f"notebooks in _toc.yml: {', '.join(names) or '(none)'}"
        )


def selected_notebooks(root: Path, prof: Profile, names: list[str], only: Sequence[str] | None) -> list[str]:
    """The notebooks asked for (all of the toc ``names`` by default), after checking the toc and the
    profile."""
    check_profile_notebooks(prof, names)
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


def notebooks_to_run(
    root: Path, names: list[str], selected: list[str], *, build: bool
) -> tuple[list[str], list[str]]:
    """The notebooks to execute, in toc order, and which of them were added because they never ran."""
    if not build:
        return list(selected), []
    missing = [n for n in names if n not in selected and not (root / EXECUTED_DIR / f"{n}.ipynb").exists()]
    return [n for n in names if n in selected or n in missing], missing


def merge_all(
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


def validate_all(merged: Mapping[str, Merged], schemas: Mapping[str, Schema]) -> None:
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


def prepare_folders(root: Path) -> None:
    """The cache root and ``book/executed`` can be written (a probe file is written, synced, read back and
    deleted; each is made if missing), and the partial notebooks of killed runs go.

    Raises
    ------
    NotWritable
        ``"<the folder> is not writable: <reason>"``.
    """
    try:
        ensure_cache_root()
        folder = root / EXECUTED_DIR
        ensure_folder(folder, f"the book's output folder {folder}")
    except FolderNotWritable as err:
        raise NotWritable(str(err)) from None
    removed = remove_stale_partials(root)
    if removed:
        print(
            f"note: removed {len(removed)} partial notebook(s) left in {EXECUTED_DIR} by a run that was "
            f"killed: {', '.join(p.name for p in removed)}",
            flush=True,
        )
