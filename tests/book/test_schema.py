"""knnoise.book.schema: the constraints, the one validator and its one message format."""

from __future__ import annotations

import os
import re
from pathlib import PurePosixPath

import numpy as np
import pytest

from knnoise.book.errors import BookError
from knnoise.book.schema import (
    Boolean,
    Interval,
    ListOf,
    NoneOr,
    Options,
    ParameterError,
    Path,
    Schema,
    When,
    derive,
    invalid_cases,
    validate,
)

CONSTRAINTS = [
    Interval(int, 1),
    Interval(int, 2, 10),
    Interval(int, None, 5),
    Interval(float, 0.0, 1.0),
    Interval(float, 0.0, 1.0, closed="neither"),
    Interval(float, 0.0, None, closed="neither"),
    Interval(float, None, 2.0, closed="left"),
    Interval(float),
    Options("lowest", "random", "strict"),
    Options(None),
    Boolean(),
    Path(),
    NoneOr(Interval(int, 1)),
    NoneOr(ListOf(Interval(float, 0.0, 1.0), as_array=True), default=[0.5]),
    ListOf(Interval(int, 1), unique=True, sort=True, scalar=True),
    ListOf(Interval(float, 0.0, 1.0)),
]


def _schema(**params) -> Schema:
    return Schema("nb", params)


@pytest.mark.parametrize("constraint", CONSTRAINTS, ids=repr)
def test_example_is_accepted_and_every_invalid_value_rejected(constraint) -> None:
    assert constraint.accepts(constraint.example())
    bad = constraint.invalid_values()
    assert bad
    for value in bad:
        assert not constraint.accepts(value), value


@pytest.mark.parametrize(
    ("constraint", "text"),
    [
        (Interval(int, 1), "an integer >= 1"),
        (Interval(int, 2, 10), "an integer in 2..10"),
        (Interval(int, None, 5), "an integer <= 5"),
        (Interval(float, 0.0, 1.0), "a number in [0, 1]"),
        (Interval(float, 0.0, 1.0, closed="neither"), "a number in (0, 1)"),
        (Interval(float, 0.0, None, closed="neither"), "a number > 0"),
        (Interval(float, None, 2.0, closed="left"), "a number < 2"),
        (Interval(float), "a finite number"),
        (Options("a", "b"), "one of ('a', 'b')"),
        (Options(None), "None"),
        (Boolean(), "True or False"),
        (Path("the .npz"), "a path (the .npz)"),
        (NoneOr(Interval(int, 1)), "an integer >= 1 or None"),
        (
            NoneOr(ListOf(Interval(int, 1)), default=[3]),
            "a non-empty list, each an integer >= 1, or None for [3]",
        ),
        (
            NoneOr(Interval(int, 1), default=lambda: 3, default_text="three"),
            "an integer >= 1, or None for three",
        ),
        (
            ListOf(Interval(int, 1), unique=True, scalar=True),
            "a non-empty list of distinct values, each an integer >= 1, or one such value",
        ),
    ],
)
def test_constraints_describe_what_they_allow(constraint, text: str) -> None:
    assert str(constraint) == text


def test_interval_bounds_and_types() -> None:
    positive = Interval(float, 0.0, None, closed="neither")
    assert positive.accepts(1) and positive.accepts(np.float32(0.5)) and positive.accepts(np.int64(2))
    assert (
        not positive.accepts(0.0)
        and not positive.accepts(float("inf"))
        and not positive.accepts(float("nan"))
    )
    assert not positive.accepts(True)
    assert positive.convert(1) == 1.0 and type(positive.convert(1)) is float
    count = Interval(int, 1)
    assert count.accepts(np.int64(3)) and type(count.convert(np.int64(3))) is int
    assert not count.accepts(2.0) and not count.accepts(True) and not count.accepts("3")
    unit = Interval(float, 0.0, 1.0)
    assert unit.accepts(0) and unit.accepts(1.0) and not unit.accepts(1.0000001)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((str,), {}), ((int, 1), {"closed": "left"}), ((float, 1.0, 0.0), {}), ((float,), {"closed": "open"})],
)
def test_interval_rejects_a_bad_declaration(args, kwargs) -> None:
    with pytest.raises((TypeError, ValueError)):
        Interval(*args, **kwargs)


def test_options_compare_with_their_type() -> None:
    flag = Options(1, 2)
    assert flag.accepts(1) and not flag.accepts(True) and not flag.accepts(1.0)
    assert Options("a", "b").text and not flag.text
    assert Options("a", "b") == Options("a", "b")
    with pytest.raises(ValueError):
        Options()


def test_boolean_and_path() -> None:
    assert Boolean().accepts(np.bool_(True)) and Boolean().convert(np.bool_(True)) is True
    assert not Boolean().accepts(1)
    assert Path().accepts(PurePosixPath("a.npz")) and isinstance(PurePosixPath("a"), os.PathLike)
    assert not Path().accepts("") and not Path().accepts(1)


