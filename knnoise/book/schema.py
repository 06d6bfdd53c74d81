"""Parameter schemas: constraints as data, one validator, one message format.

A :class:`Schema` maps each name of a notebook's ``parameters`` cell to a constraint (:class:`Interval`,
:class:`Options`, :class:`Boolean`, :class:`Path`, :class:`NoneOr`, :class:`ListOf`), with rules across
parameters (:class:`When`) and derived entries. :func:`validate`, the only validator, raises
:class:`ParameterError` ``"<notebook>: <name> must be <allowed>, got <value>"`` (``<allowed>`` is the
constraint's ``str``). A string given for a non-string constraint is read as YAML first: ``papermill -p ks
"[1, 5, 25]"`` passes text. Each constraint lists values it rejects (after scikit-learn's
``generate_invalid_param_val``), so a test can try a bad value of every kind on every parameter
(:func:`invalid_cases`). Only numpy and PyYAML are imported: validating takes milliseconds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np

from knnoise.book.errors import ParameterError

__all__ = [
    "Boolean",
    "Constraint",
    "Interval",
    "ListOf",
    "NoneOr",
    "Options",
    "ParameterError",
    "Path",
    "Schema",
    "When",
    "derive",
    "invalid_cases",
    "validate",
]


class Constraint:
    """What one parameter allows.

    Subclasses define :meth:`accepts`, ``__str__`` (the allowed values in words, completing
    ``"<name> must be ..."``), :meth:`example` and :meth:`invalid_values`; :meth:`convert` turns an accepted
    value into the one the notebook uses (``int`` for integers, a float array for noise levels, ...).
    """

    text = False  # True for string constraints: a string is then a value, never YAML text to parse

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is allowed."""
        raise NotImplementedError

    def convert(self, value: Any) -> Any:
        """The value the notebook uses, for an accepted ``value``."""
        return value

    def example(self) -> Any:
        """One allowed value."""
        raise NotImplementedError

    def invalid_values(self) -> list[Any]:
        """Values of every kind this constraint rejects (wrong type, out of range, ...); never empty."""
        raise NotImplementedError


@dataclass(frozen=True)
class Interval(Constraint):
    """An ``int`` or a finite real (``float``) in ``low..high``; a bound of None is unbounded.

    ``closed`` says which bounds are allowed values: ``"both"``, ``"left"``, ``"right"`` or ``"neither"``.
    Booleans are never numbers; numpy scalars are. A real is returned as ``float``, an integer as ``int``.
    """

    type: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def __post_init__(self) -> None:
        if self.type not in (int, float):
            raise TypeError(f"Interval type must be int or float, got {self.type!r}")
        if self.closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"closed must be 'both', 'left', 'right' or 'neither', got {self.closed!r}")
        if self.type is int and self.closed != "both":
            raise ValueError("an integer Interval takes closed='both' (write the bound that is allowed)")
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError(f"Interval needs low < high, got {self.low} and {self.high}")

    @property
    def _left(self) -> bool:
        return self.closed in ("both", "left")

    @property
    def _right(self) -> bool:
        return self.closed in ("both", "right")

    def accepts(self, value: Any) -> bool:
        kind = Integral if self.type is int else Real
        if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(float(value)):
            return False
        low_ok = self.low is None or (value >= self.low if self._left else value > self.low)
        return low_ok and (self.high is None or (value <= self.high if self._right else value < self.high))

    def convert(self, value: Any) -> Any:
        return self.type(value)

    def __str__(self) -> str:
        if self.type is int:
            if self.low is not None and self.high is not None:
                return f"an integer in {self.low}..{self.high}"
            if self.low is not None:
                return f"an integer >= {self.low}"
            return f"an integer <= {self.high}" if self.high is not None else "an integer"
        left, right = self._left, self._right
        if self.low is not None and self.high is not None:
            return f"a number in {'[' if left else '('}{self.low:g}, {self.high:g}{']' if right else ')'}"
        if self.low is not None:
            return f"a number {'>=' if left else '>'} {self.low:g}"
        if self.high is not None:
            return f"a number {'<=' if right else '<'} {self.high:g}"
        return "a finite number"

    def example(self) -> Any:
        if self.low is not None and self.high is not None and self.type is float:
            return (self.low + self.high) / 2
        if self.low is not None:
            return self.low if self._left else self.low + 1.0
        if self.high is not None:
            return self.high if self._right else self.high - 1.0
        return self.type(0)

    def invalid_values(self) -> list[Any]:
        step = 1 if self.type is int else 0.5
        bad: list[Any] = []
        if self.low is not None:
            bad.append(self.low - step if self._left else self.low)
        if self.high is not None:
            bad.append(self.high + step if self._right else self.high)
        if self.type is int:
            bad.append(self.example() + 0.5)  # in range, not an integer
        return [*bad, "text"]


