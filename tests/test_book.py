"""Tests of the notebook runner ``knnoise.book`` and of the book / Binder configuration."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

from knnoise import book

REPO = Path(__file__).resolve().parents[1]

ALPHA = """\
# %% [markdown]
# # Alpha
#
# A tiny notebook with parameters.

# %% tags=["parameters"]
dataset = "digits"  # which dataset
seed = 0  # random seed
ks = [1, 5]  # neighbourhood sizes
scale: float = 2 * 3  # not a literal: never re-injected

# %%
import matplotlib.pyplot as plt

print(dataset, seed, ks, scale)
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot(ks)
ax.set_xlabel("index")
"""

BETA = """\
# %% [markdown]
# # Beta

# %% tags=["parameters"]
seed = 0  # random seed
fail = False  # raise on purpose

# %%
total = seed + 1

# %%
if fail:
    raise RuntimeError("boom")
"""


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A two-notebook book with the real _config.yml, and a profile ``t``."""
    shutil.copy(REPO / "_config.yml", tmp_path / "_config.yml")
    (tmp_path / "book").mkdir()
    shutil.copy(REPO / "book" / "references.bib", tmp_path / "book" / "references.bib")
    shutil.copytree(REPO / "book" / "_ext", tmp_path / "book" / "_ext")  # local Sphinx extensions
    (tmp_path / "book" / "intro.md").write_text("# Mini\n\nA test book.\n")
    (tmp_path / "_toc.yml").write_text(
        textwrap.dedent(
            """\
            format: jb-book
            root: book/intro
            parts:
              - caption: Part
                chapters:
                  - file: book/executed/alpha
                    sections:
                      - file: book/executed/beta.ipynb
            """
        )
    )
    (tmp_path / "notebooks" / "params").mkdir(parents=True)
    (tmp_path / "notebooks" / "alpha.py").write_text(ALPHA)
    (tmp_path / "notebooks" / "beta.py").write_text(BETA)
    (tmp_path / "notebooks" / "params" / "t.yml").write_text(
        "globals:\n  dataset: mnist\n  seed: 7\n  unused_global: 1\nnotebooks:\n  beta:\n    fail: false\n"
    )
    return tmp_path


# ----------------------------------------------------------------------------------------------------
# toc and profiles


def test_toc_notebooks_in_order_from_parts_and_sections(mini: Path) -> None:
    assert book.toc_notebooks(mini) == ["alpha", "beta"]


def test_real_toc_lists_data_first_and_every_entry_exists() -> None:
    names = book.toc_notebooks(REPO)
    assert names[0] == "data"
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    assert (REPO / f"{toc['root']}.md").is_file()
    for name in names:
        assert (REPO / "notebooks" / f"{name}.py").is_file(), f"_toc.yml lists {name} without a source"


@pytest.mark.parametrize("name", ["smoke", "quick", "paper"])
def test_real_profiles_load(name: str) -> None:
    profile = book.load_profile(name, REPO)
    assert profile.globals["dataset"] == ("digits" if name == "smoke" else "mnist")
    assert set(profile.notebooks) <= set(book.toc_notebooks(REPO))


@pytest.mark.parametrize("name", ["smoke", "quick", "paper"])
def test_real_profile_overrides_are_declared_by_their_notebooks(name: str) -> None:
    profile = book.load_profile(name, REPO)
    for nb in book.toc_notebooks(REPO):
        declared = book.notebook_parameters(REPO / "notebooks" / f"{nb}.py")
        assert declared, f"notebooks/{nb}.py has no cell tagged parameters"
        book.merge_parameters(nb, declared, profile.globals, profile.notebooks.get(nb))  # raises if not


def test_unknown_profile_lists_the_allowed_ones(mini: Path) -> None:
    with pytest.raises(book.BookError, match=r"unknown profile 'nope'; allowed: t$"):
        book.load_profile("nope", mini)


def test_profile_with_an_unknown_key_is_rejected(mini: Path) -> None:
    (mini / "notebooks" / "params" / "bad.yml").write_text("global:\n  seed: 1\n")
    with pytest.raises(book.BookError, match="unknown key.*'global'"):
        book.load_profile("bad", mini)


# ----------------------------------------------------------------------------------------------------
# parameters


def test_notebook_parameters_reads_the_parameters_cell(mini: Path) -> None:
    params = book.notebook_parameters(mini / "notebooks" / "alpha.py")
    assert list(params) == ["dataset", "seed", "ks", "scale"]
    assert params["dataset"] == book.Parameter("dataset", "digits", "which dataset", True)
    assert params["ks"].default == [1, 5]
    assert params["scale"] == book.Parameter("scale", "2 * 3", "not a literal: never re-injected", False)


