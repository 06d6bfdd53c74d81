"""knnoise.book.build: the claims page and the strict jupyter-book build; the book's _config.yml."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

from knnoise import book
from knnoise.book import build

REPO = Path(__file__).resolve().parents[2]


def test_claims_page_links_each_chapter(mini: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = mini / "book" / "executed" / "results"
    monkeypatch.setenv("KNNOISE_RESULTS", str(results))
    book.record("beta", "a claim", "Fig. 1", "0.5")
    page = build.write_claims_page(mini, ["alpha", "beta"])
    assert page == mini / "book" / "executed" / "results.md"
    assert "{doc}`/book/executed/beta`" in page.read_text()


@pytest.mark.slow
def test_only_runs_never_executed_notebooks_and_builds_strictly(mini: Path) -> None:
    result = book.run("t", only=["alpha"], build=True, root=mini, progress=False)
    assert list(result.executed) == ["alpha", "beta"]
    assert result.html_index == mini / "_build" / "html" / "index.html"
    assert (mini / "_build" / "html" / "book" / "executed" / "alpha.html").is_file()
    # Rerunning one notebook keeps the other as it is; unchanged, it is restored from the cache.
    again = book.run("t", only=["alpha"], build=False, root=mini, progress=False)
    assert again.executed == {} and again.cached == ["alpha"]
    forced = book.run("t", only=["alpha"], build=False, root=mini, progress=False, force=True)
    assert list(forced.executed) == ["alpha"] and forced.cached == []


def test_a_warning_fails_the_build(mini: Path) -> None:
    (mini / "book" / "intro.md").write_text("# Mini\n\nA [broken](#no-such-target) link.\n")
    for name in ("alpha", "beta"):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {name}")])
        (mini / "book" / "executed").mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, mini / "book" / "executed" / f"{name}.ipynb")
    with pytest.raises(book.BuildFailed):
        book.build_book(mini, quiet=True)


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
