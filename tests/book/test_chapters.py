"""knnoise.book.chapters: one schema per notebook, in step with its parameters cell and the profiles."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from knnoise import book
from knnoise.book import chapters
from knnoise.book.schema import ParameterError, derive, invalid_cases, validate
from knnoise.dnn import TrainOptions
from knnoise.pipeline.data_spec import DataSpec

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = book.toc_notebooks(REPO)
PROFILES = book.available_profiles(REPO)


def _declared(name: str) -> dict[str, book.Parameter]:
    return book.notebook_parameters(REPO / "notebooks" / f"{name}.py")


def test_every_toc_notebook_has_a_schema() -> None:
    assert list(chapters.SCHEMAS) == NOTEBOOKS
    assert all(s.notebook == name for name, s in chapters.SCHEMAS.items())


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_parameters_cell_and_schema_declare_the_same_names(name: str) -> None:
    declared = _declared(name)
    assert set(declared) == set(chapters.SCHEMAS[name].params)
    assert all(p.literal for p in declared.values()), "the runner validates literal defaults only"


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_profile_validates(profile: str, name: str) -> None:
    prof = book.load_profile(profile, REPO)
    merged = book.merge_parameters(name, _declared(name), prof.globals, prof.notebooks.get(name))
    values = chapters.validate(name, merged.values)
    assert list(values) == list(chapters.SCHEMAS[name].params)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_invalid_case_is_rejected_naming_the_parameter(name: str) -> None:
    defaults = {k: p.default for k, p in _declared(name).items()}
    cases = invalid_cases(chapters.SCHEMAS[name])
    assert {n for n, _ in cases} == set(defaults), "every parameter has at least one invalid value"
    for param, bad in cases:
        with pytest.raises(ParameterError, match=f"^{name}: {param} must be .*, got "):
            chapters.validate(name, {**defaults, **bad})


def test_unknown_notebook() -> None:
    with pytest.raises(ParameterError, match="nope: no parameter schema; .* has schemas for data, "):
        chapters.schema("nope")


def test_choice_lists_agree_with_the_science_layers() -> None:
    from knnoise._checks import TIE_MODES
    from knnoise.data import DATASETS

    assert chapters.DATASETS == DATASETS
    assert set(chapters.TIES) == set(TIE_MODES)
    models = importlib.import_module("knnoise.dnn.models").MODELS
    assert set(chapters.MODELS) <= set(models)


def test_derived_defaults_match_the_notebooks_former_checks() -> None:
    values = chapters.validate("fig3_knn", {k: p.default for k, p in _declared("fig3_knn").items()})
    expected = np.round(np.arange(0, 0.951, 0.05), 2)
    np.testing.assert_array_equal(values["uniform_gammas"], expected)
    assert values["uniform_gammas"].dtype == np.float64
    np.testing.assert_array_equal(values["flip_gammas"], np.round(np.arange(0, 0.801, 0.05), 2))
    assert values["ks"] == [1, 5, 25, 51]
    fig4 = {k: p.default for k, p in _declared("fig4_dnn").items()}
    values = chapters.validate("fig4_dnn", {**fig4, "flip_gammas": None})
    np.testing.assert_array_equal(values["flip_gammas"], [0.0])
    np.testing.assert_array_equal(values["uniform_gammas"], [0.0, 0.5, 0.8, 0.9])


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_derived_schedule_and_data(name: str) -> None:
    defaults = {k: p.default for k, p in _declared(name).items()}
    schema = chapters.SCHEMAS[name]
    derived = derive(schema, validate(schema, defaults))
    if "epochs" in defaults:  # fig3_knn's network embedding and concentration's networks: model mnist
        expected = TrainOptions(
            model=defaults.get("model", "mnist"),
            epochs=defaults["epochs"],
            lr=defaults["lr"],
            lr_halving_every=defaults.get("lr_halving_every"),
        )
        assert derived["schedule"] == expected and isinstance(derived["schedule"].lr, float)
        assert derived["schedule"].num_threads == torch.get_num_threads()  # pinned where the setup ran
    else:
        assert "schedule" not in derived
    data_names = ("dataset", "data_path", "train_subset", "test_subset", "seed")
    if "dataset" in defaults:
        assert derived["data"] == DataSpec(**{k: defaults[k] for k in data_names if k in defaults})
    else:
        assert "data" not in derived


@pytest.mark.parametrize(
    ("name", "values", "needle"),
    [
        ("fig3_knn", {"lr": 0}, "fig3_knn: lr must be a number > 0, got 0"),  # never checked before
        (
            "fig1_concentration",
            {"gamma": 1.0},
            "fig1_concentration: gamma must be a number in (0, 1), got 1.0",
        ),
        ("fig1_concentration", {"tsne_points": 5}, "tsne_points must be an integer >= 10 or None, got 5"),
        ("theory", {"n_labels": 1}, "theory: n_labels must be an integer >= 2, got 1"),
        ("concentration", {"dnn": 1}, "concentration: dnn must be True or False, got 1"),
        ("concentration", {"dataset": "features"}, "concentration: dataset must be one of"),
        ("data", {"dataset": "features"}, "data: data_path must be a path (the .npz"),
        ("data", {"data_path": "x.npz"}, "data: data_path must be None when dataset is one of"),
        ("fig4_dnn", {"model": "densenet121"}, "fig4_dnn: model must be one of ('mnist', 'allcnnc')"),
        ("fig4_dnn", {"device": "gpu"}, "fig4_dnn: device must be one of ('auto', 'cpu', 'cuda'), got 'gpu'"),
    ],
)
def test_chapter_specific_constraints(name: str, values: dict, needle: str) -> None:
    defaults = {k: p.default for k, p in _declared(name).items()}
    with pytest.raises(ParameterError) as info:
        chapters.validate(name, {**defaults, **values})
    assert needle in str(info.value)


SCHEMA_MODULES = ("errors", "schema", "chapters", "page")


@pytest.mark.parametrize("module", SCHEMA_MODULES)
def test_schema_modules_import_nothing_heavy(module: str) -> None:
    """At module level (a function may import what it needs when it runs, like glue_figure)."""
    tree = ast.parse((REPO / "knnoise" / "book" / f"{module}.py").read_text())
    imported = {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    allowed = {"__future__", "numpy", "yaml", "math", "os", "re", "numbers", "typing"}
    allowed |= {"dataclasses", "pathlib"}
    allowed |= {"collections.abc"} | {f"knnoise.book.{m}" for m in SCHEMA_MODULES}
    allowed |= {"knnoise.pipeline.params"}  # the Params class: the standard library only (checked below)
    assert imported <= allowed, imported - allowed


def test_the_params_class_imports_only_the_standard_library() -> None:
    tree = ast.parse((REPO / "knnoise" / "pipeline" / "params.py").read_text())
    imported = {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    assert imported <= {"__future__", "collections.abc", "typing"}, imported
    init = ast.parse((REPO / "knnoise" / "pipeline" / "__init__.py").read_text())
    assert not [n for n in init.body if isinstance(n, ast.Import | ast.ImportFrom)]


def test_validating_on_the_runner_path_imports_no_torch(real_book: Path) -> None:
    code = (
        "import sys\n"
        "from knnoise.book import main\n"
        "status = main(['--profile', 'smoke', '--only', 'fig3_knn', '-p', 'ks', '[0]'])\n"
        "heavy = [m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'knnoise.data'))]\n"
        "print(status, heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=real_book, capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "2 []", out.stdout + out.stderr
    assert "fig3_knn: ks must be" in out.stderr
