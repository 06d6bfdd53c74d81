"""Fault injection into every file the book's runner keeps (the notebook-level half of tests/test_faults.py).

Kinds: a stored run's notebook (``jupyter-cache/executed/<hash>/base.ipynb``), its claims artifact
(``.../artifacts/beta.json``), the execution cache's index (``jupyter-cache/global.db``) and a chapter's
claims file (``book/executed/results/beta.json``); damages: truncated, emptied, deleted, garbage. Each
rerun of the mini book reports the damage once (or has nothing to report), re-executes at most the damaged
chapter, the run after it restores everything from the cache, and the claims table, the claims and every
notebook's outputs equal those of the undamaged run.

One undamaged run is executed per module; each case starts from a copy of its book and cache.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import warnings
from pathlib import Path

import nbformat
import pytest

from knnoise import book
from knnoise.book import cache

DAMAGES = ("truncated", "emptied", "deleted", "garbage")
KINDS = ("notebook", "artifact", "index", "claims")
# what the rerun after the damage reports (None: nothing; the damaged file is rewritten before it is read)
# and which notebooks it executes again
EXPECTED = {
    "notebook": (r"dropping the damaged notebook cache entry .*executed/\w+ \(.*\); the notebook will be "
                 r"executed again", ["beta"]),
    "artifact": (r"dropping the damaged notebook cache entry .*executed/\w+ \(.*artifact beta.json.*\); "
                 r"the notebook will be executed again", ["beta"]),
    "index": (r"the notebook cache's index .*global.db (is damaged \(.*\), moved aside to global.db.damaged|"
              r"is missing): rebuilt from the 2 stored run\(s\)", []),
    "claims": (None, []),
}  # fmt: skip


def _run(root: Path, **kw) -> book.RunResult:
    return book.run("t", build=False, root=root, progress=False, **kw)


def _reports(records: list[warnings.WarningMessage], root: Path) -> list[str]:
    """The warnings about the book's own files (each names its path)."""
    return [str(w.message) for w in records if str(root) in str(w.message)]


def _run_reporting(root: Path, **kw) -> tuple[book.RunResult, list[str]]:
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        result = _run(root, **kw)
    return result, _reports(records, root)


def _outputs(root: Path) -> dict[str, list]:
    executed = root / "book" / "executed"
    return {
        name: [c.get("outputs") for c in nbformat.read(executed / f"{name}.ipynb", as_version=4).cells]
        for name in ("alpha", "beta")
    }


def _state(root: Path) -> dict:
    """What the book shows: the claims table, the claims, the notebooks' outputs."""
    executed = root / "book" / "executed"
    return {
        "table": (executed / "results.md").read_text(),
        "claims": json.loads((executed / "results" / "beta.json").read_text()),
        "outputs": _outputs(root),
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Filled by the first case: the undamaged run's cache and executed book, and what it showed."""
    return {"folder": tmp_path_factory.mktemp("undamaged")}


@pytest.fixture
def executed(recording: Path, template: dict) -> Path:
    """The mini book (``beta`` recording a claim) with its undamaged run executed and stored."""
    folder = template["folder"]
    if "state" not in template:
        first = _run(recording)
        assert list(first.executed) == ["alpha", "beta"]
        template["state"] = _state(recording)
        assert "total 8" in template["state"]["table"]
        shutil.copytree(recording / "cache", folder / "cache")
        shutil.copytree(recording / "book" / "executed", folder / "executed")
    else:
        shutil.copytree(folder / "cache", recording / "cache")
        shutil.copytree(folder / "executed", recording / "book" / "executed", dirs_exist_ok=True)
    return recording


def _target(root: Path, kind: str) -> Path:
    jc = root / "cache" / cache.CACHE_SUBDIR
    if kind == "index":
        return jc / "global.db"
    if kind == "claims":
        return root / "book" / "executed" / "results" / "beta.json"
    (artifact,) = jc.glob("executed/*/artifacts/beta.json")
    return artifact if kind == "artifact" else artifact.parents[1] / "base.ipynb"


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_file_is_reported_once_repaired_and_the_book_is_unchanged(
    executed: Path, template: dict, kind: str, how: str, damage
) -> None:
    damage(_target(executed, kind), how)
    message, again = EXPECTED[kind]
    result, reports = _run_reporting(executed)
    if message is None:
        assert reports == []
    else:
        assert len(reports) == 1, reports
        assert re.search(message, reports[0]), reports[0]
    assert list(result.executed) == again and result.cached == [
        n for n in ("alpha", "beta") if n not in again
    ]
    assert _state(executed) == template["state"]
    # repaired: the next run restores everything from the cache, silently
    result, reports = _run_reporting(executed)
    assert reports == [] and result.executed == {} and result.cached == ["alpha", "beta"]
    assert _state(executed) == template["state"]


def test_a_damaged_claims_file_of_a_chapter_not_run_is_reported_once_and_restored_by_its_next_run(
    executed: Path, template: dict, damage
) -> None:
    damage(_target(executed, "claims"), "truncated")
    result, reports = _run_reporting(executed, only=["alpha"])
    assert result.cached == ["alpha"] and len(reports) == 1
    assert "damaged claims file" in reports[0] and "--only beta restores them" in reports[0]
    assert "total 8" not in (executed / "book" / "executed" / "results.md").read_text()
    result, reports = _run_reporting(executed, only=["beta"])
    assert reports == [] and result.cached == ["beta"]
    assert _state(executed) == template["state"]


def _read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write to the execution cache's index fails as SQLite fails on a read-only file (chmod does not
    stop root, who runs CI here)."""
    from jupyter_cache.cache.db import NbCacheRecord

    def refuse(*args, **kwargs):
        try:
            raise sqlite3.OperationalError("attempt to write a readonly database")
        except sqlite3.OperationalError as err:
            raise RuntimeError(
                "Unexpected error accessing jupyter cache, it may need to be cleared."
            ) from err

    for name in ("touch", "create_record", "remove_record", "remove_records"):
        monkeypatch.setattr(NbCacheRecord, name, staticmethod(refuse))


def test_a_read_only_cache_restores_and_is_not_called_damaged(
    executed: Path, template: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    _read_only(monkeypatch)
    result, reports = _run_reporting(executed)
    assert reports == [] and result.cached == ["alpha", "beta"]
    assert _state(executed) == template["state"]


def test_a_failed_store_says_what_happened_without_sql(
    executed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only index: the run succeeds, the warning says the cache is read-only (no SQL, not damage)."""
    source = executed / "notebooks" / "beta.py"
    source.write_text(source.read_text().replace("seed + 1", "seed + 2"))
    _read_only(monkeypatch)
    result, reports = _run_reporting(executed, only=["beta"])
    assert list(result.executed) == ["beta"] and len(reports) == 1, reports
    assert "could not store notebooks/beta.py" in reports[0] and "it is read-only" in reports[0]
    assert "SQL" not in reports[0] and "damaged" not in reports[0]
