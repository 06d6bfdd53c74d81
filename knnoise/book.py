"""Execute the book's notebooks for a parameter profile with papermill, then build the book.

``python -m knnoise.book --profile NAME [--only NOTEBOOK ...] [-p KEY VALUE ...] [--no-build] [--list]``

The notebooks are the ``_toc.yml`` entries under ``book/executed/``: the entry ``book/executed/<name>`` is
made from the jupytext source ``notebooks/<name>.py``. Jupyter Book has no parameterised builds, so the
book itself executes nothing (``execute_notebooks: "off"``): this module runs each source with papermill,
writes ``book/executed/<name>.ipynb`` atomically, and then runs
``jupyter-book build . -W -n --keep-going --all``.

Parameters are merged, lowest priority first, from the notebook's ``parameters`` cell (its defaults),
the profile's ``globals`` (passed only to notebooks that declare the key), the profile's per-notebook
overrides, and ``-p KEY VALUE`` on the command line (values parsed as YAML, like papermill's ``-y``).
An override or ``-p`` key that no selected notebook declares is an error.

Profiles live in ``notebooks/params/<profile>.yml``::

    globals:            # applied to every notebook that declares the key
      dataset: digits
    notebooks:          # per-notebook overrides; every key must be declared by that notebook
      data:
        n_examples: 5
"""

from __future__ import annotations

import argparse
import ast
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knnoise.results import RESULTS_ENV, write_results_page

__all__ = [
    "BookError",
    "BuildFailed",
    "Merged",
    "NotebookFailed",
    "Parameter",
    "Profile",
    "RunResult",
    "available_profiles",
    "build_book",
    "execute_notebook",
    "find_root",
    "load_profile",
    "main",
    "merge_parameters",
    "notebook_parameters",
    "parse_cli_value",
    "read_source",
    "run",
    "toc_notebooks",
]

EXECUTED_DIR = Path("book/executed")
RESULTS_DIR = EXECUTED_DIR / "results"  # each chapter's recorded key results (knnoise.results)
RESULTS_PAGE = EXECUTED_DIR / "results.md"  # the intro's claims table, generated from them
SOURCES_DIR = Path("notebooks")
PROFILES_DIR = Path("notebooks/params")
FAILED_DIR = Path("_build/failed")
HTML_INDEX = Path("_build/html/index.html")
KERNEL_NAME = "python3"
KERNELSPEC = {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}
PROFILE_KEYS = ("globals", "notebooks")


class BookError(Exception):
    """A usage or configuration error (unknown profile, notebook or parameter); exit status 2."""

    exit_code = 2


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


@dataclass(frozen=True)
class Parameter:
    """One assignment in a notebook's ``parameters`` cell.

    ``default`` is the literal value, or the source text when the expression is not a Python literal
    (``literal`` is then False and the runner never re-injects it).
    """

    name: str
    default: Any
    help: str = ""
    literal: bool = True


@dataclass
class Profile:
    """A parameter profile: global parameters plus per-notebook overrides."""

    name: str
    globals: dict[str, Any] = field(default_factory=dict)
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: Path | None = None


@dataclass
class Merged:
    """Merged parameters of one notebook.

    Attributes
    ----------
    values : dict
        Every declared parameter with its final value.
    sources : dict
        Where each value came from: ``default``, ``globals``, ``profile`` or ``-p``.
    injected : dict
        What papermill injects: every value that is a literal (defaults included, so the executed
        notebook's injected-parameters cell lists the complete merged set).
    """

    values: dict[str, Any]
    sources: dict[str, str]
    injected: dict[str, Any]


@dataclass
class RunResult:
    """What :func:`run` did: notebooks executed (with seconds each) and the built index, if any."""

    executed: dict[str, float] = field(default_factory=dict)
    build_seconds: float | None = None
    html_index: Path | None = None


# ----------------------------------------------------------------------------------------------------
# Locating things


