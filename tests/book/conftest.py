"""Shared fixtures of the book-layer tests: a two-notebook mini book (``recording``: its ``beta`` records a
claim), a copy of the real one, and the runner's command line with nothing started."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from knnoise import book
from knnoise.book import cache, cli

REPO = Path(__file__).resolve().parents[2]

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

RECORDING = """\
# %% [markdown]
# # Beta

# %% tags=["parameters"]
seed = 0  # random seed
fail = False  # raise on purpose

# %%
from knnoise.book import record

total = seed + 1
record("beta", "a claim", "Fig. 1", f"total {total}")
print("total", total)
"""


@pytest.fixture
def mini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A two-notebook book with the real _config.yml, and a profile ``t``; its own empty cache.

    The execution cache's hash of the knnoise package is pinned: edits to the package while the tests run
    (this working tree is shared) must not re-execute the mini book's notebooks.
    """
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path / "cache"))  # the notebook execution cache too
    monkeypatch.setattr(cache, "code_hash", lambda package=None: "the knnoise under test")
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


@pytest.fixture
def real_book(tmp_path: Path) -> Path:
    """A copy of the real book's sources (config, toc, prose, notebooks, profiles); nothing executed.

    It shares the checkout's ``$KNNOISE_CACHE`` (data, networks, notebook runs): pass ``--force`` to
    execute every notebook.
    """
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "book", tmp_path / "book", ignore=shutil.ignore_patterns("executed"))
    shutil.copytree(
        REPO / "notebooks",
        tmp_path / "notebooks",
        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"),
    )
    return tmp_path


@pytest.fixture
def recording(mini: Path) -> Path:
    """The mini book, with ``beta`` recording a claim (``total = seed + 1``, ``total 8`` under profile t)."""
    (mini / "notebooks" / "beta.py").write_text(RECORDING)
    return mini


def _fail(*args, **kwargs):
    raise AssertionError(f"work was started: {args} {kwargs}")


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Executing, restoring, building or starting a cluster fails the test."""
    for module, name in [
        (cli._execute, "execute_notebook"),
        (cli._execute, "restore_notebook"),
        (cli._build, "build_book"),
        (cli._build, "write_claims_page"),
        (cli._engine, "serve"),
    ]:
        monkeypatch.setattr(module, name, _fail)


def _cli_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    try:
        status = book.main(argv)
    except SystemExit as exit_:  # argparse's usage errors
        status = exit_.code
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], (argv, err)
    assert "Traceback" not in err, (argv, err)
    return status, lines[-1]


@pytest.fixture
def cli_error() -> Callable[[list[str], pytest.CaptureFixture[str]], tuple[int, str]]:
    """``(argv, capsys) -> (exit status, error line)`` of ``python -m knnoise.book``: the error line is the
    last line of stderr and its only ``error:`` line, and no traceback was printed."""
    return _cli_error
