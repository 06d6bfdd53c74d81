"""Every shared input check, with one message format: ``"<name> must be <allowed>, got <value>"``.

The science layers (``theory``, ``noise``, ``knn``, ``dnn``, ``data``) call these before any numba or
torch code runs, so bad input is a clear ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind,
not allowed) naming the parameter. Values that users' own code naturally produces are accepted: integral
floats as labels, bfloat16/float16/float32 probability rows whose sums are off only by that dtype's
rounding (renormalised in float64), and torch tensors (any dtype, any device, ``requires_grad``) wherever
an array is checked for probabilities, labels or a corruption matrix.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "TIE_MODES",
    "check_choice",
    "check_corruption",
    "check_fraction",
    "check_int",
    "check_int_array",
    "check_ks",
    "check_noise_levels",
    "check_number",
    "check_points",
    "check_probabilities",
    "check_seed",
    "check_ties",
    "fail",
    "sum_tolerance",
]

TIE_MODES = ("strict", "random", "lowest")
"""Tie rules of a plurality vote: a tie for first is wrong (Eq. 2), broken at random, or to the lowest."""

_SUM_TOL_FLOAT64 = 1e-9  # probabilities computed in float64: only rounding of a few operations
_SUM_TOL_MAX = 1e-2  # never looser than this, whatever the dtype and L (a row summing to 0.99 is rounding)
_EPS_NUMPY_LACKS = {"bfloat16": 2.0**-7}  # torch's bfloat16: 8 bits of mantissa (numpy has no such dtype)


def fail(
    name: str, allowed: str, value: Any, error: type[Exception] = ValueError, *, raw: bool = False
) -> Exception:
    """The project's error: ``"<name> must be <allowed>, got <value>"`` (returned, for ``raise``).

    ``raw=True`` shows ``value`` as it is (a description such as ``"shape (2, 3)"``) instead of its repr.
    """
    raw = raw or (isinstance(value, str) and value.startswith("shape "))
    return error(f"{name} must be {allowed}, got {value if raw else repr(value)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def check_int(
    name: str,
    value: Any,
    *,
    minimum: int | None = 1,
    maximum: int | None = None,
    allow_none: bool = False,
    what: str = "",
) -> int | None:
    """An integer in ``minimum..maximum`` (either bound may be None), or None when ``allow_none``.

    ``what`` is appended to the allowed range in the message, e.g. ``" (K <= k_max of the graph)"``.
    """
    if value is None and allow_none:
        return None
    if minimum is not None and maximum is not None:
        allowed = f"an integer in {minimum}..{maximum}"
    elif minimum is not None:
        allowed = f"an integer >= {minimum}"
    elif maximum is not None:
        allowed = f"an integer <= {maximum}"
    else:
        allowed = "an integer"
    allowed += what + (" or None" if allow_none else "")
    if not _is_int(value):
        raise fail(name, allowed, value, TypeError)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise fail(name, allowed, int(value))
    return int(value)


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
) -> float | None:
    """A finite real number in the interval ``low..high`` (open ends when asked), as a float."""
    if value is None and allow_none:
        return None
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    if low is None and high is None:
        allowed = "a finite number"
    elif high is None:
        allowed = f"a number {'>' if low_open else '>='} {low:g}"
    elif low is None:
        allowed = f"a number {'<' if high_open else '<='} {high:g}"
    else:
        allowed = f"a number in {left}{low:g}, {high:g}{right}"
    allowed += " or None" if allow_none else ""
    if not _is_real(value):
        raise fail(name, allowed, value, TypeError)
    x = float(value)
    too_low = low is not None and (x <= low if low_open else x < low)
    too_high = high is not None and (x >= high if high_open else x > high)
    if not np.isfinite(x) or too_low or too_high:
        raise fail(name, allowed, value)
    return x


def check_fraction(name: str, value: Any) -> float:
    """A number in [0, 1] (a noise level: the fraction of training labels selected for corruption)."""
    return check_number(name, value, low=0.0, high=1.0)


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> Any:
    """One of ``allowed``."""
    if isinstance(value, list | dict | set) or value not in allowed:
        raise fail(name, f"one of {tuple(allowed)}", value)
    return value


def check_ties(ties: Any, name: str = "ties") -> int:
    """A tie rule of :data:`TIE_MODES`, as its index (the numba kernels' code)."""
    return TIE_MODES.index(check_choice(name, ties, TIE_MODES))


def check_seed(
    seed: Any, name: str = "seed", *, allow_sequence: bool = True
) -> int | list[int] | np.random.Generator:
    """A non-negative integer, a :class:`numpy.random.Generator`, or (``allow_sequence``) a non-empty
    sequence of non-negative integers (entropy for :class:`numpy.random.SeedSequence`)."""
    if isinstance(seed, np.random.Generator):
        return seed
    allowed = "a non-negative integer" + (", a sequence of them" if allow_sequence else "")
    allowed += " or a numpy.random.Generator"
    if allow_sequence and isinstance(seed, Sequence | np.ndarray) and not isinstance(seed, str | bytes):
        entries = list(np.asarray(seed).ravel().tolist()) if isinstance(seed, np.ndarray) else list(seed)
        if entries and all(_is_int(s) and s >= 0 for s in entries):
            return [int(s) for s in entries]
        raise fail(name, allowed, seed, TypeError)
    if not _is_int(seed) or seed < 0:
        raise fail(name, allowed, seed, TypeError)
    return int(seed)


def check_ks(
    name: str, value: Any, *, maximum: int | None = None, what: str = ""
) -> tuple[np.ndarray, bool]:
    """Neighbourhood sizes: one K >= 1 or a non-empty 1-D sequence of them (each <= ``maximum``).

    Returns the ks as an int64 array (in the given order) and whether a single integer was given.
    """
    if _is_int(value):
        return np.array([check_int(name, value, maximum=maximum, what=what)], dtype=np.int64), True
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray | range):
        raise fail(name, "a positive integer K or a 1-D sequence of them", value, TypeError)
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise fail(name, "a positive integer K or a 1-D sequence of them", f"shape {arr.shape}", raw=True)
    if arr.size == 0:
        raise fail(name, "a non-empty sequence of positive integers", value)
    ks = [check_int(f"{name}[{i}]", k, maximum=maximum, what=what) for i, k in enumerate(arr.tolist())]
    return np.asarray(ks, dtype=np.int64), False


