"""knnoise.book.cache: a rerun executes only what changed (jupyter-cache); claims survive a hit (kernels)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import nbformat
import pytest

from knnoise import book
from knnoise.book import cache, cli


def _run(root: Path, **kw) -> book.RunResult:
    return book.run("t", build=False, root=root, progress=False, **kw)


def _claims(root: Path) -> list[dict]:
    return json.loads((root / "book" / "executed" / "results" / "beta.json").read_text())


def test_a_rerun_with_nothing_changed_executes_nothing_and_restores_notebooks_and_claims(recording: Path):
    first = _run(recording)
    assert list(first.executed) == ["alpha", "beta"] and first.cached == []
    executed = recording / "book" / "executed"
    before = {n: nbformat.read(executed / f"{n}.ipynb", as_version=4) for n in ("alpha", "beta")}
    claims = _claims(recording)
    assert claims[0]["measured"] == "total 8"  # seed 7 from the profile
    for path in executed.rglob("*.*"):  # a fresh checkout: nothing executed, no claims
        path.unlink()
    again = _run(recording)
    assert again.executed == {} and again.cached == ["alpha", "beta"]
    assert _claims(recording) == claims
    for name, nb in before.items():
        restored = nbformat.read(executed / f"{name}.ipynb", as_version=4)
        assert [c.get("outputs") for c in restored.cells] == [c.get("outputs") for c in nb.cells]
        assert [c.source for c in restored.cells] == [c.source for c in nb.cells]
        run = nb.metadata.pop("knnoise_run")  # how it ran (knnoise.book.runs): kept, marked restored
        got = restored.metadata.pop("knnoise_run")
        assert got.pop("restored_at") >= run["finished"] and got.pop("restored_commit") == "unknown"
        assert got == {**run, "status": "restored"}
        assert restored.metadata == nb.metadata
    alpha = nbformat.read(executed / "alpha.ipynb", as_version=4)
    assert "image/png" in {m for c in alpha.cells for o in c.get("outputs", []) for m in o.get("data", {})}


def test_a_code_edit_re_executes_that_notebook_a_prose_edit_does_not(recording: Path) -> None:
    _run(recording)
    source = recording / "notebooks" / "beta.py"
    original = source.read_text()
    source.write_text(original.replace("# # Beta", "# # Beta, edited"))
    prose = _run(recording)
    assert prose.executed == {} and prose.cached == ["alpha", "beta"]
    nb = nbformat.read(recording / "book" / "executed" / "beta.ipynb", as_version=4)
    assert nb.cells[0].source == "# Beta, edited"  # the prose comes from the current source
    source.write_text(original.replace("total = seed + 1", "total = seed + 2"))
    code = _run(recording)
    assert list(code.executed) == ["beta"] and code.cached == ["alpha"]
    assert _claims(recording)[0]["measured"] == "total 9"


def test_a_changed_parameter_re_executes(recording: Path) -> None:
    _run(recording, only=["beta"])
    changed = _run(recording, only=["beta"], overrides={"seed": 3})
    assert list(changed.executed) == ["beta"]
    assert _claims(recording)[0]["measured"] == "total 4"
    back = _run(recording, only=["beta"])  # the profile's value again: its run is still cached
    assert back.executed == {} and _claims(recording)[0]["measured"] == "total 8"


def test_where_the_sweeps_ran_is_not_in_the_key(recording: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A --workers run (a new scheduler address each time) is restored by a run without one, and back."""
    source = recording / "notebooks" / "beta.py"
    declared = source.read_text().replace(
        "fail = False  # raise on purpose\n", "fail = False  # x\nscheduler = None\n"
    )
    source.write_text(declared)
    addresses = iter(["tcp://127.0.0.1:40001", "tcp://127.0.0.1:40002"])

    @contextlib.contextmanager
    def serve(scheduler):
        yield None if scheduler is None else next(addresses)

    monkeypatch.setattr(cli._engine, "serve", serve)
    first = _run(recording, only=["beta"], scheduler=2)
    assert list(first.executed) == ["beta"]
    executed = nbformat.read(recording / "book" / "executed" / "beta.ipynb", as_version=4)
    assert 'scheduler = "tcp://127.0.0.1:40001"' in executed.cells[2].source  # the injected cell shows it
    assert _run(recording, only=["beta"]).cached == ["beta"]
    assert _run(recording, only=["beta"], scheduler=2).cached == ["beta"]
    assert list(_run(recording, only=["beta"], overrides={"seed": 3}).executed) == ["beta"]


