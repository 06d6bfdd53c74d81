"""Shared fixtures of the book-layer tests: a two-notebook mini book, and copying the real one."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from knnoise.book import cache

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
