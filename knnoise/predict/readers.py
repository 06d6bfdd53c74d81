"""File formats: ``.npy``, ``.npz``, ``.csv``/``.txt``/``.tsv`` and torch ``.pt``/``.pth``, read as numpy.

A file is named by a *spec*: ``FILE`` or ``FILE:KEY``. The key picks one array of an ``.npz``, one tensor
of a ``.pt`` dict, or one column of a text table (a header name or a 0-based index). Without a key an
``.npz`` or a ``.pt`` dict must hold exactly one array. Text tables are comma-, tab- or space-separated,
with an optional header line and ``#`` comments; their numbers are read in float64 and :class:`Table`
records how finely they were written (``rounding``), so that probability rows written with a few decimals
(``fmt="%.4f"``) can be renormalised like a float32 softmax. ``.pt`` files are read with
``torch.load(..., weights_only=True)`` (tensors and plain containers only, never arbitrary objects).

Every failure is a :class:`ValueError` naming the argument and the file, before any computing.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

__all__ = ["BINARY_SUFFIXES", "SUFFIXES", "TEXT_SUFFIXES", "Table", "read_table", "split_spec"]

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
BINARY_SUFFIXES = (".npy", ".npz", ".pt", ".pth")
SUFFIXES = BINARY_SUFFIXES + TEXT_SUFFIXES
_KINDS = ".npy, .npz (FILE.npz:KEY), .csv/.tsv/.txt or torch .pt/.pth"
_SAMPLE_LINES = 200  # lines read to learn how finely a text table is written
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$", re.IGNORECASE)


class Table(NamedTuple):
    """What :func:`read_table` read.

    ``values``: the array as stored (its dtype kept: a float32 softmax stays float32). ``rounding``:
    for text tables, half a unit in the last written digit of each entry (``values.shape``, float64),
    else None. ``columns``: the header of a text table, if it had one. ``source``: the spec, for messages.
    """

    values: np.ndarray
    rounding: np.ndarray | None
    columns: list[str] | None
    source: str


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
    return ValueError(f"{name} must be a readable {kind} file, got {str(path)!r} ({reason})")


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
    if suffix in (".npy", ".npz"):
        values = _read_numpy(path, key, name)
    else:
        values = _read_torch(path, key, name)
    return Table(values, None, None, str(path) if key is None else f"{path}:{key}")


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


def _read_numpy(path: Path, key: str | None, name: str) -> np.ndarray:
    """An ``.npy`` array, or one array of an ``.npz`` (numpy reads either, whatever the suffix)."""
    kind = path.suffix.lower()
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as err:  # truncated, not numpy at all (zipfile.BadZipFile), an object array, ...
        raise _unreadable(name, path, kind, err) from None
    if isinstance(loaded, np.ndarray):
        if key is not None:
            raise ValueError(f"{name}: {str(path)!r} holds a single array; drop the key {key!r}")
        return loaded
    with loaded:
        chosen = _pick(name, path, list(loaded.files), key, "array")
        try:
            return loaded[chosen]
        except Exception as err:  # a damaged member, an object array (pickles are refused)
            raise _unreadable(name, path, kind, err) from None


def _read_torch(path: Path, key: str | None, name: str) -> np.ndarray:
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds (UnpicklingError, RuntimeError, EOFError, ...)
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise _unreadable(name, path, "torch .pt", reason) from None
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
    if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16
        tensor = tensor.float()
    return tensor.numpy()


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
    if key is not None:
        column = _column(name, path, key, header, values.shape[1])
        values, rounding = values[:, column], rounding[:, column]
        header = [header[column]] if header else None
    return Table(values, rounding, header, str(path) if key is None else f"{path}:{key}")


def _is_header(fields: list[str], rest: list[str]) -> bool:
    """A first line that is not all numbers, or pandas' default column names ``0,1,...,L-1`` over rows
    written with decimals (``pd.DataFrame(softmax).to_csv(index=False)``)."""
    if not all(_NUMBER.match(f) for f in fields):
        return True
    default_names = len(fields) > 1 and fields == [str(i) for i in range(len(fields))]
    return default_names and any(c in line for line in rest for c in ".eE")


def _column(name: str, path: Path, key: str, header: list[str] | None, n_columns: int) -> int:
    """The column ``key`` names: a header name, else a 0-based index."""
    if header and key in header:
        return header.index(key)
    if key.isdigit() and int(key) < n_columns:
        return int(key)
    names = f"a name of its header {header} or " if header else ""
    raise ValueError(
        f"{name} must name a column of {str(path)!r} ({names}an index in 0..{n_columns - 1}), got {key!r}"
    )


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