def find_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Return the book's root folder (the one holding ``_toc.yml``).

    Parameters
    ----------
    root : path, optional
        Explicit root. By default the current directory if it holds ``_toc.yml``, else the repository
        this package was installed from (editable install).
    """
    if root is not None:
        path = Path(root).resolve()
        if not (path / "_toc.yml").is_file():
            raise BookError(f"no _toc.yml in {path}")
        return path
    for candidate in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (candidate / "_toc.yml").is_file():
            return candidate.resolve()
    raise BookError("cannot find the book: run from the repository root (the folder holding _toc.yml)")


def _toc_files(entries: Iterable[Any]) -> list[str]:
    files: list[str] = []
    for entry in entries or []:
        if not isinstance(entry, Mapping):
            continue
        if "file" in entry:
            files.append(str(entry["file"]))
        for key in ("parts", "chapters", "sections"):
            files.extend(_toc_files(entry.get(key) or []))
    return files


def toc_notebooks(root: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the executed notebooks listed in ``_toc.yml``, in the book's order.

    An entry ``book/executed/<name>`` (with or without ``.ipynb``) names the source
    ``notebooks/<name>.py``; other entries are prose pages and are only built.
    """
    root = find_root(root)
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8")) or {}
    files = [str(toc["root"])] if "root" in toc else []
    files += _toc_files([toc])
    names: list[str] = []
    prefix = EXECUTED_DIR.as_posix() + "/"
    for file in files:
        file = file.removesuffix(".ipynb")
        if file.startswith(prefix):
            name = file[len(prefix) :]
            if name not in names:
                names.append(name)
    return names


