"""The inputs of a prediction, read and checked: the clean softmax, the labels, the noise, measurements.

The clean softmax is the paper's :math:`C_s` (Eq. 3): a network trained on clean labels, its softmax on
the test set, one row per test example. Rows are accepted as a user's code produces them — bfloat16
(mixed-precision training), float16, float32 or float64 rows that sum to 1 up to their dtype's rounding,
or a text table written with a few decimals — and renormalised in float64
(:func:`knnoise._checks.check_probabilities`). Everything here runs before any solver work, and every
error names the argument and the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from knnoise import noise as _noise
from knnoise._checks import (
    check_corruption,
    check_int_array,
    check_number,
    check_probabilities,
    fail,
    sum_tolerance,
)
from knnoise.predict.diagnose import explain_sums
from knnoise.predict.readers import SUFFIXES, TEXT_SUFFIXES, Table, read_table, select_columns, split_spec

__all__ = [
    "NOISE_NAMES",
    "corruption",
    "corruptions",
    "probability_rows",
    "read_labels",
    "read_measured",
    "read_softmax",
    "split_measured",
]

NOISE_NAMES = ("uniform", "symmetric", "flip")
"""The named noise models (:mod:`knnoise.noise`); any other row-stochastic matrix comes from a file."""
_BUILDERS = {"uniform": _noise.uniform, "symmetric": _noise.symmetric, "flip": _noise.flip}
_MAX_TEXT_TOL = 1e-2  # as knnoise._checks: never looser, however coarsely a table was written
_Source = str | os.PathLike[str]


def _text_renormalised(name: str, table: Table) -> np.ndarray:
    """A text table's rows divided by their sums where these are off only by rounding.

    A row may be off by the rounding of the digits written (``%.4f``: ``L * 5e-5``) or, whatever the
    digits, by float32's (a float32 softmax written out exactly, e.g. by pandas). Other rows are left as
    they are, for :func:`check_probabilities` to reject (with its logits hint).
    """
    if table.rounding is None:  # a binary file: its dtype decides the tolerance (check_probabilities)
        return table.values
    values = np.asarray(table.values, dtype=np.float64)
    if values.ndim != 2 or not np.all(np.isfinite(values)) or np.any(values < 0):
        return values
    floor = sum_tolerance(np.float32, values.shape[1])
    tol = np.minimum(np.maximum(table.rounding.sum(axis=1), floor), _MAX_TEXT_TOL)
    sums = values.sum(axis=1)
    off = np.abs(sums - 1.0) > tol
    if np.any(off) and not np.any(sums[off] > 1.5):  # not logits: say how close rows had to be
        row = int(np.argmax(off))
        raise ValueError(
            f"{name} must have rows summing to 1 (within {tol[row]:.2g} for text: the rounding of the "
            f"digits written, or float32's), got {float(sums[row])!r} (row {row})"
        )
    return np.where(off[:, None], values, values / np.where(off, 1.0, sums)[:, None])


def probability_rows(name: str, table: Table, columns: str | None = None) -> np.ndarray:
    """A table's rows as checked, renormalised float64 probabilities, shape (M, L) with L >= 2.

    ``columns``: the class columns to keep (:func:`~knnoise.predict.readers.column_indices`: names,
    ranges ``p0-p9`` or a prefix ``p``), when the table holds more (a ``label`` column, say). Rows that do
    not sum to 1 are explained (:func:`~knnoise.predict.diagnose.explain_sums`): extra columns are named.
    """
    if columns is not None:
        table = select_columns(table, columns, name)
        if table.values.ndim == 1:
            raise fail(name, "L >= 2 class columns", f"one column ({columns!r})", raw=True)
    values = table.values
    if table.columns and table.columns[0] == "":
        raise ValueError(f"{name} must hold only probabilities, got an unnamed first column (a pandas index? "
                         "write the file with index=False)")  # fmt: skip
    if values.ndim != 2 or values.shape[1] < 2 or values.shape[0] < 1:
        raise fail(name, "an (M, L) array, one row per example and L >= 2 classes", f"shape {values.shape}")
    try:
        rows = _text_renormalised(name, table)
        return check_probabilities(name, rows, allow_batch=True, dtype=table.stored)
    except ValueError as err:
        raise ValueError(explain_sums(name, table, str(err))) from None


def read_softmax(source: _Source, name: str = "softmax", *, columns: str | None = None) -> np.ndarray:
    """The clean softmax ``C_s`` (Eq. 3) from a file: float64 rows summing to 1, shape (M, L).

    Parameters
    ----------
    source : str or path
        ``FILE`` or ``FILE:KEY`` (:mod:`knnoise.predict.readers`): ``.npy``, ``.npz``, ``.csv``, ``.pt``.
    name : str
        The argument's name in messages (the CLI passes ``"--softmax"``).
    columns : str, optional
        The class columns of a table that holds more (``"p0-p9"``, ``"p"``, ``"a,b,c"``).
    """
    return probability_rows(f"{name} {os.fspath(source)}", read_table(source, name), columns)


def read_labels(
    source: _Source, *, n_rows: int | None = None, n_labels: int | None = None, name: str = "labels"
) -> np.ndarray:
    """True labels from a file (one per line, a column ``FILE.csv:COLUMN``, or an array): int64 (M,).

    ``n_rows`` (the softmax's rows) and ``n_labels`` (its columns) are checked when given.
    """
    table = read_table(source, name)
    values = table.values
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    where = f"{name} {os.fspath(source)}"
    if values.ndim != 1:
        allowed = "one label per row (one per line, or a column picked with FILE.csv:COLUMN)"
        raise fail(where, allowed, f"shape {values.shape}")
    labels = check_int_array(where, values, n_labels=n_labels)
    if n_rows is not None and labels.shape != (n_rows,):
        raise fail(where, f"{n_rows} labels, one per row of the softmax", f"{labels.size} labels", raw=True)
    return labels


def _is_file_spec(text: str) -> bool:
    path, _ = split_spec(text)
    return path.suffix.lower() in SUFFIXES or path.exists() or os.sep in text


def corruption(noise: Any, n_labels: int, name: str = "noise") -> tuple[str, np.ndarray]:
    """A noise model's name and corruption matrix ``P[y, y_noisy]`` (Eq. 3), shape (L, L).

    ``noise``: one of :data:`NOISE_NAMES`, a matrix file (``FILE`` or ``FILE:KEY``; its name is the
    file's), or an (L, L) array (named ``"matrix"``). Rows are renormalised in float64.
    """
    if isinstance(noise, str | os.PathLike):
        text = os.fspath(noise)
        if text in NOISE_NAMES:
            return text, _BUILDERS[text](n_labels)
        if not _is_file_spec(text):
            allowed = f"one of {NOISE_NAMES} or a corruption-matrix file (.npy, .npz, .csv, .pt)"
            raise fail(name, allowed, text)
        where = f"{name} {text}"
        table = read_table(text, name)
        if table.values.shape == (n_labels, n_labels):
            return os.path.basename(text), check_corruption(_text_renormalised(where, table), n_labels, where)
        return os.path.basename(text), check_corruption(table.values, n_labels, where)  # the shape's error
    return "matrix", check_corruption(noise, n_labels, name)


def corruptions(noise: Any, n_labels: int, name: str = "noise") -> dict[str, np.ndarray]:
    """Several noise models: a name/file/array, a sequence of names or files, or a mapping name -> any."""
    if isinstance(noise, Mapping):
        items = [(str(k), corruption(v, n_labels, f"{name}[{k!r}]")[1]) for k, v in noise.items()]
    elif isinstance(noise, Sequence) and not isinstance(noise, str) and all(
        isinstance(n, str | os.PathLike) for n in noise
    ):  # fmt: skip
        items = [
            corruption(n, n_labels, name if len(noise) == 1 else f"{name}[{i}]") for i, n in enumerate(noise)
        ]
    else:
        items = [corruption(noise, n_labels, name)]
    if not items:
        raise fail(name, "at least one noise model", noise)
    names = [n for n, _ in items]
    if len(set(names)) != len(names):
        raise fail(name, "distinct noise models", names)
    return dict(items)


def _measured_frame(name: str, table: Table) -> pd.DataFrame:
    values, columns = table.values, table.columns
    if columns is not None and {"gamma", "accuracy"} <= {c.lower() for c in columns}:
        lower = [c.lower() for c in columns]
        frame = pd.DataFrame({c: values[:, lower.index(c)] for c in ("gamma", "accuracy", "repeat")
                              if c in lower})  # fmt: skip
        return frame.astype({"gamma": np.float64, "accuracy": np.float64})
    if values.ndim != 2 or values.shape[1] != 2 or values.shape[0] < 1:
        allowed = ("gamma,accuracy rows (two columns, or a header naming gamma and accuracy), or a tidy "
                   "noise,gamma,accuracy table")  # fmt: skip
        raise fail(name, allowed, f"shape {values.shape}")
    return pd.DataFrame({"gamma": values[:, 0].astype(np.float64), "accuracy": values[:, 1].astype(float)})


def _has_noise_column(path: Path) -> bool:
    """Whether a text table's first line (not a comment) names a ``noise`` column."""
    try:
        with path.open(encoding="utf-8-sig") as f:
            first = next((line for line in f if line.strip() and not line.lstrip().startswith("#")), "")
    except (OSError, UnicodeDecodeError):
        return False  # read_table reports it
    return "noise" in {t.strip().strip("\"'").lower() for t in re.split(r"[,\t ]+", first.strip())}


def _tidy_frame(name: str, frame: pd.DataFrame, what: str = "DataFrame") -> pd.DataFrame:
    """A tidy ``noise, gamma, accuracy[, repeat]`` table (any column order and case), checked."""
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in ("gamma", "accuracy") if c not in frame.columns]
    if missing:
        allowed = f"a {what} with columns gamma and accuracy"
        raise fail(name, allowed, f"columns {[str(c) for c in frame.columns]}", raw=True)
    keep = [c for c in ("noise", "gamma", "accuracy", "repeat") if c in frame.columns]
    frame = frame[keep].reset_index(drop=True)
    for column in ("gamma", "accuracy"):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy())
        if bad.size:
            raise fail(f"{name}: {column} (row {int(bad[0])})", "a number", frame[column].iloc[bad[0]])
        frame[column] = numbers.astype(np.float64)
    if "noise" in frame.columns:
        frame["noise"] = frame["noise"].astype(str).str.strip()
    return frame


