"""knnoise.book.cli: the runner's steps and errors; bad parameter values fail before any kernel starts."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knnoise import book
from knnoise.book import chapters, cli, preflight
from knnoise.book.schema import Interval, ListOf, Options, Schema, invalid_cases

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_kernel(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace execution, the claims page and the build: executing or building fails the test.

    ``notebook_parameters`` is memoised, so hundreds of runs read each source once.
    """

    def fail(*args, **kwargs):
        raise AssertionError(f"a kernel or the build was started: {args} {kwargs}")

    monkeypatch.setattr(cli._execute, "execute_notebook", fail)
    monkeypatch.setattr(cli._execute, "restore_notebook", fail)
    monkeypatch.setattr(cli._build, "build_book", fail)
    monkeypatch.setattr(cli._build, "write_claims_page", fail)
    monkeypatch.setattr(preflight, "notebook_parameters", functools.cache(book.notebook_parameters))
    return []


@pytest.fixture
def fake_kernel(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict]]:
    """Record what would be executed instead of executing it; nothing is cached; no claims page, no build."""
    calls: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        cli._execute, "execute_notebook", lambda name, params, **kw: calls.append((name, params))
    )
    monkeypatch.setattr(cli._execute, "restore_notebook", lambda *args, **kw: None)
    monkeypatch.setattr(cli._build, "write_claims_page", lambda *args: None)
    return calls


ALPHA_SCHEMA = Schema(
    "alpha",
    {
        "dataset": Options("digits", "mnist"),
        "seed": Interval(int, 0),
        "ks": ListOf(Interval(int, 1), unique=True, sort=True, scalar=True),
        "scale": Interval(float),
    },
)


# ----------------------------------------------------------------------------------------------------
# Usage and configuration errors (no kernel started)


def test_unknown_notebook_for_only(mini: Path) -> None:
    with pytest.raises(book.BookError, match=r"unknown notebook 'alfa'; notebooks in _toc.yml: alpha, beta"):
        book.run("t", only=["alfa"], build=False, root=mini)


def test_unknown_cli_parameter_is_an_error_naming_it(mini: Path) -> None:
    with pytest.raises(book.BookError, match=r"unknown parameter 'fail' for notebook\(s\) 'alpha'"):
        book.run("t", only=["alpha"], overrides={"fail": True}, build=False, root=mini)


def test_profile_override_for_a_notebook_not_in_the_toc(mini: Path) -> None:
    (mini / "notebooks" / "params" / "t.yml").write_text("notebooks:\n  gamma:\n    seed: 1\n")
    with pytest.raises(book.BookError, match="unknown notebook.*'gamma'"):
        book.run("t", build=False, root=mini)


def test_profile_override_not_declared_by_its_notebook(mini: Path) -> None:
    (mini / "notebooks" / "params" / "t.yml").write_text("notebooks:\n  alpha:\n    fail: true\n")
    with pytest.raises(book.BookError, match="unknown parameter 'fail' for notebook 'alpha' \\(from profile"):
        book.run("t", build=False, root=mini)


def test_toc_entry_without_a_source(mini: Path) -> None:
    (mini / "notebooks" / "beta.py").unlink()
    with pytest.raises(book.BookError, match=r"notebooks/beta.py does not exist"):
        book.run("t", build=False, root=mini)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--profile", "nope"], "unknown profile 'nope'; allowed: t"),
        (["--profile", "t", "--only", "gamma"], "unknown notebook 'gamma'"),
        (["--profile", "t", "-p", "foo", "1"], "unknown parameter 'foo'"),
    ],
)
def test_cli_usage_errors_exit_2(mini: Path, capsys: pytest.CaptureFixture[str], argv, needle) -> None:
    with pytest.raises(SystemExit) as info:
        book.main([*argv, "--root", str(mini), "--no-build"])
    assert info.value.code == 2
    assert needle in capsys.readouterr().err