def available_profiles(root: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the profiles in ``notebooks/params/*.yml``."""
    folder = find_root(root) / PROFILES_DIR
    return sorted(p.stem for p in folder.glob("*.yml"))


# ----------------------------------------------------------------------------------------------------
# Profiles and parameters


def load_profile(name: str, root: str | os.PathLike[str] | None = None) -> Profile:
    """Read ``notebooks/params/<name>.yml``.

    Raises
    ------
    BookError
        If the profile does not exist (the message lists those that do) or is malformed.
    """
    root = find_root(root)
    allowed = available_profiles(root)
    if name not in allowed:
        raise BookError(f"unknown profile {name!r}; allowed: {', '.join(allowed) or '(none found)'}")
    path = root / PROFILES_DIR / f"{name}.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, Mapping):
        raise BookError(f"{path}: a profile is a mapping with keys {', '.join(PROFILE_KEYS)}")
    unknown = sorted(set(data) - set(PROFILE_KEYS))
    if unknown:
        raise BookError(
            f"{path}: unknown key(s) {', '.join(map(repr, unknown))}; allowed: globals, notebooks"
        )
    globals_ = data.get("globals") or {}
    notebooks = data.get("notebooks") or {}
    if not isinstance(globals_, Mapping) or not isinstance(notebooks, Mapping):
        raise BookError(f"{path}: 'globals' and 'notebooks' must be mappings")
    for nb, overrides in notebooks.items():
        if overrides is not None and not isinstance(overrides, Mapping):
            raise BookError(f"{path}: notebooks.{nb} must be a mapping of parameter: value")
    return Profile(
        name=name,
        globals=dict(globals_),
        notebooks={str(nb): dict(overrides or {}) for nb, overrides in notebooks.items()},
        path=path,
    )


def read_source(path: str | os.PathLike[str]) -> Any:
    """Read a jupytext source into an in-memory notebook with the ``python3`` kernelspec.

    Returns
    -------
    nbformat.NotebookNode
    """
    import jupytext

    nb = jupytext.read(path)
    nb.metadata.pop("jupytext", None)  # the executed notebook is an artefact, not a paired twin
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.setdefault("language_info", {"name": "python"})
    return nb


def _parameters_cell(nb: Any) -> Any | None:
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return cell
    return None


def _as_python(source: str) -> str:
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return source
    return TransformerManager().transform_cell(source)


def notebook_parameters(notebook: Any) -> dict[str, Parameter]:
    """The parameters a notebook declares: the assignments in its cell tagged ``parameters``.

    Parameters
    ----------
    notebook : path or nbformat.NotebookNode
        A jupytext source (``.py``), an ``.ipynb`` or an in-memory notebook.

    Returns
    -------
    dict
        name -> :class:`Parameter`, in the cell's order; empty when there is no parameters cell.
    """
    nb = read_source(notebook) if isinstance(notebook, (str, os.PathLike)) else notebook
    cell = _parameters_cell(nb)
    if cell is None:
        return {}
    source = _as_python(cell.source)
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise BookError(f"the parameters cell does not parse: {err}") from err
    lines = source.splitlines()
    params: dict[str, Parameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        try:
            default, literal = ast.literal_eval(value), True
        except ValueError:
            default, literal = ast.get_source_segment(source, value), False
        tail = lines[node.end_lineno - 1][node.end_col_offset :].strip()
        help_ = tail[1:].strip() if tail.startswith("#") else ""
        for target in targets:
            if isinstance(target, ast.Name):
                params[target.id] = Parameter(target.id, default, help_, literal)
    return params


def parse_cli_value(text: str) -> Any:
    """Parse a ``-p`` value as YAML: ``"[1, 5, 25]"`` -> list, ``0.5`` -> float, ``digits`` -> str."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _did_you_mean(key: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown(key: str, notebook: str, declared: Iterable[str], where: str) -> BookError:
    declared = list(declared)
    allowed = ", ".join(declared) or "(it declares no parameters)"
    return BookError(
        f"unknown parameter {key!r} for notebook {notebook!r} ({where}); allowed: {allowed}"
        + _did_you_mean(key, declared)
    )


def merge_parameters(
    notebook: str,
    declared: Mapping[str, Parameter],
    profile_globals: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    cli: Mapping[str, Any] | None = None,
) -> Merged:
    """Merge a notebook's parameters: defaults < profile globals < per-notebook overrides < ``cli``.

    A global key the notebook does not declare is skipped. An override or ``cli`` key it does not
    declare raises :class:`BookError` naming the key, the notebook and the allowed names.
    """
    values = {name: p.default for name, p in declared.items()}
    sources = dict.fromkeys(declared, "default")
    for key, value in (profile_globals or {}).items():
        if key in declared:
            values[key], sources[key] = value, "globals"
    for where, layer in (("profile", overrides), ("-p", cli)):
        for key, value in (layer or {}).items():
            if key not in declared:
                raise _unknown(key, notebook, declared, f"from {where}")
            values[key], sources[key] = value, where
    injected = {k: v for k, v in values.items() if sources[k] != "default" or declared[k].literal}
    return Merged(values=values, sources=sources, injected=injected)


# ----------------------------------------------------------------------------------------------------
# Executing


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return "(empty cell)"


def _source_line(source_file: Path, cell_source: str) -> int | None:
    """Line number of a cell's first non-blank line in its jupytext source (best effort)."""
    first = _first_line(cell_source)
    try:
        for number, line in enumerate(source_file.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip() == first:
                return number
    except OSError:
        pass
    return None


def _describe_failure(name: str, source_file: Path, nb: Any, err: Any, root: Path) -> str:
    index = err.cell_index
    cells = nb.cells if nb is not None else []
    # Number the cell as in the source: papermill's injected-parameters cell is not one of them.
    injected = sum(1 for c in cells[:index] if "injected-parameters" in c.get("metadata", {}).get("tags", []))
    number = index - injected + 1
    line = _source_line(source_file, err.source)
    shown = _display_path(source_file, root)
    where = f"{shown}:{line}" if line else shown
    return (
        f"notebook {name!r} failed in cell {number} (In [{err.exec_count}], {where}): "
        f"{_first_line(err.source)}\n  {err.ename}: {err.evalue}"
    )


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else repr(value)


def execute_notebook(
    name: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
    source: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    profile: str | None = None,
    progress: bool = True,
) -> Path:
    """Execute one notebook with papermill and write it atomically.

    Parameters
    ----------
    name : str
        Notebook name (``notebooks/<name>.py`` -> ``book/executed/<name>.ipynb`` by default).
    parameters : mapping, optional
        Values papermill injects after the ``parameters`` cell.
    root : path, optional
        Repository root; the kernel's working directory, so relative cache paths are shared.
    source, output : path, optional
        Override the source and output paths.
    profile : str, optional
        Recorded in the executed notebook's metadata.
    progress : bool
        Show papermill's per-cell progress bar.

    Returns
    -------
    Path
        The executed notebook.

    Raises
    ------
    NotebookFailed
        A cell raised, or the kernel died; the partial notebook is kept in ``_build/failed/<name>.ipynb``.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    root = find_root(root)
    source = Path(source) if source is not None else root / SOURCES_DIR / f"{name}.py"
    output = Path(output) if output is not None else root / EXECUTED_DIR / f"{name}.ipynb"
    if not source.is_file():
        raise BookError(f"notebook {name!r}: source {source} does not exist")
    nb = read_source(source)
    nb.metadata["knnoise"] = {
        "profile": profile,
        "source": _display_path(source, root),
        "parameters": {k: _jsonable(v) for k, v in (parameters or {}).items()},
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    # Same folder, so os.replace is atomic; the book never sees a half-written notebook (the toc names
    # only <name>, and _config.yml excludes "**.partial.ipynb").
    fd, tmp_name = tempfile.mkstemp(dir=output.parent, prefix=f".{name}.", suffix=".partial.ipynb")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            with _kernel_environment(root / RESULTS_DIR):
                papermill.execute_notebook(
                    nb,
                    str(tmp),
                    parameters=dict(parameters or {}),
                    kernel_name=KERNEL_NAME,
                    progress_bar=progress,
                    cwd=str(root),
                )
        except PapermillExecutionError as err:
            failed = _keep_failed(tmp, root, name, source)
            partial = _read_partial(failed)
            message = _describe_failure(name, source, partial, err, root)
            raise NotebookFailed(_with_failed_hint(message, failed, root), name, failed) from err
        except Exception as err:  # kernel died, timeout, ...
            failed = _keep_failed(tmp, root, name, source)
            message = f"notebook {name!r} failed: {type(err).__name__}: {err}"
            raise NotebookFailed(_with_failed_hint(message, failed, root), name, failed) from err
        _finalise(tmp, _display_path(source, root), _display_path(output, root))
        os.replace(tmp, output)
        (root / FAILED_DIR / f"{name}.ipynb").unlink(missing_ok=True)  # a fixed notebook's old failure
        return output
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _kernel_environment(results_dir: Path | None = None) -> Iterator[None]:
    """Environment the kernel inherits while one notebook runs.

    ``MPLBACKEND`` is set to the inline backend: ipykernel picks it only when the variable is unset, and an
    inherited ``MPLBACKEND=Agg`` (common on headless machines) would silently drop every figure from the
    executed notebooks. ``PYTHONHASHSEED`` is fixed (unless set) so that str-keyed set orders are stable.
    ``$KNNOISE_RESULTS`` tells :func:`knnoise.results.record` where the chapter's key results go.
    """
    saved = {key: os.environ.get(key) for key in ("MPLBACKEND", "PYTHONHASHSEED", RESULTS_ENV)}
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ.setdefault("PYTHONHASHSEED", "0")
    if results_dir is not None:
        os.environ[RESULTS_ENV] = str(results_dir)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _display_path(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def _finalise(tmp: Path, source: str, output: str) -> None:
    """Record real paths in papermill's metadata (not the in-memory input and the temporary output)."""
    import nbformat

    nb = nbformat.read(tmp, as_version=4)
    meta = nb.metadata.get("papermill", {})
    meta["input_path"], meta["output_path"] = source, output
    nbformat.write(nb, tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp made it 0600


def _keep_failed(tmp: Path, root: Path, name: str, source: Path) -> Path | None:
    if not tmp.is_file() or tmp.stat().st_size == 0:
        return None
    failed = root / FAILED_DIR / f"{name}.ipynb"
    failed.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(tmp), failed)
    try:
        _finalise(failed, _display_path(source, root), _display_path(failed, root))
    except Exception:  # a notebook the kernel left unreadable is still worth keeping as it is
        pass
    return failed


def _read_partial(path: Path | None) -> Any | None:
    if path is None:
        return None
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except Exception:  # the message is still useful without cell numbering
        return None


def _with_failed_hint(message: str, failed: Path | None, root: Path) -> str:
    if failed is None:
        return message
    rel = failed.relative_to(root) if failed.is_relative_to(root) else failed
    return f"{message}\n  the partial notebook is in {rel}"


# ----------------------------------------------------------------------------------------------------
# Building


def build_book(root: str | os.PathLike[str] | None = None, *, quiet: bool = False) -> Path:
    """Build the HTML book strictly: ``jupyter-book build ROOT -W -n --keep-going --all``.

    ``--all`` re-reads every page: Sphinx only re-emits a page's warnings when it reads the page, so an
    incremental build could pass -W on a book that still has warnings.

    Returns
    -------
    Path
        ``_build/html/index.html``.

    Raises
    ------
    BuildFailed
        On a non-zero exit (any warning, with ``-W``).
    """
    root = find_root(root)
    exe = Path(sys.executable).with_name("jupyter-book")
    command = [str(exe)] if exe.is_file() else [sys.executable, "-m", "jupyter_book.cli.main"]
    command += ["build", str(root), "-W", "-n", "--keep-going", "--all"]
    if quiet:
        command.append("-q")
    completed = subprocess.run(command, cwd=root, check=False)
    index = root / HTML_INDEX
    if completed.returncode != 0:
        raise BuildFailed(f"jupyter-book build exited with status {completed.returncode} (see above)")
    if not index.is_file():
        raise BuildFailed(f"jupyter-book build succeeded but {index} is missing")
    return index


# ----------------------------------------------------------------------------------------------------
# The runner


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


def run(
    profile: str,
    only: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    build: bool = True,
    *,
    root: str | os.PathLike[str] | None = None,
    progress: bool = True,
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
        Repository root (see :func:`find_root`).
    progress : bool
        Show papermill's per-cell progress bars.

    Returns
    -------
    RunResult
    """
    root = find_root(root)
    prof = load_profile(profile, root)
    names = toc_notebooks(root)
    overrides = dict(overrides or {})

    unknown_nb = sorted(set(prof.notebooks) - set(names))
    if unknown_nb:
        raise BookError(
            f"profile {profile!r} has overrides for unknown notebook(s) {', '.join(map(repr, unknown_nb))}; "
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

    to_run = list(selected)
    if build and only:
        missing = [
            n for n in names if n not in selected and not (root / EXECUTED_DIR / f"{n}.ipynb").exists()
        ]
        if missing:
            print(
                f"note: {', '.join(missing)} not executed yet; running with profile {profile!r} so the "
                "book can build (use --no-build to skip)"
            )
        to_run = [n for n in names if n in selected or n in missing]

    declared = {n: notebook_parameters(root / SOURCES_DIR / f"{n}.py") for n in to_run}
    declared_selected = {k for n in selected for k in declared[n]}
    for key in overrides:
        if key not in declared_selected:
            allowed = ", ".join(sorted(declared_selected)) or "(none)"
            raise BookError(
                f"unknown parameter {key!r} for notebook(s) {', '.join(map(repr, selected))}; "
                f"allowed: {allowed}" + _did_you_mean(key, declared_selected)
            )
    merged = {
        n: merge_parameters(
            n,
            declared[n],
            prof.globals,
            prof.notebooks.get(n),
            {k: v for k, v in overrides.items() if k in declared[n]} if n in selected else None,
        )
        for n in to_run
    }

    result = RunResult()
    for i, name in enumerate(to_run, start=1):
        print(
            f"[{i}/{len(to_run)}] {name}: {SOURCES_DIR}/{name}.py -> {EXECUTED_DIR}/{name}.ipynb "
            f"(profile {profile})",
            flush=True,
        )
        _print_parameters(merged[name])
        sys.stdout.flush()
        start = time.perf_counter()
        execute_notebook(name, merged[name].injected, root=root, profile=profile, progress=progress)
        result.executed[name] = time.perf_counter() - start
        print(f"    done in {result.executed[name]:.1f} s", flush=True)
    _warn_stale(root, names, set(to_run))

    prefix = f"/{EXECUTED_DIR.as_posix()}/"
    write_results_page(root / RESULTS_DIR, root / RESULTS_PAGE, names, page_prefix=prefix)
    if build:
        print("building the book: jupyter-book build . -W -n --keep-going --all", flush=True)
        start = time.perf_counter()
        result.html_index = build_book(root)
        result.build_seconds = time.perf_counter() - start
        print(f"book built in {result.build_seconds:.1f} s: {result.html_index}", flush=True)
    return result


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


# ----------------------------------------------------------------------------------------------------
# Command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m knnoise.book",
        description="Execute the book's notebooks for a parameter profile with papermill, then build "
        "the HTML book strictly (jupyter-book build . -W -n --keep-going --all).",
        epilog="examples:\n"
        "  python -m knnoise.book --profile smoke\n"
        "  python -m knnoise.book --profile quick --only data -p dataset digits\n"
        '  python -m knnoise.book --profile paper --only fig3_knn -p ks "[1, 5, 25]"\n'
        "  python -m knnoise.book --profile quick --list",
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
    parser.add_argument("--list", action="store_true", help="list notebooks and their merged parameters")
    parser.add_argument("--no-progress", action="store_true", help="hide papermill's per-cell progress bar")
    parser.add_argument("--root", help="repository root (default: the current folder)")
    return parser


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
        result = run(
            args.profile,
            only=args.only,
            overrides=overrides,
            build=not args.no_build,
            root=root,
            progress=not args.no_progress,
        )
    except NotebookFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except BookError as err:
        if type(err) is BookError:
            parser.error(str(err))  # exits 2 with the usage line
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    total = sum(result.executed.values())
    print(f"executed {len(result.executed)} notebook(s) in {total:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