def read_measured(measured: Any, name: str = "measured") -> pd.DataFrame:
    """Measured accuracies as a DataFrame with columns ``gamma`` and ``accuracy`` (both in [0, 1]), plus
    ``noise`` (and ``repeat``) when the table is a tidy one holding several noise models.

    ``measured``: a file (a tidy ``noise,gamma,accuracy[,repeat]`` table with a header; or
    ``gamma,accuracy`` rows, a header optional; or an (n, 2) array), a DataFrame with those columns, or a
    sequence of ``(gamma, accuracy)`` pairs. Several rows per gamma are repeats.
    """
    if isinstance(measured, str | os.PathLike):
        path, key = split_spec(measured)
        if key is None and path.suffix.lower() in TEXT_SUFFIXES and _has_noise_column(path):
            name = f"{name} {os.fspath(measured)}"
            frame = _tidy_frame(name, pd.read_csv(path, sep=None, engine="python", comment="#"), "table")
        else:
            table = read_table(measured, name)
            name = f"{name} {os.fspath(measured)}"
            frame = _measured_frame(name, table)
    elif isinstance(measured, pd.DataFrame):
        frame = _tidy_frame(name, measured)
    else:
        pairs = np.asarray(measured, dtype=float) if len(measured) else np.empty((0, 2))
        frame = _measured_frame(name, Table(pairs, None, None, name))
    if len(frame) == 0:
        raise fail(name, "at least one measurement (gamma, accuracy)", "none", raw=True)
    for i, (g, a) in enumerate(zip(frame.gamma, frame.accuracy, strict=True)):
        check_number(f"{name}: gamma (row {i})", g, low=0.0, high=1.0)
        if not 0.0 <= a <= 1.0:
            raise fail(f"{name}: accuracy (row {i})", "in [0, 1] (a fraction, not a percentage)", float(a))
    return frame


def split_measured(
    frame: pd.DataFrame, noises: Sequence[str], name: str = "measured"
) -> dict[str, pd.DataFrame]:
    """Each noise model's own measurements (``gamma, accuracy`` rows): by the ``noise`` column of a tidy
    table, or all rows for the one noise model of a ``gamma,accuracy`` table. A noise model without
    rows is left out; a noise named in the table but not asked for is an error naming it."""
    noises = list(noises)
    if "noise" not in frame.columns:
        if len(noises) > 1:
            raise fail(name, f"a tidy noise,gamma,accuracy table when several noise models are asked for "
                       f"({', '.join(noises)}): each is fitted to its own rows", "gamma,accuracy rows only",
                       raw=True)  # fmt: skip
        return {noises[0]: frame.assign(noise=noises[0])}
    unknown = ~frame.noise.isin(noises).to_numpy()
    if np.any(unknown):
        row = int(np.argmax(unknown))
        raise fail(f"{name}: noise (row {row})", f"one of the noise models asked for {tuple(noises)}",
                   frame.noise.iloc[row])  # fmt: skip
    groups = {n: frame[frame.noise == n].reset_index(drop=True) for n in noises}
    return {n: g for n, g in groups.items() if len(g)}