def test_cli_list_shows_merged_parameters(mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert book.main(["--profile", "t", "--list", "--root", str(mini)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"dataset\s+= 'mnist' \[globals\]\s+which dataset", out)
    assert re.search(r"fail\s+= False \[profile\]", out)


# ----------------------------------------------------------------------------------------------------
# The steps of run()


def test_only_with_build_adds_never_executed_notebooks(mini: Path, fake_kernel, monkeypatch, capsys) -> None:
    monkeypatch.setattr(cli._build, "build_book", lambda root: root / "index.html")
    result = book.run("t", only=["beta"], overrides={"fail": False}, root=mini)
    assert [name for name, _ in fake_kernel] == ["alpha", "beta"]
    assert fake_kernel[0][1] == {"dataset": "mnist", "seed": 7, "ks": [1, 5]}  # profile values only
    assert fake_kernel[1][1] == {"seed": 7, "fail": False}
    assert result.html_index == mini / "index.html" and list(result.executed) == ["alpha", "beta"]
    assert "note: alpha not executed yet" in capsys.readouterr().out


def test_no_build_runs_only_the_selection(mini: Path, fake_kernel) -> None:
    result = book.run("t", only=["beta"], build=False, root=mini)
    assert [name for name, _ in fake_kernel] == ["beta"] and result.html_index is None


def test_notebooks_added_to_build_the_book_are_validated_too(mini: Path, no_kernel) -> None:
    (mini / "notebooks" / "params" / "t.yml").write_text("notebooks:\n  alpha:\n    dataset: cifar10\n")
    with pytest.raises(book.ParameterError) as info:
        book.run("t", only=["beta"], root=mini, schemas={"alpha": ALPHA_SCHEMA})  # alpha never ran
    assert str(info.value) == (
        "alpha: dataset must be one of ('digits', 'mnist'), got 'cifar10' "
        "(from the profile's notebooks.alpha)"
    )


def test_a_bad_value_names_notebook_parameter_value_and_where_it_came_from(mini: Path, no_kernel) -> None:
    schemas = {"alpha": ALPHA_SCHEMA}
    with pytest.raises(book.ParameterError) as info:
        book.run("t", only=["alpha"], overrides={"ks": [0]}, build=False, root=mini, schemas=schemas)
    assert str(info.value) == (
        "alpha: ks must be a non-empty list of distinct values, each an integer >= 1, or one such value, "
        "got [0] (from -p)"
    )
    (mini / "notebooks" / "params" / "t.yml").write_text("globals:\n  seed: -1\n")
    with pytest.raises(
        book.ParameterError, match=r"alpha: seed must be an integer >= 0, got -1 \(from the pro"
    ):
        book.run("t", only=["alpha"], build=False, root=mini, schemas=schemas)


def test_non_literal_defaults_are_left_to_the_notebook(mini: Path, fake_kernel) -> None:
    book.run("t", only=["alpha"], build=False, root=mini, schemas={"alpha": ALPHA_SCHEMA})
    assert fake_kernel == [("alpha", {"dataset": "mnist", "seed": 7, "ks": [1, 5]})]


def test_parameters_cell_and_schema_must_agree(mini: Path, no_kernel) -> None:
    params = {k: v for k, v in ALPHA_SCHEMA.params.items() if k != "scale"} | {"extra": Interval(int)}
    with pytest.raises(
        book.BookError,
        match="alpha: the parameters cell .* only in the cell: scale; only in the schema: extra",
    ):
        book.run("t", only=["alpha"], build=False, root=mini, schemas={"alpha": Schema("alpha", params)})


@pytest.mark.parametrize("profile", book.available_profiles(REPO))
def test_every_real_profile_passes_the_runner_s_validation(profile: str, fake_kernel) -> None:
    book.run(profile, build=False, root=REPO)
    assert [name for name, _ in fake_kernel] == book.toc_notebooks(REPO)


# ----------------------------------------------------------------------------------------------------
# Every bad value of every parameter of every notebook fails before a kernel starts


def _cli_text(value: object) -> str:
    """``value`` as a ``-p`` argument (YAML) that reads back as ``value``."""
    text = value if isinstance(value, str) and book.parse_cli_value(value) == value else json.dumps(value)
    assert book.parse_cli_value(text) == value
    return text


CASES = [(nb, name, bad) for nb, s in chapters.SCHEMAS.items() for name, bad in invalid_cases(s)]


@pytest.mark.parametrize(("notebook", "name", "bad"), CASES, ids=[f"{nb}-{n}-{b}" for nb, n, b in CASES])
def test_a_bad_value_fails_before_any_kernel(notebook, name, bad, no_kernel, capsys) -> None:
    argv = ["--profile", "smoke", "--only", notebook, "--root", str(REPO)]
    for key, value in bad.items():
        argv += ["-p", key, _cli_text(value)]
    assert book.main(argv) == 2
    err = capsys.readouterr().err
    assert f"error: {notebook}: {name} must be " in err
    assert f", got {bad[name]!r} (from -p)" in err


def test_the_documented_command_fails_fast_naming_ks(real_book: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "knnoise.book",
        "--profile",
        "smoke",
        "--only",
        "fig3_knn",
        "-p",
        "ks",
        "[0]",
    ]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=real_book, capture_output=True, text=True, timeout=120, check=False)
    seconds = time.perf_counter() - start
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(
        "error: fig3_knn: ks must be a non-empty list of distinct values, each an integer"
    )
    assert "got [0] (from -p)" in done.stderr
    assert "[1/" not in done.stdout and not (real_book / "book" / "executed").exists()
    assert seconds < 5, f"{seconds:.1f} s"


# ----------------------------------------------------------------------------------------------------
# A failing notebook (starts a kernel)


def test_cli_failing_notebook_exits_1(mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--profile", "t", "--only", "beta", "-p", "fail", "true", "--no-build", "--no-progress"]
    assert book.main([*argv, "--root", str(mini)]) == 1
    err = capsys.readouterr().err
    assert "notebook 'beta' failed in cell 4" in err and "RuntimeError: boom" in err


# ----------------------------------------------------------------------------------------------------
# --workers / --scheduler: where the notebooks' sweeps run (knnoise.pipeline.engine)


def _declare_scheduler(mini: Path) -> None:
    beta = mini / "notebooks" / "beta.py"
    text = beta.read_text().replace(
        "fail = False  # raise on purpose\n", "fail = False  # raise\nscheduler = None  # x\n"
    )
    beta.write_text(text)


def test_an_unreachable_scheduler_fails_fast_before_any_kernel(mini: Path, no_kernel, capsys) -> None:
    start = time.perf_counter()
    argv = ["--profile", "t", "--only", "beta", "--scheduler", "tcp://127.0.0.1:1", "--no-build"]
    assert book.main([*argv, "--root", str(mini)]) == 2
    assert time.perf_counter() - start < 10
    assert "error: no Dask scheduler answered at tcp://127.0.0.1:1 within" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--workers", "0"], "--workers: must be a whole number >= 1, got '0'"),
        (["--workers", "2", "--scheduler", "tcp://h:1"], "not allowed with argument --workers"),
        (
            ["--scheduler", "h:1"],
            "scheduler must be None, a worker count N >= 1, 'local:N' or 'tcp://HOST:PORT'",
        ),
    ],
)
def test_bad_engine_flags_exit_2(mini: Path, no_kernel, capsys, argv, needle) -> None:
    with pytest.raises(SystemExit) as info:
        book.main(["--profile", "t", *argv, "--root", str(mini), "--no-build"])
    assert info.value.code == 2
    assert needle in capsys.readouterr().err