def test_list_entries_order_uniqueness_and_arrays() -> None:
    ks = ListOf(Interval(int, 1), unique=True, sort=True, scalar=True)
    assert ks.convert([25, 1, 5]) == [1, 5, 25]
    assert ks.convert(7) == [7] and ks.convert((np.int64(3), 2)) == [2, 3]
    assert ks.convert(np.array([4, 2])) == [2, 4]
    assert not ks.accepts([3, 3]) and not ks.accepts([]) and not ks.accepts([1, 0]) and not ks.accepts("1")
    levels = ListOf(Interval(float, 0.0, 1.0), as_array=True)
    out = levels.convert([0, 0.5])
    assert out.dtype == np.float64 and out.tolist() == [0.0, 0.5]
    assert not levels.accepts(0.5)  # one bare level is not a list here
    assert not levels.accepts(np.zeros((2, 2)))


def test_none_or_fills_its_default() -> None:
    levels = NoneOr(ListOf(Interval(float, 0.0, 1.0), as_array=True), default=lambda: np.arange(3) / 4)
    np.testing.assert_array_equal(levels.convert(None), [0.0, 0.25, 0.5])
    assert NoneOr(Interval(int, 1)).convert(None) is None
    assert NoneOr(ListOf(Interval(int, 1)), default=[2]).convert(None) == [2]


def test_validate_returns_converted_values_and_parses_yaml_text() -> None:
    schema = _schema(
        ks=ListOf(Interval(int, 1), unique=True, sort=True, scalar=True),
        ties=Options("lowest", "strict"),
        lr=Interval(float, 0.0, None, closed="neither"),
        subset=NoneOr(Interval(int, 1)),
        path=NoneOr(Path()),
        flag=Boolean(),
    )
    values = {
        "ks": "[25, 1, 5]",
        "ties": "lowest",
        "lr": "0.01",
        "subset": "null",
        "path": "null",
        "flag": "true",
    }
    assert validate(schema, values) == {
        "ks": [1, 5, 25],
        "ties": "lowest",
        "lr": 0.01,
        "subset": None,
        "path": "null",  # a string constraint takes text as it is
        "flag": True,
    }


def test_one_message_format() -> None:
    schema = _schema(ks=ListOf(Interval(int, 1), unique=True, sort=True, scalar=True))
    with pytest.raises(ParameterError) as info:
        validate(schema, {"ks": "[1, 0]"})
    assert str(info.value) == (
        "nb: ks must be a non-empty list of distinct values, each an integer >= 1, or one such value, "
        "got [1, 0]"
    )
    assert (info.value.notebook, info.value.name) == ("nb", "ks")
    assert isinstance(info.value, ValueError) and isinstance(info.value, BookError)
    with pytest.raises(
        ParameterError, match=re.escape("nb: ks must be a non-empty list") + ".*got '\\[1, 0'$"
    ):
        validate(schema, {"ks": "[1, 0"})  # not YAML: the text itself is the bad value


def test_unknown_and_missing_names() -> None:
    schema = _schema(a=Interval(int, 1), b=Interval(int, 1))
    with pytest.raises(ParameterError, match="nb: unknown parameter 'c'; the schema declares a, b"):
        validate(schema, {"a": 1, "b": 1, "c": 1})
    with pytest.raises(ParameterError, match="nb: no value for b"):
        validate(schema, {"a": 1})
    assert validate(schema, {"a": 1}, partial=True) == {"a": 1}


def test_rules_across_parameters() -> None:
    rule = When("dataset", ("features",), "data_path", Path("the .npz"))
    schema = Schema("nb", {"dataset": Options("digits", "features"), "data_path": NoneOr(Path())}, (rule,))
    assert validate(schema, {"dataset": "digits", "data_path": None})["data_path"] is None
    with pytest.raises(ParameterError) as info:
        validate(schema, {"dataset": "features", "data_path": None})
    assert str(info.value) == "nb: data_path must be a path (the .npz) when dataset is 'features', got None"
    assert validate(schema, {"dataset": "features"}, partial=True) == {"dataset": "features"}


def test_derived_entries() -> None:
    schema = Schema("nb", {"a": Interval(int, 1)}, derived={"twice": lambda v: 2 * v["a"]})
    assert derive(schema, validate(schema, {"a": 3})) == {"twice": 6}


def test_invalid_cases_cover_every_parameter_and_rule() -> None:
    rule = When("dataset", ("features",), "data_path", Path())
    schema = Schema(
        "nb",
        {"dataset": Options("digits", "features"), "data_path": NoneOr(Path()), "k": Interval(int, 1, 9)},
        (rule,),
    )
    cases = invalid_cases(schema)
    assert {name for name, _ in cases} == {"dataset", "data_path", "k"}
    assert ("data_path", {"dataset": "features", "data_path": None}) in cases
    good = {"dataset": "digits", "data_path": None, "k": 1}
    for name, bad in cases:
        with pytest.raises(ParameterError, match=f"^nb: {name} must be "):
            validate(schema, {**good, **bad})