@dataclass(frozen=True, init=False)
class Options(Constraint):
    """One of ``options`` (compared with their type: ``1`` is not ``True``); ``Options("a", "b")``."""

    options: tuple[Any, ...]

    def __init__(self, *options: Any) -> None:
        if not options:
            raise ValueError("Options needs at least one option")
        object.__setattr__(self, "options", options)

    @property
    def text(self) -> bool:  # type: ignore[override]
        return all(isinstance(o, str) for o in self.options)

    def accepts(self, value: Any) -> bool:
        return any(type(value) is type(o) and value == o for o in self.options)

    def __str__(self) -> str:
        return repr(self.options[0]) if len(self.options) == 1 else f"one of {self.options!r}"

    def example(self) -> Any:
        return self.options[0]

    def invalid_values(self) -> list[Any]:
        return ["not " + " or ".join(map(str, self.options))]


@dataclass(frozen=True)
class Boolean(Constraint):
    """``True`` or ``False`` (not 0 or 1)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool | np.bool_)

    def convert(self, value: Any) -> bool:
        return bool(value)

    def __str__(self) -> str:
        return "True or False"

    def example(self) -> bool:
        return True

    def invalid_values(self) -> list[Any]:
        return ["maybe", 2]


@dataclass(frozen=True)
class Path(Constraint):
    """A non-empty path (a string or an ``os.PathLike``), returned as given; ``what`` says which file."""

    what: str = ""
    text = True

    def accepts(self, value: Any) -> bool:
        return isinstance(value, os.PathLike) or (isinstance(value, str) and value != "")

    def __str__(self) -> str:
        return f"a path ({self.what})" if self.what else "a path"

    def example(self) -> str:
        return "file.npz"

    def invalid_values(self) -> list[Any]:
        return [1, ""]


@dataclass(frozen=True)
class NoneOr(Constraint):
    """None, or a value of ``constraint``; None becomes ``default`` (a value or a callable) when given.

    ``default_text`` describes the default in the message (by default its ``repr``).
    """

    constraint: Constraint
    default: Any = None
    default_text: str = ""

    @property
    def text(self) -> bool:  # type: ignore[override]
        return self.constraint.text

    def accepts(self, value: Any) -> bool:
        return value is None or self.constraint.accepts(value)

    def convert(self, value: Any) -> Any:
        if value is None:
            if self.default is None:
                return None
            value = self.default() if callable(self.default) else self.default
        return self.constraint.convert(value)

    def __str__(self) -> str:
        if self.default is None:
            return f"{self.constraint} or None"
        return f"{self.constraint}, or None for {self.default_text or repr(self.default)}"

    def example(self) -> Any:
        return None

    def invalid_values(self) -> list[Any]:
        return [v for v in self.constraint.invalid_values() if v is not None]


@dataclass(frozen=True)
class ListOf(Constraint):
    """A non-empty list (or tuple, or 1-D array) whose entries satisfy ``item``.

    ``unique``: no entry twice. ``sort``: returned sorted. ``scalar``: one bare entry counts as a list of
    one. ``as_array``: returned as a float64 numpy array (else a list of converted entries).
    """

    item: Constraint
    unique: bool = False
    sort: bool = False
    scalar: bool = False
    as_array: bool = False

    def _entries(self, value: Any) -> list[Any] | None:
        if isinstance(value, list | tuple | range):
            return list(value)
        if isinstance(value, np.ndarray) and value.ndim == 1:
            return value.tolist()
        if self.scalar and self.item.accepts(value):
            return [value]
        return None

    def accepts(self, value: Any) -> bool:
        entries = self._entries(value)
        if not entries or not all(self.item.accepts(v) for v in entries):
            return False
        return not self.unique or len(set(map(self.item.convert, entries))) == len(entries)

    def convert(self, value: Any) -> Any:
        entries = [self.item.convert(v) for v in self._entries(value) or []]
        if self.sort:
            entries = sorted(entries)
        return np.asarray(entries, dtype=np.float64) if self.as_array else entries

    def __str__(self) -> str:
        text = "a non-empty list" + (" of distinct values" if self.unique else "") + f", each {self.item}"
        return text + (", or one such value" if self.scalar else "")

    def example(self) -> list[Any]:
        return [self.item.example()]

    def invalid_values(self) -> list[Any]:
        good = self.item.example()
        bad: list[Any] = [[], *([v] for v in self.item.invalid_values())]
        if self.unique:
            bad.append([good, good])
        bad.append(self.item.invalid_values()[0] if self.scalar else good)  # not a list
        return bad


@dataclass(frozen=True)
class When:
    """A rule across parameters: ``name`` must satisfy ``constraint`` whenever ``other`` is in ``values``."""

    other: str
    values: tuple[Any, ...]
    name: str
    constraint: Constraint

    def allowed(self) -> str:
        """The rule in words, completing ``"<name> must be ..."``."""
        which = repr(self.values[0]) if len(self.values) == 1 else f"one of {self.values!r}"
        return f"{self.constraint} when {self.other} is {which}"

    def violated_by(self, values: Mapping[str, Any]) -> bool:
        """Whether ``values`` (checked and converted) break the rule; False when a name is absent."""
        if self.other not in values or self.name not in values:
            return False
        return values[self.other] in self.values and not self.constraint.accepts(values[self.name])


@dataclass(frozen=True)
class Schema:
    """A notebook's parameters: ``params`` (name -> constraint), ``rules`` and ``derived`` entries.

    ``derived`` maps an entry's name to a function of the validated values (e.g. ``schedule``: the
    training schedule as one dict); :func:`derive` computes them.
    """

    notebook: str
    params: Mapping[str, Constraint]
    rules: tuple[When, ...] = ()
    derived: Mapping[str, Callable[[Mapping[str, Any]], Any]] = field(default_factory=dict)


def _parsed(value: Any, constraint: Constraint) -> Any:
    """A string for a non-string constraint is YAML text (as papermill passes ``-p`` values)."""
    if isinstance(value, str) and not constraint.text:
        import yaml

        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return value
    return value


def validate(schema: Schema, values: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Check ``values`` (name -> value) against ``schema``; return them converted, None filled by defaults.

    ``partial`` allows names of the schema to be missing (the runner skips defaults that are not literals).
    Raises :class:`ParameterError` for the first bad value, for a name the schema does not declare, and
    (unless ``partial``) for one it declares that ``values`` lacks.
    """
    nb = schema.notebook
    unknown = [k for k in values if k not in schema.params]
    if unknown:
        raise ParameterError(
            f"{nb}: unknown parameter {unknown[0]!r}; the schema declares {', '.join(schema.params)}"
        )
    missing = [k for k in schema.params if k not in values]
    if missing and not partial:
        raise ParameterError(f"{nb}: no value for {', '.join(missing)} (declared by the notebook's schema)")
    checked: dict[str, Any] = {}
    for name, constraint in schema.params.items():
        if name not in values:
            continue
        value = _parsed(values[name], constraint)
        if not constraint.accepts(value):
            raise ParameterError.invalid(nb, name, constraint, value)
        checked[name] = constraint.convert(value)
    for rule in schema.rules:
        if rule.violated_by(checked):
            raise ParameterError.invalid(nb, rule.name, rule.allowed(), checked[rule.name])
    return checked


def derive(schema: Schema, values: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's derived entries (``schedule``, ``data``, ...) computed from validated ``values``."""
    return {name: function(values) for name, function in schema.derived.items()}


def invalid_cases(schema: Schema) -> list[tuple[str, dict[str, Any]]]:
    """Every bad value the schema knows: ``(name, values)`` pairs, each of which :func:`validate` rejects.

    One case per invalid value of each parameter's constraint, and per rule a case that satisfies every
    parameter's own constraint but breaks the rule (``values`` then sets the rule's two names).
    """
    cases = [(name, {name: bad}) for name, c in schema.params.items() for bad in c.invalid_values()]
    for rule in schema.rules:
        own = schema.params[rule.name]
        for bad in [*rule.constraint.invalid_values(), None, own.example()]:
            if own.accepts(bad) and not rule.constraint.accepts(bad):
                cases.append((rule.name, {rule.other: rule.values[0], rule.name: bad}))
                break
    return cases