def test_the_address_goes_to_the_notebooks_declaring_scheduler(mini: Path, fake_kernel, monkeypatch) -> None:
    _declare_scheduler(mini)
    served = []

    @contextlib.contextmanager
    def serve(scheduler):
        served.append(scheduler)
        yield None if scheduler is None else "tcp://127.0.0.1:8786"

    monkeypatch.setattr(cli._engine, "serve", serve)
    book.run("t", build=False, root=mini, scheduler=2)
    assert served == [2]
    assert dict(fake_kernel)["alpha"] == {"dataset": "mnist", "seed": 7, "ks": [1, 5]}  # declares none
    assert dict(fake_kernel)["beta"]["scheduler"] == "tcp://127.0.0.1:8786"
    fake_kernel.clear()
    book.run("t", build=False, root=mini)  # without a flag: the notebook's default
    assert dict(fake_kernel)["beta"]["scheduler"] is None


def test_workers_start_a_local_cluster_for_the_run(mini: Path, fake_kernel) -> None:
    _declare_scheduler(mini)
    book.run("t", only=["beta"], build=False, root=mini, scheduler=1)
    address = dict(fake_kernel)["beta"]["scheduler"]
    assert address.startswith("tcp://127.0.0.1:")
    with pytest.raises(cli._engine.EngineError, match=address):  # closed at the end of the run
        cli._engine.connect(address, timeout=0.5)


