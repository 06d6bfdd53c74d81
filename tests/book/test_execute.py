"""knnoise.book.execute: papermill execution, the kernel's environment, failure reports (starts kernels)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from knnoise import book
from knnoise.book import kernel, partials, runs


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
    assert "hide-input" in injected[0].metadata.tags  # folded like the parameters cell it overrides
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
    # the intro's claims table (knnoise.book.claims), how each chapter ran (knnoise.book.runs)
    generated = {"results", "results.md", "execution.csv", "execution.json"}
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


def test_a_fixed_notebook_drops_its_old_failure(mini: Path) -> None:
    with pytest.raises(book.NotebookFailed):
        book.execute_notebook("beta", {"fail": True}, root=mini, progress=False)
    assert (mini / "_build" / "failed" / "beta.ipynb").is_file()
    out = book.execute_notebook("beta", {"fail": False}, root=mini, progress=False)
    assert out == mini / "book" / "executed" / "beta.ipynb" and out.is_file()
    assert not (mini / "_build" / "failed" / "beta.ipynb").exists()


def test_missing_source(mini: Path) -> None:
    with pytest.raises(book.BookError, match="notebook 'gamma': source .* does not exist"):
        book.execute_notebook("gamma", root=mini)


def test_the_kernel_logs_no_tcp_warning(mini: Path, capfd: pytest.CaptureFixture[str]) -> None:
    book.execute_notebook("beta", {"fail": False}, root=mini, progress=True)
    err = capfd.readouterr().err
    assert "without encryption" not in err and "IPKernelApp" not in err
    assert "Executing" in err  # papermill's progress bar stays


def test_kernel_environment_is_restored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KNNOISE_RESULTS", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    with kernel.kernel_environment(tmp_path):
        assert os.environ["MPLBACKEND"] == "module://matplotlib_inline.backend_inline"
        assert os.environ["KNNOISE_RESULTS"] == str(tmp_path)
        assert os.environ["PYTHONHASHSEED"]
    assert os.environ["MPLBACKEND"] == "Agg" and "KNNOISE_RESULTS" not in os.environ


GLUED = """\
# %% tags=["parameters"]
seed = 0  # random seed

# %%
import matplotlib.pyplot as plt
import numpy as np

from knnoise.book import glue_figure, glue_values

fig, ax = plt.subplots(figsize=(2, 2))
ax.plot([0, 1])
glue_figure("gamma_fig", fig)
glue_values(gamma_value=np.float64(0.25))
"""


def test_glued_figures_reach_the_book_without_showing_in_place(mini: Path) -> None:
    (mini / "notebooks" / "gamma.py").write_text(GLUED)
    out = book.execute_notebook("gamma", {"seed": 1}, root=mini, progress=False)
    cell = nbformat.read(out, as_version=4).cells[-1]
    keys = [k for o in cell.outputs for k in o.get("data", {})]
    prefix = "application/papermill.record/"
    assert f"{prefix}image/png" in keys and f"{prefix}text/plain" in keys
    assert "image/png" not in keys, "the figure must not also be displayed in place"
    names = [o.metadata["scrapbook"]["name"] for o in cell.outputs if "scrapbook" in o.get("metadata", {})]
    assert names == ["gamma_fig", "gamma_value"]


PROGRESS = """\
# %% tags=["parameters"]
seed = 0  # random seed

# %%
from tqdm.auto import tqdm

print([c.__module__ for c in tqdm.__mro__])
for _ in tqdm(range(3), desc="steps"):
    pass
"""


def test_executed_notebooks_hold_no_widgets(mini: Path) -> None:
    """tqdm.auto draws an ipywidgets bar in the kernel; the executed notebook keeps no view or state of it,
    so no page of the book needs a widget manager (require.js, html-manager) from a CDN."""
    (mini / "notebooks" / "gamma.py").write_text(PROGRESS)
    out = book.execute_notebook("gamma", {"seed": 1}, root=mini, progress=False)
    nb = nbformat.read(out, as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "tqdm.notebook" in text, "the kernel should draw a widget bar (ipywidgets is installed)"
    mimes = {m for c in nb.cells if c.cell_type == "code" for o in c.outputs for m in o.get("data", {})}
    assert runs.WIDGET_VIEW not in mimes
    assert "widgets" not in nb.metadata
    assert "widget" not in out.read_text(encoding="utf-8")


def test_without_widgets_keeps_other_outputs() -> None:
    nb = nbformat.v4.new_notebook()
    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("display_data", {runs.WIDGET_VIEW: view, "text/plain": "0%|"}),
        nbformat.v4.new_output("stream", name="stdout", text="kept\n"),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("prose"), cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"abc": {}}}}
    runs.without_widgets(nb)
    assert [o.output_type for o in nb.cells[1].outputs] == ["stream"]
    assert "widgets" not in nb.metadata and nb.cells[0].source == "prose"


# ----------------------------------------------------------------------------------------------------
# Ctrl-C and killed runs (real runner processes)

SLOW = """\
# %% tags=["parameters"]
seed = 0  # random seed
fail = False  # raise on purpose

# %%
import time
from pathlib import Path

