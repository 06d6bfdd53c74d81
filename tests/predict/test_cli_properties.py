"""Property-based: whatever bad argument or file ``python -m knnoise predict`` is given, it exits with
status 2 after exactly one ``error:`` line (argparse's usage lines may come first), prints no traceback
and computes nothing (issue 18). Run in-process through :func:`knnoise.__main__.main`, and twice as a
real ``python -m knnoise`` process."""

import string
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knnoise.__main__ import main
from knnoise.predict import cli
from knnoise.predict.inputs import NOISE_NAMES
from knnoise.predict.readers import BINARY_SUFFIXES, SUFFIXES, TEXT_SUFFIXES

from .conftest import N_LABELS, N_ROWS

FAST = settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
OPTIONS = ("--softmax", "--class-columns", "--labels", "--noise", "--gammas", "--ks", "--ties", "--out",
           "--json", "--plot", "--measured", "--fit-ks", "--no-progress", "--help")  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Valid inputs (a softmax peaked at the labels), a folder named like a file, and a file."""
    path = tmp_path_factory.mktemp("properties")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, N_LABELS, N_ROWS)
    logits = 3.0 * np.eye(N_LABELS)[labels] + rng.normal(size=(N_ROWS, N_LABELS))
    np.save(path / "softmax.npy", torch.softmax(torch.tensor(logits), dim=1).numpy())
    np.save(path / "labels.npy", labels)
    (path / "measured.csv").write_text("gamma,accuracy\n0,0.9\n0.5,0.6\n")
    (path / "dir.npy").mkdir()
    (path / "afile").write_text("x")
    return path


def _valid(folder: Path) -> dict[str, list[str]]:
    return {
        "--softmax": [str(folder / "softmax.npy")], "--labels": [str(folder / "labels.npy")],
        "--noise": ["flip"], "--gammas": ["0", "0.5"], "--ks": ["1", "3"],
    }  # fmt: skip


def _argv(options: dict[str, list[str]]) -> list[str]:
    return ["predict", *(x for flag, values in options.items() for x in (flag, *values))]


def _assert_one_error(capsys, argv: list[str]) -> str:
    """Run ``argv`` in-process (computing is an error): exit 2, one ``error:`` line, last; no traceback."""
    with mock.patch.object(cli, "predict", side_effect=AssertionError(f"computed despite {argv}")):
        try:
            status = main(argv)
        except SystemExit as exit_:  # argparse's usage errors
            status = exit_.code
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert status == 2, (argv, out, err)
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], (argv, err)
    assert "Traceback" not in err and out == "", (argv, out, err)
    return lines[-1]


# ----------------------------------------------------------------------------------------------------
# Bad arguments
# ----------------------------------------------------------------------------------------------------
_WORDS = st.text(string.ascii_letters + "_", min_size=1, max_size=8)  # no number (nan, inf: out of range)
_OUTSIDE = st.floats().filter(lambda g: not 0.0 <= g <= 1.0).map(repr)
_BAD_RANGES = st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(-1, 0)).map("{0[0]}:{0[1]}:{0[2]}".format)
_BAD_GAMMAS = st.one_of(_WORDS, _OUTSIDE, _BAD_RANGES, st.sampled_from(["0:1", "1:0:0.1", "0:1:0:1"]))
_BAD_KS = st.one_of(
    _WORDS, st.integers(max_value=0).map(str), st.integers(min_value=2001).map(str),
    st.floats(allow_nan=False).map(repr), st.sampled_from(["5:1", "1:5:0", "1:2:3:4"]),
)  # fmt: skip


@FAST
@given(flag=st.sampled_from(["--gammas", "--ks", "--fit-ks"]), data=st.data())
def test_bad_values(folder, capsys, flag, data):
    """A bad value alone, after a good one, or in a comma list; or no value at all."""
    bad = data.draw(_BAD_GAMMAS if flag == "--gammas" else _BAD_KS)
    forms = [[bad], ["1", bad], [f"1,{bad}"], [""], [" , "]]
    options = _valid(folder) | {flag: data.draw(st.sampled_from(forms))}
    line = _assert_one_error(capsys, _argv(options))
    # a value such as -1e-05 looks like an option to argparse: its own usage error
    assert flag in line or "unrecognized arguments" in line, line


@FAST
@given(
    change=st.one_of(
        st.tuples(st.just("--ties"), _WORDS.filter(lambda t: t not in cli.TIE_MODES)),
        st.tuples(st.just("--noise"), _WORDS.filter(lambda t: t not in NOISE_NAMES)),
        st.tuples(st.just("--plot"), _WORDS.map(lambda t: f"curves.{t}x")),  # no image format ends in x
        st.tuples(st.just("--help-me"), st.just("")),
        st.tuples(st.sampled_from(["--" + w for w in ("sofmax", "label", "k", "noises", "output")]), _WORDS),
        st.tuples(st.just("drop"), st.sampled_from(["--softmax", "--labels", "--noise"])),
    )
)
def test_bad_arguments(folder, capsys, change):
    """Unknown options and choices, a missing required option, a plot format that does not exist."""
    flag, value = change
    options = _valid(folder)
    if flag == "drop":
        del options[value]
    elif flag.startswith("--") and flag[2:] and not any(o.startswith(flag) for o in OPTIONS):
        options[flag] = [value] if value else []  # an unknown option (not an abbreviation of one)
    else:
        options[flag] = [str(folder / value) if flag == "--plot" else value]
    _assert_one_error(capsys, _argv(options))


# ----------------------------------------------------------------------------------------------------
# Bad files
# ----------------------------------------------------------------------------------------------------
def _garbage(suffixes: tuple[str, ...]) -> st.SearchStrategy[tuple[str, bytes]]:
    """Random bytes (binary suffixes) or text (text suffixes), too short to hold a valid input: a softmax
    of 60 x 4, 60 labels (at least 119 characters) and a 4 x 4 matrix (at least 31) do not fit."""
    binary = st.tuples(st.sampled_from([s for s in suffixes if s in BINARY_SUFFIXES]), st.binary(max_size=64))
    text = st.tuples(
        st.sampled_from([s for s in suffixes if s in TEXT_SUFFIXES]),
        st.text(string.printable, max_size=30).map(str.encode),
    )
    return st.one_of(binary, text)


def _save(path: Path, array: np.ndarray) -> Path:
    if path.suffix == ".npy":
        np.save(path, array)
    elif path.suffix == ".pt":
        torch.save(torch.from_numpy(np.ascontiguousarray(array)), path)
    else:
        table = np.atleast_1d(array)
        table = table.reshape(len(table), -1) if table.ndim > 2 else table
        np.savetxt(path, table, delimiter=",", fmt="%.17g")
    return path


def _bad_softmax(draw, rows: np.ndarray) -> np.ndarray:
    kind = draw(st.sampled_from(["scaled", "negative", "nan", "columns", "3-D", "row"]))
    if kind == "scaled":  # rows summing to a value far from 1 (not rounding)
        return rows * draw(st.one_of(st.floats(0.0, 0.97), st.floats(1.03, 50.0)))
    if kind in ("negative", "nan"):
        bad = rows.copy()
        row, column = draw(st.integers(0, N_ROWS - 1)), draw(st.integers(0, N_LABELS - 1))
        bad[row, column] = -0.1 if kind == "negative" else np.nan
        return bad
    return {"columns": rows[:, :1], "3-D": rows[None], "row": rows[0]}[kind]


def _bad_labels(draw, labels: np.ndarray) -> np.ndarray:
    if draw(st.booleans()):  # a wrong count
        return labels[: draw(st.integers(0, N_ROWS - 1))]
    bad = labels.astype(np.float64)
    values = [2.5, -1.0, float(N_LABELS), 1e6, np.nan, 0.1]
    bad[draw(st.integers(0, N_ROWS - 1))] = draw(st.sampled_from(values))
    return bad


def _bad_matrix(draw) -> np.ndarray:
    square, smaller, wide = (N_LABELS, N_LABELS), (N_LABELS - 1, N_LABELS - 1), (N_LABELS, N_LABELS + 1)
    shape = draw(st.sampled_from([square, smaller, wide]))
    matrix = np.full(shape, 1.0 / shape[1]) * draw(st.sampled_from([1.0, 0.5, 2.0]))
    if shape == (N_LABELS, N_LABELS):
        matrix[0, 0] = draw(st.sampled_from([-0.5, 2.0, np.inf]))  # row 0 off whatever else holds
    return matrix


def _bad_measured(draw) -> bytes:
    rows = draw(st.sampled_from([
        "gamma,accuracy\n0,97.5\n", "0.5,1.5\n", "1.5,0.5\n", "-0.1,0.5\n", "0,0.5,0.7\n", "gamma,accuracy\n",
        "gamma,acc\n0,x\n", "0\n",
    ]))  # fmt: skip
    return rows.encode()


_FILE_FLAGS = ("--softmax", "--labels", "--noise", "--measured")


@FAST
@given(flag=st.sampled_from(_FILE_FLAGS), kind=st.sampled_from(["missing", "folder", "garbage", "array"]),
       data=st.data())  # fmt: skip
def test_bad_files(folder, capsys, flag, kind, data):
    """Missing files, folders, garbage of every format, arrays with a bad shape or bad values."""
    options = _valid(folder)
    if kind == "missing":
        path = folder / f"missing{data.draw(st.sampled_from(SUFFIXES))}"
    elif kind == "folder":
        path = folder / "dir.npy"
    elif kind == "garbage" and flag != "--measured":  # "0,0.5" would be a valid measurement
        suffix, content = data.draw(_garbage(SUFFIXES))
        path = folder / f"garbage{suffix}"
        path.write_bytes(content)
    else:
        path = folder / f"array{data.draw(st.sampled_from(['.npy', '.pt', '.csv']))}"
        if flag == "--softmax":
            _save(path, _bad_softmax(data.draw, np.load(folder / "softmax.npy").astype(np.float64)))
        elif flag == "--labels":
            _save(path, _bad_labels(data.draw, np.load(folder / "labels.npy")))
        elif flag == "--noise":
            _save(path, _bad_matrix(data.draw))
        else:
            path = path.with_suffix(".csv")
            path.write_bytes(_bad_measured(data.draw))
    options[flag] = [str(path)]
    line = _assert_one_error(capsys, _argv(options))
    assert flag in line and "\x1b" not in line, line


@FAST
@given(
    flag=st.sampled_from(["--out", "--plot"]),
    target=st.one_of(
        st.just("dir.npy"), st.just("/dev/null"), st.just("softmax.npy"),
        _WORDS.map(lambda w: f"afile/{w}.png"), _WORDS.map(lambda w: f"afile/{w}/c.png"),
    ),
)  # fmt: skip
def test_unusable_outputs(folder, capsys, flag, target):
    """A folder, a special file, an input, a path below a file: refused before any work, naming the flag."""
    options = _valid(folder) | {flag: [target if target.startswith("/") else str(folder / target)]}
    line = _assert_one_error(capsys, _argv(options))
    assert line.startswith(f"error: {flag} "), line


# ----------------------------------------------------------------------------------------------------
# The same, as a user runs it
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        {"--softmax": ["garbage.pt"], "--out": ["dir.npy"]},  # the output is checked first
        {"--ks": ["1", "-3"], "--ties": ["fair"]},  # argparse's usage error
    ],
)
def test_a_real_process_prints_one_error_line(folder, change):
    (folder / "garbage.pt").write_bytes(b"\x80\x04garbage")
    command = [sys.executable, "-m", "knnoise", *_argv(_valid(folder) | change)]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300, check=False)
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert [line for line in lines if line.startswith("error:")] == lines[-1:]
    assert "Traceback" not in done.stderr