def test_merge_order_defaults_globals_overrides_cli() -> None:
    declared = {
        name: book.Parameter(name, default)
        for name, default in [("dataset", "digits"), ("seed", 0), ("ks", [1]), ("epochs", 1)]
    }
    merged = book.merge_parameters(
        "nb",
        declared,
        profile_globals={"dataset": "mnist", "seed": 1, "epochs": 2, "not_declared": 5},
        overrides={"seed": 2, "epochs": 3},
        cli={"epochs": 4},
    )
    assert merged.values == {"dataset": "mnist", "seed": 2, "ks": [1], "epochs": 4}
    assert merged.sources == {"dataset": "globals", "seed": "profile", "ks": "default", "epochs": "-p"}
    assert "not_declared" not in merged.injected


def test_non_literal_defaults_are_not_injected() -> None:
    declared = {"a": book.Parameter("a", "np.arange(3)", literal=False), "b": book.Parameter("b", 1)}
    assert book.merge_parameters("nb", declared).injected == {"b": 1}
    assert book.merge_parameters("nb", declared, cli={"a": [0, 1]}).injected == {"a": [0, 1], "b": 1}


@pytest.mark.parametrize("layer", ["overrides", "cli"])
def test_unknown_override_names_key_notebook_and_allowed(layer: str) -> None:
    declared = {"dataset": book.Parameter("dataset", "digits"), "seed": book.Parameter("seed", 0)}
    with pytest.raises(book.BookError) as info:
        book.merge_parameters("data", declared, **{layer: {"sead": 1}})
    message = str(info.value)
    assert "unknown parameter 'sead' for notebook 'data'" in message
    assert "allowed: dataset, seed" in message
    assert "did you mean 'seed'" in message


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("[1, 5, 25]", [1, 5, 25]),
        ("digits", "digits"),
        ("0.5", 0.5),
        ("3", 3),
        ("true", True),
        ("null", None),
        ("{a: 1}", {"a": 1}),
        ("'0'", "0"),
        ("[unclosed", "[unclosed"),
    ],
)
def test_cli_values_are_yaml(text: str, value: object) -> None:
    assert book.parse_cli_value(text) == value


# ----------------------------------------------------------------------------------------------------
# run() / CLI errors (no kernel started)


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
# Execution (starts kernels)


