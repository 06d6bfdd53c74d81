"""Where the book's parts are, its parameter profiles, and merging a notebook's parameters.

The notebooks are the ``_toc.yml`` entries under ``book/executed/``: the entry ``book/executed/<name>`` is
made from the jupytext source ``notebooks/<name>.py``. Parameters are merged, lowest priority first, from
the notebook's ``parameters`` cell (its defaults), the profile's ``globals`` (passed only to notebooks that
declare the key), the profile's per-notebook overrides, and ``-p KEY VALUE`` on the command line (values
parsed as YAML, like papermill's ``-y``). An override or ``-p`` key that no selected notebook declares is
an error.

Profiles live in ``notebooks/params/<profile>.yml``::

    globals:            # applied to every notebook that declares the key
      dataset: digits
    notebooks:          # per-notebook overrides; every key must be declared by that notebook
      data:
        n_examples: 5
"""

from __future__ import annotations

import ast
import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knnoise.book.errors import BookError

__all__ = [
    "EXECUTED_DIR",
    "Merged",
    "Parameter",
    "Profile",
    "available_profiles",
    "find_root",
    "load_profile",
    "merge_parameters",
    "notebook_parameters",
    "parse_cli_value",
    "read_source",
    "toc_notebooks",
]

EXECUTED_DIR = Path("book/executed")
RESULTS_DIR = EXECUTED_DIR / "results"  # each chapter's recorded key results (knnoise.book.claims)
RESULTS_PAGE = EXECUTED_DIR / "results.md"  # the intro's claims table, generated from them
SOURCES_DIR = Path("notebooks")
PROFILES_DIR = Path("notebooks/params")
FAILED_DIR = Path("_build/failed")
HTML_INDEX = Path("_build/html/index.html")
KERNEL_NAME = "python3"
KERNELSPEC = {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}
PROFILE_KEYS = ("globals", "notebooks")


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
    for candidate in (Path.cwd(), Path(__file__).resolve().parents[2]):
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
    toc = _read_yaml(root / "_toc.yml", "_toc.yml") or {}
    if not isinstance(toc, Mapping):
        raise BookError(f"_toc.yml: a table of contents is a mapping (format, root, parts), got {_kind(toc)}")
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
        If the profile does not exist (the message lists those that do), is not YAML (the message gives
        the file, line and column), is empty, or is not a mapping of ``globals`` and ``notebooks``.
    """
    root = find_root(root)
    allowed = available_profiles(root)
    if name not in allowed:
        raise BookError(f"unknown profile {name!r}; allowed: {', '.join(allowed) or '(none found)'}")
    path = root / PROFILES_DIR / f"{name}.yml"
    where = f"profile {_shown(path, root)}"
    data = _read_yaml(path, where)
    if data is None:
        raise BookError(
            f"{where} is empty (or only comments): {_PROFILE_SHAPE}; write {{}} for the notebooks' "
            "own defaults"
        )
    if not isinstance(data, Mapping):
        raise BookError(f"{where}: {_PROFILE_SHAPE}, got {_kind(data)}")
    unknown = sorted(map(str, set(data) - set(PROFILE_KEYS)))
    if unknown:
        listed = ", ".join(map(repr, unknown))
        raise BookError(f"{where}: unknown key(s) {listed}; allowed: globals, notebooks")
    globals_ = data.get("globals") or {}
    notebooks = data.get("notebooks") or {}
    if not isinstance(globals_, Mapping) or not isinstance(notebooks, Mapping):
        raise BookError(f"{where}: 'globals' and 'notebooks' must be mappings")
    _check_names(globals_, f"{where}: globals")
    for nb, overrides in notebooks.items():
        if overrides is not None and not isinstance(overrides, Mapping):
            raise BookError(f"{where}: notebooks.{nb} must be a mapping of parameter: value")
        _check_names(overrides or {}, f"{where}: notebooks.{nb}")
    return Profile(
        name=name,
        globals=dict(globals_),
        notebooks={str(nb): dict(overrides or {}) for nb, overrides in notebooks.items()},
        path=path,
    )


_PROFILE_SHAPE = (
    "a profile is a mapping with 'globals' (values for every notebook that declares them) and/or "
    "'notebooks' (per-notebook overrides: notebook -> parameter: value)"
)


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string"}.get(type(value), f"a {type(value).__name__}: {value!r:.40}")


def _check_names(mapping: Mapping[Any, Any], where: str) -> None:
    bad = [key for key in mapping if not isinstance(key, str)]
    if bad:
        raise BookError(f"{where}: parameter names must be text, got {bad[0]!r}")


def _shown(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def _read_yaml(path: Path, where: str) -> Any:
    """The YAML document in ``path``; a :class:`BookError` starting with ``where`` (the file's role and
    name) when it cannot be read or parsed, giving the line and column of a syntax error."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise BookError(f"{where}: not UTF-8 text (byte {err.start}: {err.reason})") from None
    except OSError as err:
        raise BookError(f"{where} cannot be read: {err.strerror or err}") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        raise BookError(f"{where}: {_yaml_problem(err)}") from None
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        char = chr(err.character) if isinstance(err.character, int) else err.character
        problem = f"line {line}, column {column}: character {char!r} is not allowed in YAML"
        raise BookError(f"{where}: {problem}") from None
    except (yaml.YAMLError, RecursionError) as err:  # pragma: no cover - other parser failures
        raise BookError(f"{where}: not valid YAML ({type(err).__name__})") from None


def _yaml_problem(err: yaml.MarkedYAMLError) -> str:
    """``line L, column C: <problem> (<context> at line L', column C')``, lines and columns from 1."""
    mark = err.problem_mark or err.context_mark
    text = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    text += err.problem or err.context or "not valid YAML"
    if err.problem and err.context:
        at = err.context_mark
        same = at is None or mark is None or (at.line, at.column) == (mark.line, mark.column)
        text += f" ({err.context}" + ("" if same else f" at line {at.line + 1}, column {at.column + 1}") + ")"
    return text


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