def test_a_knnoise_edit_or_force_re_executes(
    recording: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(recording, only=["beta"])
    argv = ["--root", str(recording), "--profile", "t", "--only", "beta", "--no-build", "--force"]
    assert cli.main(argv) == 0
    assert "executed 1 notebook(s)" in capsys.readouterr().out
    monkeypatch.setattr(cache, "code_hash", lambda package=None: "an edited knnoise")  # mini pins it
    edited = _run(recording, only=["beta"])
    assert list(edited.executed) == ["beta"]
    assert _run(recording, only=["beta"]).executed == {}


def test_code_hash_follows_every_file_of_the_package_but_bytecode(tmp_path: Path) -> None:
    (tmp_path / "sub" / "__pycache__").mkdir(parents=True)
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    first = cache.code_hash(tmp_path)
    assert cache.code_hash(tmp_path) == first and len(first) == 64
    (tmp_path / "sub" / "b.py").write_text("y = 3\n")
    assert cache.code_hash(tmp_path) != first
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    (tmp_path / "sub" / "__pycache__" / "b.cpython-311.pyc").write_bytes(b"bytecode")
    assert cache.code_hash(tmp_path) == first
    (tmp_path / "table.csv").write_text("package data")
    assert cache.code_hash(tmp_path) != first
    assert cache.code_hash() != first  # the installed package by default


def test_a_changed_input_file_named_by_a_parameter_re_executes(recording: Path) -> None:
    source = recording / "notebooks" / "beta.py"
    source.write_text(
        source.read_text().replace("fail = False", 'fail = False\ntable = "data/t.csv"  # an input')
    )
    (recording / "data").mkdir()
    (recording / "data" / "t.csv").write_text("a,b\n1,2\n")
    assert list(_run(recording, only=["beta"]).executed) == ["beta"]
    assert _run(recording, only=["beta"]).executed == {}
    (recording / "data" / "t.csv").write_text("a,b\n1,3\n")
    assert list(_run(recording, only=["beta"]).executed) == ["beta"]
    assert cache.input_hashes({"d": "data", "f": "data/t.csv", "n": "digits", "x": 3}, recording).keys() == {
        "d",
        "f",
    }


def test_a_damaged_cache_entry_is_reported_once_dropped_and_re_executed(recording: Path) -> None:
    _run(recording, only=["beta"])
    stored = list((recording / "cache" / cache.CACHE_SUBDIR / "executed").rglob("*.ipynb"))
    assert len(stored) == 1
    stored[0].write_text('{"cells": [')  # truncated
    with pytest.warns(UserWarning, match="damaged notebook cache entry") as record:
        again = _run(recording, only=["beta"])
    assert len([w for w in record if "damaged" in str(w.message)]) == 1
    assert list(again.executed) == ["beta"]
    assert _run(recording, only=["beta"]).executed == {}


def test_a_restore_replaces_the_chapter_s_figure_data_whole(recording: Path) -> None:
    """The restored run's figures' data, and nothing an earlier run left in book/executed/results/beta/."""
    source = recording / "notebooks" / "beta.py"
    source.write_text(
        source.read_text()
        + "\nimport matplotlib.pyplot as plt\n\nfrom knnoise.book import glue_figure\n\n"
        + 'fig, ax = plt.subplots()\nax.plot([0, 1], [total, 0])\nglue_figure("beta_fig", fig)\n'
    )
    _run(recording)
    folder = recording / "book" / "executed" / "results" / "beta"
    stored = (folder / "beta_fig.csv").read_text()
    (folder / "beta_fig.csv").write_text("edited\n")
    (folder / "stray.csv").write_text("from another run\n")
    again = _run(recording)
    assert again.cached == ["alpha", "beta"]
    assert sorted(p.name for p in folder.iterdir()) == ["beta_fig.csv"]
    assert (folder / "beta_fig.csv").read_text() == stored
    assert not list((recording / "book" / "executed").glob(".*")), "no partial notebook or data left"