def test_execute_writes_parameters_and_inline_figures(mini: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")  # would drop every figure if the kernel inherited it
    result = book.run(
        "t", only=["alpha"], overrides={"ks": [1, 5, 25]}, build=False, root=mini, progress=False
    )
    assert list(result.executed) == ["alpha"]
    assert os.environ["MPLBACKEND"] == "Agg"
    out = mini / "book" / "executed" / "alpha.ipynb"
    nb = nbformat.read(out, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    source = injected[0].source
    assert 'dataset = "mnist"' in source and "seed = 7" in source and "ks = [1, 5, 25]" in source
    assert "scale" not in source and "unused_global" not in source
    mimes = {m for c in nb.cells if c.cell_type == "code" for o in c.outputs for m in o.get("data", {})}
    assert "image/png" in mimes
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.metadata.knnoise["profile"] == "t"
    assert nb.metadata.papermill["input_path"] == "notebooks/alpha.py"
    assert nb.metadata.papermill["output_path"] == "book/executed/alpha.ipynb"
    assert out.stat().st_mode & 0o044, "the executed notebook should be readable like any other file"
    generated = {"results", "results.md"}  # the intro's claims table (knnoise.results)
    assert [p.name for p in out.parent.iterdir() if p.name not in generated] == ["alpha.ipynb"]


def test_failing_cell_names_notebook_cell_and_error(mini: Path) -> None:
    executed = mini / "book" / "executed"
    with pytest.raises(book.NotebookFailed) as info:
        book.execute_notebook("beta", {"fail": True}, root=mini, progress=False)
    message = str(info.value)
    assert "notebook 'beta' failed in cell 4" in message
    assert "notebooks/beta.py:12" in message
    assert "if fail:" in message
    assert "RuntimeError: boom" in message
    assert "_build/failed/beta.ipynb" in message
    assert not executed.exists() or not list(executed.iterdir()), "no half notebook may be left for the book"
    failed = nbformat.read(mini / "_build" / "failed" / "beta.ipynb", as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in failed.cells for o in c.get("outputs", []))


def test_cli_failing_notebook_exits_1(mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--profile", "t", "--only", "beta", "-p", "fail", "true", "--no-build", "--no-progress"]
    assert book.main([*argv, "--root", str(mini)]) == 1
    err = capsys.readouterr().err
    assert "notebook 'beta' failed in cell 4" in err and "RuntimeError: boom" in err


@pytest.mark.slow
def test_only_runs_never_executed_notebooks_and_builds_strictly(mini: Path) -> None:
    result = book.run("t", only=["alpha"], build=True, root=mini, progress=False)
    assert list(result.executed) == ["alpha", "beta"]
    assert result.html_index == mini / "_build" / "html" / "index.html"
    assert (mini / "_build" / "html" / "book" / "executed" / "alpha.html").is_file()
    # Rerunning one notebook keeps the other as it is.
    again = book.run("t", only=["alpha"], build=False, root=mini, progress=False)
    assert list(again.executed) == ["alpha"]


def test_a_warning_fails_the_build(mini: Path) -> None:
    (mini / "book" / "intro.md").write_text("# Mini\n\nA [broken](#no-such-target) link.\n")
    for name in ("alpha", "beta"):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {name}")])
        (mini / "book" / "executed").mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, mini / "book" / "executed" / f"{name}.ipynb")
    with pytest.raises(book.BuildFailed):
        book.build_book(mini, quiet=True)


# ----------------------------------------------------------------------------------------------------
# Configuration: Binder environment, _config.yml


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base"}


def test_environment_yml_covers_every_runtime_dependency() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge", "nodefaults"]
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    missing = [d for d in project["dependencies"] if CONDA_NAMES.get(_name(d), _name(d)) not in conda]
    assert not missing, f"environment.yml lacks runtime dependencies {missing}"
    for extra in ("book",):
        missing = [d for d in project["optional-dependencies"][extra] if _name(d) not in conda]
        assert not missing, f"environment.yml lacks [{extra}] dependencies {missing}"
    pip = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert pip and pip[-1]["pip"][-1] == "-e .", "`pip: - -e .` must come last"
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"])


def test_exact_pins_agree_between_pyproject_and_environment() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = {_name(d): d for d in env["dependencies"] if isinstance(d, str)}
    for dep in project["dependencies"]:
        if "==" in dep:
            version = dep.split("==")[1].strip()
            assert conda[CONDA_NAMES.get(_name(dep), _name(dep))].endswith(f"={version}"), dep


def test_config_is_valid_for_jupyter_book_1() -> None:
    from jupyter_book.config import validate_yaml

    config = yaml.safe_load((REPO / "_config.yml").read_text())
    validate_yaml(config, raise_on_errors=True)
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["execute"]["allow_errors"] is False
    assert config["only_build_toc_files"] is True
    for pattern in ("_build", ".venv", ".cache", "notebooks", "tests", "benchmarks", "README.md"):
        assert pattern in config["exclude_patterns"]
    assert "**.partial.ipynb" in config["exclude_patterns"]
    for bib in config["bibtex_bibfiles"]:
        assert (REPO / bib).is_file()
    assert config["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert (REPO / "postBuild").stat().st_mode & 0o111, "Binder's postBuild must be executable"


# ----------------------------------------------------------------------------------------------------
# The real book under the smoke profile


def _copy_book(dest: Path) -> None:
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(REPO / name, dest / name)
    shutil.copytree(REPO / "book", dest / "book", ignore=shutil.ignore_patterns("executed"))
    shutil.copytree(
        REPO / "notebooks", dest / "notebooks", ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints")
    )


@pytest.mark.notebooks
def test_smoke_profile_runs_every_notebook_and_builds_the_book_strictly(tmp_path: Path) -> None:
    """`python -m knnoise.book --profile smoke` on a copy of the book (leaves the real _build alone)."""
    _copy_book(tmp_path)
    command = [sys.executable, "-m", "knnoise.book", "--profile", "smoke", "--root", str(tmp_path)]
    completed = subprocess.run(
        [*command, "--no-progress"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    log = completed.stdout + completed.stderr
    assert completed.returncode == 0, log[-6000:]
    assert "build succeeded" in log and "WARNING:" not in log, log[-6000:]
    assert (tmp_path / "_build" / "html" / "index.html").is_file()
    for name in book.toc_notebooks(tmp_path):
        assert (tmp_path / "book" / "executed" / f"{name}.ipynb").is_file()
        assert (tmp_path / "_build" / "html" / "book" / "executed" / f"{name}.html").is_file()
