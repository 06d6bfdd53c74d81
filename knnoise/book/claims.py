"""Key results of each chapter, recorded while it executes, and the claims table of the book's intro.

A notebook calls :func:`record` with a claim of the paper, the paper's own evidence and what it measured.
The runner (``python -m knnoise.book``) points ``$KNNOISE_RESULTS`` at ``book/executed/results`` while
notebooks execute, then writes ``book/executed/results.md`` (:func:`write_results_page`), which the
intro includes: the table is generated from the executed results, never typed in. Outside the runner
(``$KNNOISE_RESULTS`` unset) :func:`record` does nothing.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

from knnoise._io import read_json, write_json, write_text

__all__ = ["RESULTS_ENV", "record", "results_markdown", "valid_rows", "write_results_page"]

RESULTS_ENV = "KNNOISE_RESULTS"
FIELDS = ("claim", "paper", "measured")


def valid_rows(payload: object) -> bool:
    """Whether ``payload`` (a chapter's parsed claims file) is a list of rows with claim, paper, measured."""
    return isinstance(payload, list) and all(
        isinstance(row, dict) and all(isinstance(row.get(f), str) for f in FIELDS) for row in payload
    )


def _rows(path: Path, *, quiet: bool = False) -> list[dict[str, str]]:
    """The rows recorded in ``path``; none when it is missing or damaged (then it is removed).

    A damaged file is reported once as a warning, unless ``quiet`` (the chapter is recording anew).
    """

    def report(path: Path, err: BaseException) -> None:
        if not quiet:
            chapter = path.stem
            warnings.warn(
                f"dropping the damaged claims file {path} ({type(err).__name__}: {err}): the claims table "
                f"lacks {chapter}'s rows until it runs again (python -m knnoise.book --only {chapter} "
                "restores them from the execution cache)",
                stacklevel=4,
            )

    return read_json(path, check=valid_rows, on_damaged=report) or []


def record(chapter: str, claim: str, paper: str, measured: str, *, key: str | None = None) -> None:
    """Record one result of ``chapter`` (the notebook's name) for the intro's claims table.

    Parameters
    ----------
    chapter : str
        The notebook's name, e.g. ``"fig3_knn"``; the table links to its page.
    claim : str
        The paper's claim, in a few words.
    paper : str
        The paper's evidence for it.
    measured : str
        What this run measured, with its numbers (Markdown).
    key : str, optional
        Identifies the row within the chapter (default: ``claim``); recording it again replaces it.

    Nothing is written when ``$KNNOISE_RESULTS`` is unset (outside the runner). Returns None, so a call
    that ends a notebook cell displays nothing.
    """
    folder = os.environ.get(RESULTS_ENV)
    if not folder:
        return
    path = Path(folder) / f"{chapter}.json"
    key = key or claim
    row = {"key": str(key), "claim": str(claim), "paper": str(paper), "measured": str(measured)}
    kept = [r for r in _rows(path, quiet=True) if r.get("key") != row["key"]]  # a damaged file: replaced
    write_json(path, [*kept, row], indent=1)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def results_markdown(folder: str | os.PathLike[str], chapters: Sequence[str], page_prefix: str) -> str:
    """The claims table (Markdown) from the recorded results of ``chapters``, in that order.

    Each row links to its chapter's page, ``{doc}`<page_prefix><chapter>```.
    """
    header = "| claim | the paper's evidence | measured in this build | chapter |"
    lines = [header, "| --- | --- | --- | --- |"]
    for chapter in chapters:
        for row in _rows(Path(folder) / f"{chapter}.json"):
            link = f"{{doc}}`{page_prefix}{chapter}`"
            lines.append("| " + " | ".join([*(_cell(row[f]) for f in FIELDS), link]) + " |")
    if len(lines) == 2:
        return "*No results recorded yet: execute the notebooks with `python -m knnoise.book`.*\n"
    return "\n".join(lines) + "\n"


def write_results_page(
    folder: str | os.PathLike[str], out: str | os.PathLike[str], chapters: Sequence[str], page_prefix: str
) -> Path:
    """Write :func:`results_markdown` to ``out`` (atomically) and return its path."""
    return write_text(out, results_markdown(folder, chapters, page_prefix))
