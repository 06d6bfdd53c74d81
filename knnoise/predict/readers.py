"""File formats: ``.npy``, ``.npz``, ``.csv``/``.txt``/``.tsv`` and torch ``.pt``/``.pth``, read as numpy.

A file is named by a *spec*: ``FILE`` or ``FILE:KEY``. The key picks one array of an ``.npz``, one tensor
of a ``.pt`` dict, or columns of a text table (:func:`column_indices`: a header name or a 0-based index,
a list ``p0,p1``, a range ``p0-p9`` or a prefix ``p``). Without a key an
``.npz`` or a ``.pt`` dict must hold exactly one array. Text tables are comma-, tab- or space-separated,
with an optional header line and ``#`` comments; their numbers are read in float64 and :class:`Table`
records how finely they were written (``rounding``), so that probability rows written with a few decimals
(``fmt="%.4f"``) can be renormalised like a float32 softmax. ``.pt`` files are read with
``torch.load(..., weights_only=True)`` (tensors and plain containers only, never arbitrary objects); a
bfloat16 tensor (numpy has no bfloat16) is widened exactly to float32 and :class:`Table` keeps its dtype's
name, so that its rows are held to bfloat16's rounding.

Every failure is a :class:`ValueError` naming the argument and the file, before any computing; the
reason is said plainly (a file that is not numpy's at all, a pickled object torch refuses), without the
libraries' advice to load pickles or their terminal colour codes.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "BINARY_SUFFIXES",
    "SUFFIXES",
    "TEXT_SUFFIXES",
    "Table",
    "column_indices",
    "read_table",
    "select_columns",
    "split_spec",
]

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
BINARY_SUFFIXES = (".npy", ".npz", ".pt", ".pth")
SUFFIXES = BINARY_SUFFIXES + TEXT_SUFFIXES
_KINDS = ".npy, .npz (FILE.npz:KEY), .csv/.tsv/.txt or torch .pt/.pth"
_SAMPLE_LINES = 200  # lines read to learn how finely a text table is written
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")  # terminal colour codes (torch's messages have them)
_REFUSED_GLOBAL = re.compile(r"GLOBAL (\S+) was not an allowed global")
_NUMPY_MAGIC = (b"\x93NUMPY", b"PK\x03\x04", b"PK\x05\x06")  # .npy header; .npz: a zip (or an empty one)
_OTHER_FORMATS = {
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive", b"\x80": "a Python pickle", b"GIF8": "a GIF image",
}  # fmt: skip
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$", re.IGNORECASE)


class Table(NamedTuple):
    """What :func:`read_table` read.

    ``values``: the array as stored (its dtype kept: a float32 softmax stays float32). ``rounding``:
    for text tables, half a unit in the last written digit of each entry (``values.shape``, float64),
    else None. ``columns``: the header of a text table, if it had one. ``source``: the spec, for messages.
    ``stored``: the name of the dtype the file stored when ``values`` had to be widened to a dtype numpy
    has (a torch bfloat16 tensor: float32 values, ``"bfloat16"``), else None.
    """

    values: np.ndarray
    rounding: np.ndarray | None
    columns: list[str] | None
    source: str
    stored: str | None = None

    @property
    def dtype(self) -> str:
        """The name of the dtype as stored: ``"bfloat16"``, ``"float32"``, ... (``"float64"`` for text)."""
        return self.stored or str(self.values.dtype)


def split_spec(spec: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """``"FILE:KEY"`` -> ``(Path("FILE"), "KEY")``; ``"FILE"`` -> ``(Path("FILE"), None)``.

    Only a colon after a known suffix starts a key (``C:\\data\\p.npy`` and an existing file whose name
    contains a colon are paths).
    """
    text = os.fspath(spec)
    head, colon, key = text.rpartition(":")
    if colon and key and Path(head).suffix.lower() in SUFFIXES and not Path(text).exists():
        return Path(head), key
    return Path(text), None


def _unreadable(name: str, path: Path, kind: str, reason: Any) -> ValueError:
    return ValueError(f"{name} must be a readable {kind} file, got {str(path)!r} ({_plain(reason)})")


def _plain(reason: Any) -> str:
    """An exception (or text) as one plain line: its first line, without terminal colour codes."""
    text = _ANSI.sub("", str(reason)).strip()
    if isinstance(reason, BaseException) and not text:
        return type(reason).__name__
    return text.splitlines()[0].strip() if text else ""


def read_table(spec: str | os.PathLike[str], name: str) -> Table:
    """Read the array named by ``spec`` (see the module docstring); ``name`` is the argument, for messages.

    Raises
    ------
    ValueError
        A missing file, a directory, an unknown suffix, an unreadable or empty file, a key that names
        nothing, or several arrays where one is needed — each message names ``name`` and the file.
    """
    path, key = split_spec(spec)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{name} must be a {_KINDS} file, got {os.fspath(spec)!r}")
    if not path.exists():
        raise ValueError(f"{name} must be an existing file, got {str(path)!r} (no such file)")
    if not path.is_file():
        raise ValueError(f"{name} must be a file, got {str(path)!r} (a directory)")
    if suffix in TEXT_SUFFIXES:
        return _read_text(path, key, name)
    source = str(path) if key is None else f"{path}:{key}"
    if suffix in (".npy", ".npz"):
        return Table(_read_numpy(path, key, name), None, None, source)
    values, stored = _read_torch(path, key, name)
    return Table(values, None, None, source, stored)


def _pick(name: str, path: Path, found: list[str], key: str | None, what: str) -> str:
    """The entry of an .npz or a .pt dict to read: ``key``, or the only one."""
    if key is not None:
        if key not in found:
            raise ValueError(
                f"{name} must name one of the {what}s {sorted(found)} of {str(path)!r}, got {key!r}"
            )
        return key
    if len(found) != 1:
        held = f"{len(found)} {what}s {sorted(found)}" if found else f"no {what}"
        raise ValueError(
            f"{name} must be a file holding one {what}, or name one as FILE:KEY, got {str(path)!r} "
            f"(it holds {held})"
        )
    return found[0]


def _not_numpy(path: Path) -> str | None:
    """Why ``path`` is not a numpy file at all (judged by its first bytes), or None if it may be one."""
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError:
        return None  # np.load reports it
    if head.startswith(_NUMPY_MAGIC):
        return None
    if not head:
        return "not a numpy file: it is empty"
    what = next((w for magic, w in _OTHER_FORMATS.items() if head.startswith(magic)), None)
    if what is None and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        what = "text (a .csv/.txt table?)"
    looks = f"; it looks like {what}" if what else ""
    return f"not a numpy file: it does not start with numpy's .npy header or an .npz zip{looks}"


def _numpy_reason(err: Exception) -> str:
    """numpy's error in plain words (never its advice to allow pickles)."""
    if "allow_pickle" in str(err) or "pickled" in str(err):
        return "it holds Python objects (an object array), which are not read: save a numeric array"
    return _plain(err)


