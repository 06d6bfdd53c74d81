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
from collections.abc import Mapping, Sequence
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
from knnoise.predict.readers import SUFFIXES, Table, read_table, split_spec

__all__ = [
    "NOISE_NAMES",
    "corruption",
    "corruptions",
    "probability_rows",
    "read_labels",
    "read_measured",
    "read_softmax",
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


def probability_rows(name: str, table: Table) -> np.ndarray:
    """A table's rows as checked, renormalised float64 probabilities, shape (M, L) with L >= 2."""
    values = table.values
    if table.columns and table.columns[0] == "":
        raise ValueError(f"{name} must hold only probabilities, got an unnamed first column (a pandas index? "
                         "write the file with index=False)")  # fmt: skip
    if values.ndim != 2 or values.shape[1] < 2 or values.shape[0] < 1:
        raise fail(name, "an (M, L) array, one row per example and L >= 2 classes", f"shape {values.shape}")
    return check_probabilities(name, _text_renormalised(name, table), allow_batch=True, dtype=table.stored)


def read_softmax(source: _Source, name: str = "softmax") -> np.ndarray:
    """The clean softmax ``C_s`` (Eq. 3) from a file: float64 rows summing to 1, shape (M, L).

    Parameters
    ----------
    source : str or path
        ``FILE`` or ``FILE:KEY`` (:mod:`knnoise.predict.readers`): ``.npy``, ``.npz``, ``.csv``, ``.pt``.
    name : str
        The argument's name in messages (the CLI passes ``"--softmax"``).
    """
    return probability_rows(f"{name} {os.fspath(source)}", read_table(source, name))


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
        values = values[:, [lower.index("gamma"), lower.index("accuracy")]]
    if values.ndim != 2 or values.shape[1] != 2 or values.shape[0] < 1:
        allowed = "gamma,accuracy rows (two columns, or a header naming gamma and accuracy)"
        raise fail(name, allowed, f"shape {values.shape}")
    return pd.DataFrame({"gamma": values[:, 0].astype(np.float64), "accuracy": values[:, 1].astype(float)})


def read_measured(measured: Any, name: str = "measured") -> pd.DataFrame:
    """Measured accuracies as a DataFrame with columns ``gamma`` and ``accuracy`` (both in [0, 1]).

    ``measured``: a file (``gamma,accuracy`` rows, a header optional; or an (n, 2) array), a DataFrame
    with those columns, or a sequence of ``(gamma, accuracy)`` pairs. Several rows per gamma are repeats.
    """
    if isinstance(measured, str | os.PathLike):
        table = read_table(measured, name)
        name = f"{name} {os.fspath(measured)}"
        frame = _measured_frame(name, table)
    elif isinstance(measured, pd.DataFrame):
        missing = {"gamma", "accuracy"} - set(measured.columns)
        if missing:
            raise fail(
                name,
                "a DataFrame with columns gamma and accuracy",
                f"columns {list(measured.columns)}",
                raw=True,
            )
        frame = measured[["gamma", "accuracy"]].astype(float).reset_index(drop=True)
    else:
        pairs = np.asarray(measured, dtype=float) if len(measured) else np.empty((0, 2))
        frame = _measured_frame(name, Table(pairs, None, None, name))
    for i, (g, a) in enumerate(zip(frame.gamma, frame.accuracy, strict=True)):
        check_number(f"{name}: gamma (row {i})", g, low=0.0, high=1.0)
        if not 0.0 <= a <= 1.0:
            raise fail(f"{name}: accuracy (row {i})", "in [0, 1] (a fraction, not a percentage)", float(a))
    return frame