# ----------------------------------------------------------------------------------------------------
# One error path (issue 18): bad profiles and addresses, Ctrl-C; exit 2 (130) after one `error:` line


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "globals:\n  dataset: [mnist\n",
            "error: profile notebooks/params/x.yml: line 3, column 1: expected ',' or ']', but got "
            "'<stream end>' (while parsing a flow sequence at line 2, column 12)",
        ),
        ("", "error: profile notebooks/params/x.yml is empty (or only comments): a profile is a mapping"),
        ("# nothing yet\n", "error: profile notebooks/params/x.yml is empty (or only comments)"),
        ("[globals]\n", "error: profile notebooks/params/x.yml: a profile is a mapping with 'globals'"),
    ],
)
@pytest.mark.parametrize("list_", [False, True])
def test_a_broken_or_empty_profile_exits_2_naming_it(
    mini: Path, no_kernel, capsys, cli_error, text, message, list_
):
    (mini / "notebooks" / "params" / "x.yml").write_text(text)
    argv = ["--profile", "x", "--root", str(mini), "--no-build", *(["--list"] if list_ else [])]
    status, line = cli_error(argv, capsys)
    assert status == 2
    assert line.startswith(message)


@pytest.mark.parametrize(
    "address", ["tcp://127.0.0.1", "tcp://127.0.0.1:abc", "tcp://127.0.0.1:0", "tcp://127.0.0.1:99999"]
)
def test_an_address_without_host_and_port_exits_2(
    mini: Path, no_kernel, monkeypatch, capsys, cli_error, address
):
    monkeypatch.setattr(cli._engine, "serve", no_kernel_serve)
    argv = ["--profile", "t", "--scheduler", address, "--root", str(mini), "--no-build"]
    status, line = cli_error(argv, capsys)
    assert status == 2
    assert line == (
        "error: argument --scheduler: scheduler must be None, a worker count N >= 1, 'local:N' or "
        f"'tcp://HOST:PORT' (PORT 1..65535), got {address!r}"
    )


def no_kernel_serve(scheduler):
    raise AssertionError(f"a Dask cluster was started or reached: {scheduler}")


@pytest.mark.parametrize("address", ["tcp://127.0.0.1", "tcp://127.0.0.1:abc"])
def test_the_notebooks_scheduler_parameter_checks_the_address_too(
    no_kernel, capsys, cli_error, address
) -> None:
    argv = ["--profile", "smoke", "--only", "fig4_dnn", "-p", "scheduler", address, "--root", str(REPO)]
    status, line = cli_error(argv, capsys)
    assert status == 2
    assert line.startswith("error: fig4_dnn: scheduler must be ")
    assert line.endswith(f"got {address!r} (from -p)")


TOO_MANY = str(4 * (os.cpu_count() or 1) + 1)


@pytest.mark.parametrize("workers", ["0", "-1", "x", "1.5", "٣", "", TOO_MANY, "9" * 50])
def test_a_bad_worker_count_exits_2(mini: Path, no_kernel, monkeypatch, capsys, cli_error, workers) -> None:
    monkeypatch.setattr(cli._engine, "serve", no_kernel_serve)
    argv = ["--profile", "t", "--workers", workers, "--root", str(mini), "--no-build"]
    status, line = cli_error(argv, capsys)
    assert status == 2
    assert line.startswith("error: argument --workers: must be ")


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def test_ctrl_c_in_a_notebook_exits_130_naming_it(
    mini: Path, fake_kernel, monkeypatch, capsys, cli_error
) -> None:
    monkeypatch.setattr(cli._execute, "execute_notebook", _interrupt)
    status, line = cli_error(["--profile", "t", "--only", "beta", "--root", str(mini), "--no-build"], capsys)
    assert status == 130
    assert line == (
        "error: interrupted while running notebook 'beta' (notebooks/beta.py); its partial output was "
        "removed and book/executed/beta.ipynb left as it was"
    )


def test_ctrl_c_in_the_build_or_elsewhere_exits_130(
    mini: Path, fake_kernel, monkeypatch, capsys, cli_error
) -> None:
    monkeypatch.setattr(cli._build, "build_book", _interrupt)
    status, line = cli_error(["--profile", "t", "--root", str(mini)], capsys)
    assert status == 130
    assert line == "error: interrupted while building the book; the executed notebooks are kept"
    monkeypatch.setattr(cli._engine, "serve", _interrupt)  # starting a cluster, say
    status, line = cli_error(["--profile", "t", "--root", str(mini), "--workers", "1"], capsys)
    assert (status, line) == (130, "error: interrupted")