def _read_numpy(path: Path, key: str | None, name: str) -> np.ndarray:
    """An ``.npy`` array, or one array of an ``.npz`` (numpy reads either, whatever the suffix)."""
    kind = path.suffix.lower()
    reason = _not_numpy(path)
    if reason:
        raise _unreadable(name, path, kind, reason)
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as err:  # truncated, a damaged zip (zipfile.BadZipFile), an object array, ...
        raise _unreadable(name, path, kind, _numpy_reason(err)) from None
    if isinstance(loaded, np.ndarray):
        if key is not None:
            raise ValueError(f"{name}: {str(path)!r} holds a single array; drop the key {key!r}")
        return loaded
    with loaded:
        chosen = _pick(name, path, list(loaded.files), key, "array")
        try:
            return loaded[chosen]
        except Exception as err:  # a damaged member, an object array (pickles are refused)
            raise _unreadable(name, path, kind, _numpy_reason(err)) from None


def _torch_reason(err: Exception) -> str:
    """torch's load error in plain words: a refused pickled object is named, colour codes are dropped."""
    refused = _REFUSED_GLOBAL.search(_ANSI.sub("", str(err)))
    if refused:
        return (
            f"it holds a pickled {refused.group(1)} object, which loading with weights_only=True refuses: "
            "save tensors, e.g. torch.save(softmax.cpu(), path) or a dict of tensors"
        )
    if "Weights only load failed" in str(err):
        return "it holds pickled objects that loading with weights_only=True refuses: save tensors only"
    return _plain(err)


