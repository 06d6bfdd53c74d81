"""The real book under the smoke profile: every notebook executes and the book builds strictly."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from knnoise import book
from knnoise.book import figdata, runs


def _book(root: Path, *options: str) -> tuple[str, float]:
    command = [sys.executable, "-m", "knnoise.book", "--profile", "smoke", "--root", str(root), *options]
    start = time.perf_counter()
    completed = subprocess.run(
        [*command, "--no-progress"], cwd=root, capture_output=True, text=True, timeout=1800, check=False
    )
    log = completed.stdout + completed.stderr
    assert completed.returncode == 0, log[-6000:]
    assert "build succeeded" in log and "WARNING:" not in log, log[-6000:]
    return log, time.perf_counter() - start


@pytest.mark.notebooks
def test_smoke_profile_runs_every_notebook_and_builds_the_book_strictly(real_book: Path) -> None:
    """`python -m knnoise.book --profile smoke --force` on a copy of the book (leaves the real _build
    alone), then again with nothing changed: every notebook is restored from the cache, the book rebuilt."""
    names = book.toc_notebooks(real_book)
    log, _ = _book(real_book, "--force")
    assert f"executed {len(names)} notebook(s)" in log
    assert (real_book / "_build" / "html" / "index.html").is_file()
    for name in names:
        assert (real_book / "book" / "executed" / f"{name}.ipynb").is_file()
        assert (real_book / "_build" / "html" / "book" / "executed" / f"{name}.html").is_file()
    executed = _execution_table(real_book, names, "executed")
    _check_figure_data(real_book, names)
    _check_scripts_are_the_book_s_own(real_book)
    (real_book / "book" / "executed" / "results").rename(real_book / "results.moved")  # restored with them
    log, seconds = _book(real_book)
    assert f"executed 0 notebook(s) in 0.0 s, restored {len(names)} unchanged from the cache" in log, log
    print(f"no-change rebuild (smoke): {seconds:.1f} s")
    restored = _execution_table(real_book, names, "restored")
    keep = ["chapter", "wall time (s)", "peak memory (MiB)", "device", "finished (UTC)"]
    assert [[r[k] for k in keep] for r in restored] == [[r[k] for k in keep] for r in executed]
    _check_figure_data(real_book, names)


def _execution_table(root: Path, names: list[str], status: str) -> list[dict[str, str]]:
    """book/executed/execution.csv: a row per chapter, in the toc's order, as the book shows it."""
    with (root / runs.TABLE_CSV).open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["chapter"] for r in rows] == names
    for row in rows:
        assert row["profile"] == "smoke" and row["run"] == status, row
        assert float(row["wall time (s)"]) > 0 and int(row["peak memory (MiB)"]) > 30, row
        assert bool(row["restored (UTC)"]) == bool(row["restored at commit"]) == (status == "restored"), row
    page = (root / "_build" / "html" / "book" / "execution.html").read_text(encoding="utf-8")
    assert all(f"<td><p>{name}</p></td>" in page for name in names), "the table is on its page"
    return rows


# Figures whose chapter writes a tidy table of its own (glue_figure(..., data=...)): its columns, those
# never empty, and the values one column must hold (the kinds of rows). Every other figure's CSV is read
# from the figure itself (knnoise.book.figdata): columns figdata.COLUMNS, x and y never empty.
OWN_TABLES = {
    "fig3_curves": (  # knnoise.plots.interactive.fig3_frame
        ["panel", "kind", "curve", "K", "gamma", "accuracy", "sd"],
        ["panel", "kind", "curve", "K", "gamma", "accuracy"],
        ("kind", {"analytic", "measured"}),
    ),
    "fig4_curves": (  # knnoise.plots.interactive.fig4_frame
        ["panel", "kind", "series", "gamma", "accuracy", "sd"],
        ["panel", "kind", "series", "gamma", "accuracy", "sd"],
        ("kind", {"analytic", "fitted", "prediction", "measured"}),
    ),
    "explorer_grid": (  # knnoise.experiments.explorer.table
        ["curve", "source", "confidence", "noise", "ties", "K", "gamma", "accuracy"],
        ["curve", "source", "noise", "gamma", "accuracy"],
        ("curve", {"Eq. 1", "large-K limit"}),
    ),
}
FIGDATA_TABLE = (list(figdata.COLUMNS), ["x", "y"], ("mark", set()))


def _check_figure_data(root: Path, names: list[str]) -> None:
    """One CSV per glued figure, written by the chapter's run, offered for download on its page."""
    downloads = {p.name for p in (root / "_build" / "html" / "_downloads").rglob("*.csv")}
    for name in names:
        text = (root / "notebooks" / f"{name}.py").read_text(encoding="utf-8")
        for figure in re.findall(r"^# ```\{glue:figure\} (\S+)$", text, flags=re.M):
            table = pd.read_csv(root / "book" / "executed" / "results" / name / f"{figure}.csv")
            columns, filled, (column, values) = OWN_TABLES.get(figure, FIGDATA_TABLE)
            assert list(table.columns) == columns and len(table) > 0, (name, figure, list(table.columns))
            assert table[filled].notna().all().all(), (name, figure)
            assert values <= set(table[column]), (name, figure, set(table[column]))
            assert f"{figure}.csv" in downloads, (name, figure)


def _check_scripts_are_the_book_s_own(root: Path) -> None:
    """No page loads a script from elsewhere (a CDN's require.js or widget manager): the book is offline."""
    for page in (root / "_build" / "html").rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        sources = re.findall(r"<script[^>]*\bsrc=[\"']([^\"']+)", html)
        foreign = [src for src in sources if re.match(r"(https?:)?//", src)]
        assert not foreign, f"{page.relative_to(root)} loads {foreign}"
        assert "require.min.js" not in html and "html-manager" not in html, page
