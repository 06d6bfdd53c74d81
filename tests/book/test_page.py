"""knnoise.book.page: the notebooks' setup cell, ``p = setup("<name>", globals())``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from knnoise import book
from knnoise.book import chapters, figdata, page
from knnoise.book.page import Params, glue_figure, glue_values, parameters, setup
from knnoise.dnn import TrainOptions
from knnoise.experiments import CHAPTERS
from knnoise.pipeline.data_spec import DataSpec

REPO = Path(__file__).resolve().parents[2]


def _namespace(name: str, **changes) -> dict:
    """A notebook's globals after its parameters cell (and papermill's injected one)."""
    declared = book.notebook_parameters(REPO / "notebooks" / f"{name}.py")
    namespace = {"__name__": "__main__", "np": np}
    namespace.update({k: p.default for k, p in declared.items()})
    namespace.update(changes)
    return namespace


def test_setup_validates_fills_defaults_and_derives(capsys: pytest.CaptureFixture[str]) -> None:
    p = setup("fig3_knn", _namespace("fig3_knn", ks=[25, 1, 5]))
    assert p.ks == p["ks"] == [1, 5, 25]
    np.testing.assert_array_equal(p.uniform_gammas, np.round(np.arange(0, 0.951, 0.05), 2))
    assert p.flip_gammas.dtype == np.float64 and p.flip_gammas[-1] == 0.8
    assert p.schedule == TrainOptions(model="mnist", epochs=3, lr=0.003, lr_halving_every=None)
    assert p.data == DataSpec("mnist", data_path=None, train_subset=None, test_subset=None, seed=0)
    assert set(p) == set(chapters.SCHEMAS["fig3_knn"].params) | {"schedule", "data"}
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Parameters:"
    assert out[1].split() == ["dataset", "'mnist'"]  # the parameters cell's order
    assert any(line.split()[:2] == ["ks", "[1,"] for line in out)
    assert any(line.startswith("  uniform_gammas  [0.0, 0.05, 0.1,") for line in out)


def test_parameters_outside_a_notebook_are_the_setup_cell_s() -> None:
    """parameters(): the notebook's defaults with the given values over them, validated and derived once."""
    p = parameters("fig4_dnn", dataset="digits", train_subset=500, epochs=1, ks=[5, 1])
    q = setup("fig4_dnn", _namespace("fig4_dnn", dataset="digits", train_subset=500, epochs=1, ks=[5, 1]),
              show=False)  # fmt: skip
    assert dict(p).keys() == dict(q).keys() and p.ks == [1, 5] and p.schedule == q.schedule
    assert p.data == DataSpec("digits", train_subset=500) and p.data.load().n_train == 500
    assert p.schedule.epochs == 1 and p.schedule.model == "mnist"
    with pytest.raises(book.ParameterError, match="fig4_dnn: epochs must be an integer >= 1, got 0"):
        parameters("fig4_dnn", epochs=0)
    with pytest.raises(book.ParameterError, match="fig4_dnn: unknown parameter 'epoch'"):
        parameters("fig4_dnn", epoch=3)
    with pytest.raises(book.ParameterError, match="nope: no parameter schema"):
        parameters("nope")


def test_params_pickle_and_copy_whole() -> None:
    """A process pool or a Dask worker can receive a chapter's parameters (and copies are equal)."""
    import copy
    import pickle

    p = parameters("fig4_dnn", dataset="digits", train_subset=300)
    for q in (pickle.loads(pickle.dumps(p)), copy.copy(p), copy.deepcopy(p)):
        assert list(q) == list(p) and q.ks == p.ks and q.schedule == p.schedule and q.data == p.data
        np.testing.assert_array_equal(q.uniform_gammas, p.uniform_gammas)
        with pytest.raises(AttributeError, match="read-only"):
            q.ks = [1]


def test_every_chapter_has_its_module_and_its_notebook_imports_it() -> None:
    import importlib

    assert set(CHAPTERS) == set(book.toc_notebooks(REPO))
    for notebook, module in CHAPTERS.items():
        importlib.import_module(f"knnoise.experiments.{module}")
        source = (REPO / "notebooks" / f"{notebook}.py").read_text(encoding="utf-8")
        assert re.search(rf"from knnoise\.experiments import .*\b{module}\b", source), notebook


def test_papermill_strings_are_read_as_yaml() -> None:
    namespace = _namespace("fig4_dnn", ks="[25, 1, 5]", uniform_gammas="[0, 0.5]", train_subset="null")
    p = setup("fig4_dnn", namespace, show=False)
    assert p.ks == [1, 5, 25] and p.train_subset is None
    np.testing.assert_array_equal(p.uniform_gammas, [0.0, 0.5])
    assert p.schedule.lr_halving_every is None and p.dataset == "mnist"


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        (
            "fig3_knn",
            {"ks": "[0]"},
            "fig3_knn: ks must be a non-empty list of distinct values, each an integer >= 1, or one such "
            "value, got [0]",
        ),
        ("fig3_knn", {"lr": -1}, "fig3_knn: lr must be a number > 0, got -1"),
        ("fig2_softmax", {"flip_gammas": [0.1, 1.5]}, "fig2_softmax: flip_gammas must be a non-empty list"),
        ("theory", {"even_ks": [2, 2]}, "theory: even_ks must be a non-empty list of distinct values"),
        ("data", {"dataset": "imagenet"}, "data: dataset must be one of ('digits', 'mnist', "),
    ],
)
def test_setup_gives_the_runner_s_checks(name: str, change: dict, message: str) -> None:
    with pytest.raises(book.ParameterError) as info:
        setup(name, _namespace(name, **change))
    assert str(info.value).startswith(message)
    assert isinstance(info.value, ValueError)