Path("running").write_text("yes")
time.sleep(120)
"""


def _as_from_a_terminal() -> None:
    """In the runner's process before it starts: Ctrl-C (SIGINT) handled as a terminal's shell leaves it.

    A test run started in the background by a non-interactive shell (``make test &``, a CI script) ignores
    SIGINT, and an ignored signal stays ignored in every process it starts: the runner would then rightly
    ignore the test's Ctrl-C too (as it does under ``nohup``), and never exit.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_slow_run(mini: Path) -> tuple[subprocess.Popen, list[int]]:
    """A runner executing a notebook that sleeps, once its cell runs; and its kernel's process ids."""
    (mini / "notebooks" / "beta.py").write_text(SLOW)
    command = [sys.executable, "-m", "knnoise.book", "--root", str(mini), "--profile", "t", "--only", "beta"]
    runner = subprocess.Popen(
        [*command, "--no-build", "--no-progress"],
        cwd=mini,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a signal for it alone, as a terminal's Ctrl-C (the kernel has its own)
        preexec_fn=_as_from_a_terminal,
    )
    deadline = time.monotonic() + 120
    while not (mini / "running").exists():
        assert runner.poll() is None, runner.communicate()
        assert time.monotonic() < deadline, "the slow cell never started"
        time.sleep(0.1)
    kernels = [int(pid) for pid in Path(f"/proc/{runner.pid}/task/{runner.pid}/children").read_text().split()]
    assert kernels, "no kernel process"
    return runner, kernels


def _gone(pids: list[int], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the kernel through /proc")
def test_ctrl_c_exits_130_naming_the_notebook_and_leaves_no_partial_file(mini: Path) -> None:
    runner, kernels = _start_slow_run(mini)
    executed = mini / "book" / "executed"
    assert list(executed.glob(partials.PARTIAL_PATTERN))  # being written
    runner.send_signal(signal.SIGINT)
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == 130, out + err
    assert err == (
        "error: interrupted while running notebook 'beta' (notebooks/beta.py); its partial output was "
        "removed and book/executed/beta.ipynb left as it was\n"
    )
    assert sorted(p.name for p in executed.iterdir()) == []  # no partial, no half notebook
    assert not (mini / "_build" / "failed").exists()  # an interruption is not a failure
    assert _gone(kernels), "the kernel outlived the run"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the kernel through /proc")
def test_the_partial_file_of_a_killed_run_is_removed_by_the_next(mini: Path, capsys) -> None:
    runner, kernels = _start_slow_run(mini)
    runner.kill()  # SIGKILL: no cleanup at all
    runner.communicate(timeout=60)
    executed = mini / "book" / "executed"
    (left,) = executed.glob(partials.PARTIAL_PATTERN)
    assert _gone(kernels), "the kernel outlived its runner"
    (mini / "notebooks" / "beta.py").write_text(SLOW.replace("time.sleep(120)", ""))
    book.run("t", only=["beta"], build=False, root=mini, progress=False)
    assert f"by a run that was killed: {left.name}" in capsys.readouterr().out
    assert not list(executed.glob(partials.PARTIAL_PATTERN)) and (executed / "beta.ipynb").is_file()


# ----------------------------------------------------------------------------------------------------
# The figures' data: published with the notebook, never half

FIGURES = """\
# %% tags=["parameters"]
seed = 0  # random seed
fail = False  # raise on purpose

# %%
import matplotlib.pyplot as plt

from knnoise.book import glue_figure

fig, ax = plt.subplots(figsize=(2, 2))
ax.plot([0, 1], [seed, seed + 1])
glue_figure("during" if fail else "before", fig)

# %%
if fail:
    raise RuntimeError("boom")
"""


def _data(root: Path, name: str) -> dict[str, str]:
    folder = root / "book" / "executed" / "results" / name
    return {p.name: p.read_text() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def _left_over(root: Path) -> list[str]:
    """What a run left beside the notebooks besides them: partial notebooks or figure-data folders."""
    return sorted(p.name for p in (root / "book" / "executed").glob(".*"))


def test_a_failed_run_keeps_the_old_notebook_and_the_data_its_links_name(mini: Path) -> None:
    (mini / "notebooks" / "gamma.py").write_text(FIGURES)
    out = book.execute_notebook("gamma", {"seed": 1}, root=mini, progress=False)
    old = _data(mini, "gamma")
    assert list(old) == ["before.csv"] and "1" in old["before.csv"]
    notebook = out.read_bytes()
    with pytest.raises(book.NotebookFailed, match="RuntimeError: boom"):
        book.execute_notebook("gamma", {"seed": 2, "fail": True}, root=mini, progress=False)
    assert _data(mini, "gamma") == old, "the failed run's data must not replace (or join) the old run's"
    assert out.read_bytes() == notebook and _left_over(mini) == []
    book.execute_notebook("gamma", {"seed": 3}, root=mini, progress=False)
    new = _data(mini, "gamma")
    assert list(new) == ["before.csv"] and new != old and _left_over(mini) == []


def test_a_run_without_figures_removes_the_old_data(mini: Path) -> None:
    (mini / "notebooks" / "gamma.py").write_text(FIGURES)
    book.execute_notebook("gamma", {"seed": 1}, root=mini, progress=False)
    (mini / "notebooks" / "gamma.py").write_text(
        FIGURES.replace('glue_figure("during" if fail else "before", fig)', "")
    )
    book.execute_notebook("gamma", {"seed": 1}, root=mini, progress=False)
    assert _data(mini, "gamma") == {} and _left_over(mini) == []


def test_the_data_folder_of_a_killed_run_is_removed_with_its_partial_notebook(mini: Path) -> None:
    executed = mini / "book" / "executed"
    executed.mkdir(parents=True)
    live = executed / ".gamma.live.partial.ipynb"  # a run still going has its partial notebook
    live.write_text("{}")
    for stem in (".gamma.live.partial", ".gamma.killed.partial"):
        for suffix in (".data", ".old"):
            (executed / f"{stem}{suffix}").mkdir()
            (executed / f"{stem}{suffix}" / "f.csv").write_text("x\n")
    (mini / "notebooks" / "gamma.py").write_text(FIGURES)
    book.execute_notebook("gamma", {"seed": 1}, root=mini, progress=False)
    assert _left_over(mini) == [".gamma.live.partial.data", live.name, ".gamma.live.partial.old"]
