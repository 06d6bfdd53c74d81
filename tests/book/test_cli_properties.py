"""Property-based: whatever bad argument or profile file ``python -m knnoise.book`` is given, it exits with
status 2 after exactly one ``error:`` line (argparse's usage lines may come first), prints no traceback and
starts nothing (no kernel, cluster or build). Run in-process through :func:`knnoise.book.cli.main` on the
two-notebook mini book (issue 18, point 4)."""

from __future__ import annotations

import functools
import os
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from knnoise import book
from knnoise.book import cli, preflight
from knnoise.book.schema import Interval, ListOf, Options, Schema

FAST = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SCHEMAS = {
    "alpha": Schema(
        "alpha",
        {
            "dataset": Options("digits", "mnist"),
            "seed": Interval(int, 0),
            "ks": ListOf(Interval(int, 1), unique=True, sort=True, scalar=True),
            "scale": Interval(float),
        },
    ),
    "beta": Schema("beta", {"seed": Interval(int, 0), "fail": Options(False, True)}),
}
DECLARED = {"dataset", "seed", "ks", "scale", "fail"}
OPTIONS = ("--profile", "--only", "--parameter", "--no-build", "--force", "--workers", "--scheduler",
           "--list", "--no-progress", "--root", "--help")  # fmt: skip


@pytest.fixture
def runner(mini: Path, monkeypatch: pytest.MonkeyPatch, no_work, cli_error):
    """``argv -> the error line`` on the mini book: asserts exit 2, one ``error:`` line last on stderr, no
    traceback, and that nothing was started."""
    monkeypatch.setattr(cli, "SCHEMAS", SCHEMAS)
    monkeypatch.setattr(preflight, "notebook_parameters", functools.cache(book.notebook_parameters))
    root = ["--root", str(mini)]

    def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
        status, line = cli_error([*argv, *root], capsys)
        assert status == 2, (argv, line)
        return line

    run.mini = mini
    return run


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
_VALUE_TEXT = _TEXT.filter(lambda t: not t.startswith("-"))  # argparse would take it for an option
_WORD = st.text(string.ascii_letters + string.digits + "_-.", min_size=1, max_size=10)


# ----------------------------------------------------------------------------------------------------
# Bad arguments


def _is_option_prefix(flag: str) -> bool:
    """argparse takes an unambiguous prefix of an option for the option."""
    return any(option.startswith(flag) for option in OPTIONS) or flag.startswith(("-h", "-p"))


_UNKNOWN_FLAG = st.one_of(_WORD.map(lambda w: "--" + w), _WORD.map(lambda w: "-" + w)).filter(
    lambda f: not _is_option_prefix(f)
)
_MISSING_VALUE = st.sampled_from(
    [["--profile"], ["--only"], ["-p"], ["-p", "seed"], ["--workers"], ["--scheduler"], ["--root"]]
)


@FAST
@given(flag=_UNKNOWN_FLAG, at_end=st.booleans())
def test_an_unknown_flag_exits_2(runner, capsys, flag: str, at_end: bool) -> None:
    argv = ["--profile", "t", "--no-build", flag] if at_end else [flag, "--profile", "t"]
    line = runner(argv, capsys)
    assert "unrecognized arguments" in line or "expected one argument" in line or flag in line


@FAST
@given(missing=_MISSING_VALUE)
def test_a_flag_without_its_value_exits_2(runner, capsys, missing: list[str]) -> None:
    line = runner(["--profile", "t", "--no-build", *missing], capsys)
    assert "expected" in line


@FAST
@given(name=_TEXT.filter(lambda n: n != "t" and not n.startswith("-")))
def test_an_unknown_profile_exits_2(runner, capsys, name: str) -> None:
    line = runner(["--profile", name, "--no-build"], capsys)
    assert line.startswith(f"error: unknown profile {name!r}; allowed: t")


@FAST
@given(names=st.lists(_VALUE_TEXT.filter(lambda n: n not in ("alpha", "beta")), min_size=1))
def test_an_unknown_notebook_exits_2(runner, capsys, names: list[str]) -> None:
    line = runner(["--profile", "t", "--no-build", "--only", "alpha", *names], capsys)
    assert line.startswith(f"error: unknown notebook {names[0]!r}")


def _not_a_seed(text: str) -> bool:
    """Whether ``text`` (YAML, as ``-p`` reads it: ``0x1``, ``1_0`` and ``1:0`` are integers) is no seed."""
    value = book.parse_cli_value(text)
    return not (type(value) is int and value >= 0)


_BAD_VALUES = {
    "seed": st.one_of(
        st.integers(max_value=-1).map(str),
        st.floats(-1e6, 1e6).filter(lambda x: abs(x) >= 1e-4 and not x.is_integer()).map(repr),
        _VALUE_TEXT.filter(_not_a_seed), st.just("[1]"),
    ),
    "ks": st.one_of(
        st.lists(st.integers(max_value=0), min_size=1).map(str),
        st.lists(st.integers(1, 5), min_size=2).filter(lambda ks: len(set(ks)) < len(ks)).map(str),
        st.just("[]"), st.just("x"), st.just("[1, a]"),
    ),
    "dataset": _VALUE_TEXT.filter(lambda d: book.parse_cli_value(d) not in ("digits", "mnist")),
    "fail": st.sampled_from(["0", "1", "yes?", "maybe", "[true]", "null"]),
}  # fmt: skip


@FAST
@given(data=st.data())
def test_a_bad_parameter_value_exits_2_naming_it(runner, capsys, data) -> None:
    key = data.draw(st.sampled_from(sorted(_BAD_VALUES)))
    value = data.draw(_BAD_VALUES[key])
    only = "beta" if key == "fail" else "alpha"
    line = runner(["--profile", "t", "--no-build", "--only", only, "-p", key, value], capsys)
    assert line.startswith(f"error: {only}: {key} must be "), line
    assert line.endswith("(from -p)")