def _read_torch(path: Path, key: str | None, name: str) -> tuple[np.ndarray, str | None]:
    """The tensor as numpy, and its dtype's name when numpy has no such dtype (bfloat16 -> float32)."""
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds (UnpicklingError, RuntimeError, EOFError, ...)
        raise _unreadable(name, path, "torch .pt", _torch_reason(err)) from None
    if isinstance(obj, dict):
        tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        obj = tensors[_pick(name, path, list(tensors), key, "tensor")]
    elif key is not None:
        raise ValueError(f"{name}: {str(path)!r} holds a single tensor, not a dict; drop the key {key!r}")
    if not isinstance(obj, torch.Tensor):
        raise ValueError(
            f"{name} must be a .pt file holding a tensor or a dict with one, got {str(path)!r} "
            f"(it holds a {type(obj).__name__})"
        )
    tensor = obj.detach().cpu()
    if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16: float32 holds every value exactly
        return tensor.float().numpy(), "bfloat16"
    try:
        return tensor.numpy(), None
    except TypeError:  # float8 and other dtypes numpy lacks: float64 holds them exactly
        if not tensor.is_floating_point():
            raise ValueError(f"{name} must be a .pt file holding a numeric tensor, got {str(path)!r} "
                             f"(a {tensor.dtype} tensor)") from None  # fmt: skip
        return tensor.double().numpy(), str(tensor.dtype).removeprefix("torch.")


# ----------------------------------------------------------------------------------------------------
# Text tables
# ----------------------------------------------------------------------------------------------------
def _data_lines(path: Path, name: str) -> tuple[list[str], int]:
    """The first non-comment lines (up to a sample) and the number of lines before the first of them."""
    lines, skipped = [], 0
    try:
        with path.open(encoding="utf-8-sig") as f:
            for line in f:
                stripped = line.strip()
                if not lines and (not stripped or stripped.startswith("#")):
                    skipped += 1
                    continue
                if stripped and not stripped.startswith("#"):
                    lines.append(stripped)
                if len(lines) > _SAMPLE_LINES:
                    break
    except (OSError, UnicodeDecodeError) as err:
        raise _unreadable(name, path, "text", err) from None
    if not lines:
        raise ValueError(f"{name} must be a file with at least one row, got {str(path)!r} (it is empty)")
    return lines, skipped


def _split(line: str, delimiter: str | None) -> list[str]:
    return [f.strip() for f in (line.split(delimiter) if delimiter else line.split())]


def _read_text(path: Path, key: str | None, name: str) -> Table:
    lines, skipped = _data_lines(path, name)
    first = lines[0]
    delimiter = "," if "," in first else ("\t" if "\t" in first else None)
    fields = _split(first, delimiter)
    header = [f.strip("\"'") for f in fields] if _is_header(fields, lines[1:]) else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": reported below
            values = np.loadtxt(
                path, delimiter=delimiter, skiprows=skipped + (header is not None), ndmin=2,
                comments="#", dtype=np.float64, encoding="utf-8-sig",
            )  # fmt: skip
    except (ValueError, OSError) as err:
        raise _unreadable(name, path, "table of numbers (text)", err) from None
    if values.size == 0:
        raise ValueError(f"{name} must be a file with at least one row, got {str(path)!r} (only a header)")
    sample = [_split(line, delimiter) for line in lines[header is not None :]]
    rounding = _rounding(values, [f for row in sample for f in row])
    table = Table(values, rounding, header, str(path))
    return table if key is None else select_columns(table, key, name)


def _is_header(fields: list[str], rest: list[str]) -> bool:
    """A first line that is not all numbers, or pandas' default column names ``0,1,...,L-1`` over rows
    written with decimals (``pd.DataFrame(softmax).to_csv(index=False)``)."""
    if not all(_NUMBER.match(f) for f in fields):
        return True
    default_names = len(fields) > 1 and fields == [str(i) for i in range(len(fields))]
    return default_names and any(c in line for line in rest for c in ".eE")


