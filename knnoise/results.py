"""Key results of each chapter, recorded while it executes, and the claims table of the book's intro.

A notebook calls :func:`record` with a claim of the paper, the paper's own evidence and what it measured.
The runner (``python -m knnoise.book``) points ``$KNNOISE_RESULTS`` at ``book/executed/results`` while
notebooks execute, then writes ``book/executed/results.md`` (:func:`write_results_page`), which the
intro includes: the table is generated from the executed results, never typed in. Outside the runner
(``$KNNOISE_RESULTS`` unset) :func:`record` does nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["RESULTS_ENV", "record", "results_markdown", "write_results_page"]

RESULTS_ENV = "KNNOISE_RESULTS"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    rows = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    key = key or claim
    row = {"key": key, "claim": claim, "paper": paper, "measured": measured}
    rows = [r for r in rows if r.get("key") != key] + [row]
    _write_atomic(path, json.dumps(rows, indent=1))


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def results_markdown(folder: str | os.PathLike[str], chapters: Sequence[str], page_prefix: str) -> str:
    """The claims table (Markdown) from the recorded results of ``chapters``, in that order."""
    header = "| claim | the paper's evidence | measured in this build | chapter |"
    lines = [header, "| --- | --- | --- | --- |"]
    for chapter in chapters:
        path = Path(folder) / f"{chapter}.json"
        if not path.is_file():
            continue
        for row in json.loads(path.read_text(encoding="utf-8")):
            link = f"{{doc}}`{page_prefix}{chapter}`"
            cells = [_cell(row[field]) for field in ("claim", "paper", "measured")] + [link]
            lines.append("| " + " | ".join(cells) + " |")
    if len(lines) == 2:
        return "*No results recorded yet: execute the notebooks with `python -m knnoise.book`.*\n"
    return "\n".join(lines) + "\n"


def write_results_page(
    folder: str | os.PathLike[str], out: str | os.PathLike[str], chapters: Sequence[str], page_prefix: str
) -> Path:
    """Write :func:`results_markdown` to ``out`` (atomically) and return its path."""
    out = Path(out)
    _write_atomic(out, results_markdown(folder, chapters, page_prefix))
    return out