@FAST
@given(key=_VALUE_TEXT.filter(lambda k: k not in DECLARED), value=_VALUE_TEXT)
def test_an_unknown_parameter_exits_2(runner, capsys, key: str, value: str) -> None:
    line = runner(["--profile", "t", "--no-build", "-p", key, value], capsys)
    assert line.startswith(f"error: unknown parameter {key!r}")


_PORT = st.one_of(
    st.just(""),
    st.integers(65536, 10**7).map(str),
    st.just("0"),
    st.just("00"),
    _WORD.filter(lambda p: not p.isdigit()),
)
_HOST = st.one_of(st.just("127.0.0.1"), st.just("sched.example.org"), st.just("[::1]"))
_BAD_ADDRESS = st.one_of(
    _HOST.map(lambda h: f"tcp://{h}"),  # no port
    st.tuples(_HOST, _PORT).map(lambda hp: f"tcp://{hp[0]}:{hp[1]}"),
    st.integers(1, 65535).map(lambda p: f"tcp://:{p}"),  # no host
    st.integers(1, 65535).map(lambda p: f"127.0.0.1:{p}"),  # no protocol
    st.integers(max_value=0).map(lambda n: f"local:{n}"),
    _TEXT.filter(lambda t: "://" not in t and not t.strip().startswith("local:") and not t.startswith("-")),
)  # fmt: skip


@FAST
@given(address=_BAD_ADDRESS)
def test_a_bad_scheduler_address_exits_2(runner, capsys, address: str) -> None:
    line = runner(["--profile", "t", "--no-build", "--scheduler", address], capsys)
    assert line.startswith("error: argument --scheduler: scheduler must be None, a worker count N >= 1, ")
    assert line.endswith(f"got {address!r}")


_BAD_WORKERS = st.one_of(
    st.integers(max_value=0).map(str), st.integers(min_value=4 * (os.cpu_count() or 1) + 1).map(str),
    st.floats().map(str), _WORD.filter(lambda w: not w.isdigit() and not w.startswith("-")), st.just(""),
    st.sampled_from(["٣", "²", "1e3", " ", "0x2"]),
)  # fmt: skip


@FAST
@given(workers=_BAD_WORKERS)
def test_a_bad_worker_count_exits_2(runner, capsys, workers: str) -> None:
    line = runner(["--profile", "t", "--no-build", f"--workers={workers}"], capsys)
    assert line.startswith("error: argument --workers: must be ")


# ----------------------------------------------------------------------------------------------------
# Bad profile files


def _loads(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError):
        return "not YAML"


_BROKEN = st.sampled_from([
    "globals: [", "globals:\n  seed: {1", "globals:\n\tseed: 1", "globals: 'x", "globals:\n  a: 1\n b: 2",
    "globals: *nope", "? [a]\n: 1", "globals: !!python/object:os.system x", "globals: {a: 1}\x07",
    "notebooks:\n  alpha:\n  - seed: 1\n    ks: [", "%YAML 9.9\n---\n{}", "globals: @x", "`", "{{",
])  # fmt: skip
_EMPTY = st.lists(st.sampled_from(["", "# a comment", "   ", "---", "# globals: {seed: 1}"]), max_size=4).map(
    "\n".join
)
_WRONG_SHAPE = st.one_of(
    st.sampled_from([
        "- globals", "globals", "3", "globals: [1, 2]", "notebooks: 3", "notebooks:\n  alpha: [1]",
        "global:\n  seed: 1", "globals: {1: 2}", "notebooks:\n  gamma:\n    seed: 1",
        "notebooks:\n  alpha:\n    sead: 1", "notebooks:\n  alpha:\n    null: 1", "{1: 2}",
    ]),
    _TEXT.filter(lambda t: not isinstance(_loads(t), dict)),  # any YAML that is not a mapping
)  # fmt: skip
BAD_VALUES = [
    "globals:\n  seed: -1", "globals:\n  ks: [0]", "globals:\n  dataset: cifar10",
    "globals:\n  seed: 2020-01-01",
    "notebooks:\n  alpha:\n    ks: [1, 1]", "notebooks:\n  beta:\n    fail: 1", "globals:\n  scale: .nan",
]  # fmt: skip


@FAST
@given(text=st.one_of(_BROKEN, _EMPTY, _WRONG_SHAPE, st.sampled_from(BAD_VALUES)), list_=st.booleans())
def test_a_bad_profile_file_exits_2_naming_it(runner, capsys, text: str, list_: bool) -> None:
    assume(not (list_ and text in BAD_VALUES))  # --list shows values, it does not check them
    (runner.mini / "notebooks" / "params" / "x.yml").write_text(text, encoding="utf-8")
    line = runner(["--profile", "x", "--no-build", *(["--list"] if list_ else [])], capsys)
    named = "profile notebooks/params/x.yml" in line or "profile 'x'" in line or "(from profile)" in line
    assert named or line.startswith(("error: alpha: ", "error: beta: ")), line


@FAST
@given(data=st.binary(min_size=1, max_size=40))
def test_a_profile_that_is_not_text_exits_2(runner, capsys, data: bytes) -> None:
    try:
        assume(isinstance(_loads(data.decode("utf-8")), dict) is False)
    except UnicodeDecodeError:
        pass
    (runner.mini / "notebooks" / "params" / "x.yml").write_bytes(data)
    line = runner(["--profile", "x", "--no-build"], capsys)
    assert line.startswith("error: profile notebooks/params/x.yml")