def _column(name: str, path: str, key: str, header: list[str] | None, n_columns: int) -> int:
    """The column ``key`` names: a header name, else a 0-based index."""
    if header and key in header:
        return header.index(key)
    if key.isdigit() and int(key) < n_columns:
        return int(key)
    names = f"a name of its header {header} or " if header else ""
    raise ValueError(
        f"{name} must name a column of {path!r} ({names}an index in 0..{n_columns - 1}), got {key!r}"
    )


def _numbered(header: list[str] | None, prefix: str) -> list[int]:
    """The columns named ``PREFIX<number>``, in the order of their numbers (``p0, p1, ..., p10``)."""
    found = [(int(m.group(1)), i) for i, c in enumerate(header or [])
             if (m := re.fullmatch(re.escape(prefix) + r"(\d+)", c))]  # fmt: skip
    return [i for _, i in sorted(found)]


def _span(name: str, path: str, item: str, header: list[str] | None, n_columns: int) -> list[int]:
    """One item of a column selection: a name or index, a range ``p0-p9`` / ``0-9``, or a prefix ``p``."""
    if (header and item in header) or (item.isdigit() and int(item) < n_columns):
        return [_column(name, path, item, header, n_columns)]
    match = re.fullmatch(r"(.*?)(\d+)-(.*?)(\d+)", item)
    if match and match.group(1) == match.group(3):
        prefix, lo, hi = match.group(1), int(match.group(2)), int(match.group(4))
        if lo <= hi:
            return [_column(name, path, f"{prefix}{i}", header, n_columns) for i in range(lo, hi + 1)]
    numbered = _numbered(header, item)
    if numbered:
        return numbered
    return [_column(name, path, item, header, n_columns)]  # its error names the header


def column_indices(name: str, table: Table, selection: str) -> list[int]:
    """The columns a selection names, in order: comma-separated names or 0-based indices, ranges
    (``p0-p9``, ``0-9``: both ends included) or a prefix (``p``: every column ``p<number>``)."""
    path = table.source
    n_columns = table.values.shape[1] if table.values.ndim == 2 else 1
    items = [t.strip() for t in selection.split(",") if t.strip()]
    if table.columns and selection in table.columns:
        items = [selection]
    if not items:
        raise ValueError(f"{name} must name columns of {path!r}, got {selection!r}")
    indices = [i for item in items for i in _span(name, path, item, table.columns, n_columns)]
    if len(set(indices)) != len(indices):
        raise ValueError(f"{name} must name each column of {path!r} once, got {selection!r}")
    return indices


def select_columns(table: Table, selection: str, name: str) -> Table:
    """``table`` restricted to the columns of ``selection`` (:func:`column_indices`); one column named
    alone (``FILE.csv:label``) gives a 1-D table, several a 2-D one."""
    if table.values.ndim != 2:
        raise ValueError(f"{name}: {table.source!r} has no columns to pick; drop {selection!r}")
    indices = column_indices(name, table, selection)
    header = [table.columns[i] for i in indices] if table.columns else None
    rounding = None if table.rounding is None else table.rounding[:, indices]
    values = table.values[:, indices]
    if len(indices) == 1 and "," not in selection and not _numbered(table.columns, selection):
        values = values[:, 0]
        rounding = None if rounding is None else rounding[:, 0]
    return Table(values, rounding, header, f"{table.source}:{selection}", table.stored)


def _rounding(values: np.ndarray, sample: list[str]) -> np.ndarray:
    """Half a unit in the last written digit of each entry, from the digits of a sample of fields.

    Fixed notation with d decimals: ``0.5e-d`` everywhere. Scientific notation (``%.6e``, or repr's
    ``1e-05``): ``0.5 * 10**(exponent - d)`` per entry, d the most mantissa decimals in the sample.
    """
    decimals, scientific = 0, False
    for field in sample:
        mantissa, _, exponent = field.lower().partition("e")
        scientific = scientific or bool(exponent)
        if "." in mantissa:
            decimals = max(decimals, len(mantissa.split(".", 1)[1]))
    if not scientific:
        return np.full(values.shape, 0.5 * 10.0**-decimals)
    with np.errstate(divide="ignore", invalid="ignore"):
        exponents = np.floor(np.log10(np.abs(values)))
    exponents = np.where(np.isfinite(exponents), exponents, -np.inf)
    return np.where(values == 0, 0.0, 0.5 * 10.0 ** (exponents - decimals))