def check_noise_levels(name: str, value: Any) -> np.ndarray:
    """A non-empty 1-D sequence of noise levels in [0, 1], as a float64 array."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray | range):
        raise fail(name, "a non-empty list of noise levels in [0, 1]", value, TypeError)
    arr = list(np.asarray(value).ravel().tolist()) if isinstance(value, np.ndarray) else list(value)
    if not arr:
        raise fail(name, "a non-empty list of noise levels in [0, 1]", value)
    return np.asarray([check_fraction(f"{name}[{i}]", g) for i, g in enumerate(arr)], dtype=np.float64)


def _whole_numbers(name: str, arr: np.ndarray) -> np.ndarray:
    """Float labels as int64 when every one is a whole number (2.0); else a TypeError naming the first."""
    bad = np.asarray(~np.isfinite(arr) | (arr != np.round(arr)))
    if np.any(bad):
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" (row {index[0]})" if arr.ndim == 1 else (f" (index {index})" if arr.ndim else "")
        allowed = "integer labels (whole numbers such as 2 or 2.0)"
        raise TypeError(f"{name} must be {allowed}, got {float(arr[index])!r}{where}")
    too_big = np.abs(arr) >= 2.0**63
    if np.any(too_big):
        raise fail(name, "labels that fit in int64", _first_bad(arr, too_big), raw=True)
    return arr.astype(np.int64)


def check_int_array(name: str, value: Any, *, n_labels: int | None = None) -> np.ndarray:
    """Integer labels (integral floats accepted) as int64, each in ``0..n_labels-1`` when given.

    ``value``: an array_like or a torch tensor (any device). A float that is not a whole number is named
    with its row: ``"y must be integer labels (whole numbers such as 2 or 2.0), got 2.5 (row 3)"``.
    """
    arr, _ = _as_array(name, value)
    if arr.dtype.kind == "f":
        arr = _whole_numbers(name, arr)
    elif arr.dtype.kind not in "iu":
        kind = f"dtype {arr.dtype}" if arr.ndim else repr(value)
        raise TypeError(f"{name} must be integer labels, got {kind}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or (n_labels is not None and hi >= n_labels):
            allowed = "labels >= 0"
            if n_labels is not None:
                allowed = f"labels in 0..{n_labels - 1} (L = {n_labels})"
            raise fail(name, allowed, lo if lo < 0 else hi)
    return arr


def _is_tensor(value: Any) -> bool:
    """A torch tensor (or a subclass such as ``Parameter``), recognised without importing torch."""
    return any(c.__name__ == "Tensor" and c.__module__.startswith("torch") for c in type(value).__mro__)


def _as_array(name: str, value: Any) -> tuple[np.ndarray, Any]:
    """``value`` as a numpy array, and its dtype as given (a torch tensor's torch dtype).

    A torch tensor may be on any device and require grad; a float dtype numpy lacks (bfloat16, float8)
    is widened exactly to float64, while the returned dtype still says what it was, for
    :func:`sum_tolerance`.
    """
    if not _is_tensor(value):
        arr = np.asarray(value)
        return arr, arr.dtype
    tensor = value.detach()
    if tensor.is_floating_point() and _dtype_name(tensor.dtype) not in ("float16", "float32", "float64"):
        tensor = tensor.double()
    try:
        return tensor.cpu().numpy(), value.dtype
    except (RuntimeError, TypeError, ValueError, NotImplementedError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise TypeError(
            f"{name} must be an array numpy can hold, got a torch {_dtype_name(value.dtype)} tensor on "
            f"{value.device} ({reason})"
        ) from None


def _dtype_name(dtype: Any) -> str:
    """``float32`` for numpy's and torch's float32 alike; names are kept (``"bfloat16"``)."""
    if isinstance(dtype, str):
        return dtype
    text = str(dtype)
    return text.removeprefix("torch.") if text.startswith("torch.") else str(np.dtype(dtype))


def _torch_eps(name: str) -> float | None:
    """eps of torch's float dtype ``name`` when torch is loaded and has it, else None."""
    torch = sys.modules.get("torch")
    dtype = getattr(torch, name, None) if torch is not None else None
    if dtype is None or type(dtype).__name__ != "dtype" or not dtype.is_floating_point:
        return None
    return float(torch.finfo(dtype).eps) if dtype.itemsize < 8 else None


def _eps(dtype: Any) -> float | None:
    """The machine epsilon of a float dtype narrower than float64 (numpy's, torch's or a name such as
    ``"bfloat16"``); None for float64 and for non-float dtypes."""
    name = _dtype_name(dtype)
    if name in _EPS_NUMPY_LACKS:
        return _EPS_NUMPY_LACKS[name]
    try:
        np_dtype = np.dtype(name)
    except TypeError:
        return _torch_eps(name)
    if np_dtype.kind != "f" or np_dtype.itemsize >= 8:
        return None
    return float(np.finfo(np_dtype).eps)


def sum_tolerance(dtype: Any, n_labels: int) -> float:
    """How far from 1 a probability row of ``dtype`` may sum from rounding alone (scales with eps and L).

    ``dtype``: a numpy dtype, a torch dtype, or a name (``"bfloat16"``, ``"float16"``, ...). float64 and
    integer rows get ``1e-9``; narrower floats ``4 L eps``, at most ``1e-2`` (bfloat16, eps ``2**-7``,
    always gets ``1e-2``: its rows, rounded once from float32, sum to 1 within ``2**-8``).
    """
    eps = _eps(dtype)
    if eps is None:
        return _SUM_TOL_FLOAT64
    return float(min(max(_SUM_TOL_FLOAT64, 4.0 * n_labels * eps), _SUM_TOL_MAX))


def _first_bad(arr: np.ndarray, mask: np.ndarray) -> str:
    bad = tuple(int(b) for b in np.argwhere(mask)[0])
    return f"{float(arr[bad])!r} at index {bad}"


def check_probabilities(
    name: str, value: Any, *, allow_batch: bool = True, logits_hint: bool = True, dtype: Any = None
) -> np.ndarray:
    """Probability rows ``(L,)`` or ``(M, L)`` as float64, each renormalised to sum to 1 exactly.

    Any float or integer dtype is accepted, and torch tensors (bfloat16 too, any device, requiring grad).
    A row may be off from 1 only by its dtype's rounding (:func:`sum_tolerance`); a row further off is an
    error (and logits get a hint to apply softmax). ``dtype``: the dtype the values were stored in when
    that differs from ``value``'s own (a bfloat16 file read as float32): it sets the tolerance.
    """
    arr, given = _as_array(name, value)
    stored = _dtype_name(given if dtype is None else dtype)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a float array of probabilities, got dtype {stored}")
    allowed = "(L,) or (M, L)" if allow_batch else "(L,)"
    if arr.ndim not in ((1, 2) if allow_batch else (1,)) or arr.size == 0:
        raise fail(name, f"an array of shape {allowed} with L >= 1", f"shape {arr.shape}", raw=True)
    tol = sum_tolerance(stored, arr.shape[-1])
    arr = np.asarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise fail(name, "finite", _first_bad(arr, ~np.isfinite(arr)), raw=True)
    if np.any(arr < 0):
        hint = " (logits? apply softmax first)" if logits_hint and arr.ndim == 2 else ""
        raise ValueError(f"{name} must be non-negative{hint}, got {_first_bad(arr, arr < 0)}")
    sums = arr.sum(axis=-1, keepdims=True)
    off = np.abs(sums[..., 0] - 1.0) > tol
    if np.any(off):
        where = int(np.argmax(off)) if arr.ndim == 2 else 0
        total = float(np.atleast_1d(sums[..., 0])[where])
        row = f" (row {where})" if arr.ndim == 2 else ""
        hint = " (logits? apply softmax first)" if logits_hint and total > 1.5 else ""
        raise ValueError(
            f"{name} must have rows summing to 1 (within {tol:.2g} for {stored}){hint}, got {total!r}{row}"
        )
    return arr / sums


def check_corruption(corruption: Any, n_labels: int | None = None, name: str = "corruption") -> np.ndarray:
    """A square, non-negative, row-stochastic ``P[y, y_noisy]`` (Eq. 3) as float64, rows renormalised."""
    arr, given = _as_array(name, corruption)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a float (L, L) matrix, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise fail(name, "a square (L, L) matrix", f"shape {arr.shape}", raw=True)
    if n_labels is not None and arr.shape[0] != n_labels:
        allowed = f"a ({n_labels}, {n_labels}) matrix to match L = {n_labels}"
        raise fail(name, allowed, f"shape {arr.shape}", raw=True)
    try:
        return check_probabilities(name, arr, logits_hint=False, dtype=given)
    except ValueError as err:
        raise ValueError(f"{err}; it must be a row-stochastic matrix P[y, y_noisy]") from None


def check_points(name: str, value: Any) -> np.ndarray:
    """A 2-D numeric array (rows = examples, columns = features) of finite values."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a numeric (float or integer) array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        hint = " (flatten images, e.g. with Dataset.flat(split))" if arr.ndim > 2 else ""
        allowed = f"a 2-D array (rows = examples, columns = features){hint}"
        raise fail(name, allowed, f"shape {arr.shape}", raw=True)
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise fail(name, "an array with at least one row and one column", f"shape {arr.shape}", raw=True)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise fail(name, "finite", _first_bad(arr, ~np.isfinite(arr)), raw=True)
    return arr