def test_every_invalid_value_is_rejected_by_setup() -> None:
    from knnoise.book.schema import invalid_cases

    for name, schema in chapters.SCHEMAS.items():
        for param, bad in invalid_cases(schema):
            with pytest.raises(book.ParameterError, match=f"^{name}: {param} must be "):
                setup(name, _namespace(name, **bad), show=False)


def test_a_name_the_schema_declares_must_be_defined() -> None:
    namespace = _namespace("theory")
    del namespace["speed_k"]
    with pytest.raises(book.ParameterError, match="theory: speed_k not defined; its schema"):
        setup("theory", namespace)
    with pytest.raises(book.ParameterError, match="no parameter schema"):
        setup("nope", namespace)


def test_params_are_read_only() -> None:
    p = Params("nb", {"a": 1})
    assert dict(p) == {"a": 1} and len(p) == 1 and "a" in dir(p)
    with pytest.raises(AttributeError, match="read-only"):
        p.a = 2
    with pytest.raises(AttributeError, match="read-only"):
        del p.a
    with pytest.raises(TypeError):
        p["a"] = 2  # type: ignore[index]
    with pytest.raises(AttributeError, match="nb has no parameter 'b'; it has a"):
        p.b  # noqa: B018
    assert repr(p) == "Params('nb', {'a': 1})"


def test_importing_setup_in_a_kernel_is_cheap() -> None:
    code = (
        "import sys, time\n"
        "import knnoise\n"
        "t = time.perf_counter()\n"
        "from knnoise.book import setup, record\n"
        "heavy = [m for m in sys.modules if m in ('torch', 'papermill', 'jupytext', 'nbformat', 'sphinx')]\n"
        "print(heavy, time.perf_counter() - t)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    heavy, seconds = out.stdout.rsplit(" ", 1)
    assert heavy == "[]", out.stdout
    assert float(seconds) < 1.0, out.stdout


def test_glue_figures_and_values_without_showing_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from myst_nb.ext import glue as myst_glue

    shown: list[tuple[dict, dict]] = []
    monkeypatch.setattr(myst_glue, "ipy_display", lambda data, raw, metadata: shown.append((data, metadata)))
    glue_values(fig3_gap=np.float64(0.125), fig3_ties="lowest")
    fig, ax = plt.subplots()
    glue_figure("fig3_curves", fig)
    assert not plt.fignum_exists(fig.number), "a glued figure is closed, so it is not shown again"
    names = [m["scrapbook"]["name"] for _, m in shown]
    assert names == ["fig3_gap", "fig3_ties", "fig3_curves"]
    assert all(m["scrapbook"]["mime_prefix"] == myst_glue.GLUE_PREFIX for _, m in shown)
    assert shown[0][0][myst_glue.GLUE_PREFIX + "text/plain"] == "0.125"  # a number, not np.float64(0.125)


def test_glue_figure_writes_what_the_figure_plots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    from myst_nb.ext import glue as myst_glue

    monkeypatch.setattr(myst_glue, "ipy_display", lambda data, raw, metadata: None)
    monkeypatch.delenv(page.FIGURE_DATA_ENV, raising=False)
    fig, ax = plt.subplots()
    ax.plot([0.0, 0.5], [1.0, 0.75], label="K = 1")
    assert glue_figure("outside", fig) is None  # returns nothing: a cell ending with it shows nothing
    monkeypatch.setenv(page.FIGURE_DATA_ENV, str(tmp_path / "results" / "ch"))
    fig, ax = plt.subplots()
    ax.plot([0.0, 0.5], [1.0, 0.75], label="K = 1")
    glue_figure("curves", fig)
    written = tmp_path / "results" / "ch" / "curves.csv"
    table = pd.read_csv(written)
    assert list(table.columns) == list(figdata.COLUMNS)
    expected = [["K = 1", "line", 0.0, 1.0], ["K = 1", "line", 0.5, 0.75]]
    assert table[["series", "mark", "x", "y"]].values.tolist() == expected
    own = pd.DataFrame({"gamma": [0.0, 0.5], "accuracy": [1.0, 0.75]})
    fig, _ = plt.subplots()
    glue_figure("own", fig, data=own)
    pd.testing.assert_frame_equal(pd.read_csv(written.parent / "own.csv"), own)
    fig, _ = plt.subplots()
    with pytest.raises(TypeError, match="glue_figure: data must be a pandas DataFrame or None, got dict"):
        glue_figure("bad", fig, data={"gamma": [0.0]})
    for name in ("../evil", "", "a.b", "sub/fig", ".hidden", None):  # the name is also the file's name
        with pytest.raises(
            ValueError, match=rf"glue_figure: name must be letters, .* got {re.escape(repr(name))}"
        ):
            glue_figure(name, fig)
    with pytest.raises(TypeError, match="glue_figure: fig must be a matplotlib Figure, got str"):
        glue_figure("curves2", "fig")
    assert sorted(p.name for p in written.parent.iterdir()) == ["curves.csv", "own.csv"]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["ch", "curves.csv", "own.csv", "results"]


def test_every_glued_figure_offers_its_data() -> None:
    """Each ``{glue:figure}`` of a chapter has a download link to the CSV its run writes (the strict build
    fails when the file is missing)."""
    import re

    missing = []
    for source in sorted((REPO / "notebooks").glob("*.py")):
        text = source.read_text(encoding="utf-8")
        for block in re.findall(r"^# ```\{glue:figure\} (\S+)\n(.*?)^# ```$", text, flags=re.M | re.S):
            name, body = block
            link = rf"\{{download\}}`Data[^`<]*\(CSV\) <results/{source.stem}/{name}\.csv>`"
            if not re.search(link, body):
                missing.append(f"{source.name}: {name}")
    assert not missing, f"figures without a data download link: {missing}"
