"""Why a table's rows do not sum to 1: extra columns (named), logits, or probabilities off by rounding.

A practitioner's predictions file often holds more than the softmax: a ``label`` column (integers
``0..L-1``), an index, a confidence. Read whole, its rows sum to 1 plus the extra columns, and the plain
"rows must sum to 1" error (let alone "logits? apply softmax first") points the wrong way. These helpers
turn that error into one that names the extra columns and says how to pick the probability columns.
"""

from __future__ import annotations

import numpy as np

from knnoise.predict.readers import Table

__all__ = ["explain_sums"]

_EXTRA_TOL = 1e-3  # rows of the remaining columns must sum to 1 this closely (text written with 3+ digits)
_ROUNDING = 5e-2  # rows all within this of 1 are probabilities off by rounding (2 decimals, L = 10)


def _label(table: Table, index: int) -> str:
    return repr(table.columns[index]) if table.columns else f"{index} (0-based)"


def _describe(column: np.ndarray) -> str:
    if np.all(column == np.round(column)) and column.min() >= 0:
        return f"integers {int(column.min())}..{int(column.max())}, like labels"
    return f"values {float(column.min()):.3g}..{float(column.max()):.3g}"


def _extra_columns(values: np.ndarray) -> list[int]:
    """Columns whose removal leaves rows summing to 1: every column that cannot hold a probability
    (above 1, or whole numbers above 1), else a single column whose removal is enough."""
    n_columns = values.shape[1]
    whole = np.all(values == np.round(values), axis=0)
    odd = [j for j in range(n_columns) if values[:, j].max() > 1 or (whole[j] and values[:, j].max() > 1)]
    candidates = [odd] if odd else []
    candidates += [[j] for j in range(n_columns) if [j] != odd]
    for drop in candidates:
        keep = [j for j in range(n_columns) if j not in drop]
        if len(keep) >= 2 and np.all(np.abs(values[:, keep].sum(axis=1) - 1.0) <= _EXTRA_TOL):
            return drop
    return []


def _selection_hint(table: Table, keep: list[int], api: bool) -> str:
    """``FILE:p0-p9`` (or a list of the columns; ``class_columns='p0-p9'`` for the API) for the
    probability columns ``keep``."""
    source = table.source
    if api:
        names = [table.columns[j] for j in keep] if table.columns else [str(j) for j in keep]
        return f"class_columns={names[0] + '-' + names[-1] if len(names) > 2 else ','.join(names)!r}"
    if not table.columns:
        return f"{source}:{keep[0]}-{keep[-1]}" if keep == list(range(keep[0], keep[-1] + 1)) else source
    names = [table.columns[j] for j in keep]
    first, last = names[0], names[-1]
    prefix = first.rstrip("0123456789")
    if all(n == f"{prefix}{i}" for i, n in enumerate(names, start=int(first[len(prefix) :] or -1))):
        return f"{source}:{first}-{last} (or --class-columns {prefix})"
    return f"{source}:{','.join(names)}"


def explain_sums(name: str, table: Table, message: str, *, api: bool = False) -> str:
    """A better message than ``message`` (a "rows must sum to 1" or "non-negative" error) when the table
    has extra columns or rows off only by rounding; else ``message`` itself. ``api``: hints name the
    Python API's arguments rather than the command line's."""
    values = np.asarray(table.values, dtype=np.float64)
    if values.ndim != 2 or not np.all(np.isfinite(values)):
        return message
    extra = _extra_columns(values) if values.shape[1] > 2 and np.all(values >= 0) else []
    if extra:
        keep = [j for j in range(values.shape[1]) if j not in extra]
        what = "; ".join(f"{_label(table, j)}: {_describe(values[:, j])}" for j in extra)
        labels = [j for j in extra if "like labels" in _describe(values[:, j])]
        hint = f"pick the {len(keep)} probability columns with {_selection_hint(table, keep, api)}"
        if labels and table.columns:
            column = table.columns[labels[0]]
            where = f"labels={column!r}" if api else f"--labels {table.source}:{column}"
            hint += f", and the labels with {where}"
        many = "s" if len(extra) > 1 else ""
        return (f"{name} must hold only the class probabilities (rows summing to 1), got {len(extra)} extra "
                f"column{many} ({what}): {hint}")  # fmt: skip
    sums = values.sum(axis=1)
    if np.all(values >= 0) and np.all(np.abs(sums - 1.0) <= _ROUNDING):
        return (f"{message}; probabilities off by rounding (row sums {sums.min():.6g}..{sums.max():.6g}): "
                "write them with more digits, or divide each row by its sum")  # fmt: skip
    return message
