"""knnoise.book.profiles: the toc, parameter profiles, a notebook's parameters cell, merging."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knnoise import book
from knnoise.book import profiles

REPO = Path(__file__).resolve().parents[2]


def test_toc_notebooks_in_order_from_parts_and_sections(mini: Path) -> None:
    assert book.toc_notebooks(mini) == ["alpha", "beta"]


def test_real_toc_lists_data_first_and_every_entry_exists() -> None:
    names = book.toc_notebooks(REPO)
    assert names[0] == "data"
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    assert (REPO / f"{toc['root']}.md").is_file()
    for name in names:
        assert (REPO / "notebooks" / f"{name}.py").is_file(), f"_toc.yml lists {name} without a source"


def test_find_root_from_the_package_and_explicit(mini: Path, tmp_path_factory, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    assert book.find_root() == REPO  # the checkout the package was installed from
    assert book.find_root(mini) == mini.resolve()
    with pytest.raises(book.BookError, match="no _toc.yml"):
        book.find_root(mini / "book")


@pytest.mark.parametrize("name", ["smoke", "quick", "paper"])
def test_real_profiles_load(name: str) -> None:
    profile = book.load_profile(name, REPO)
    assert profile.globals["dataset"] == ("digits" if name == "smoke" else "mnist")
    assert set(profile.notebooks) <= set(book.toc_notebooks(REPO))


@pytest.mark.parametrize("name", ["smoke", "quick", "paper"])
def test_real_profile_overrides_are_declared_by_their_notebooks(name: str) -> None:
    profile = book.load_profile(name, REPO)
    for nb in book.toc_notebooks(REPO):
        declared = book.notebook_parameters(REPO / "notebooks" / f"{nb}.py")
        assert declared, f"notebooks/{nb}.py has no cell tagged parameters"
        book.merge_parameters(nb, declared, profile.globals, profile.notebooks.get(nb))  # raises if not


def test_unknown_profile_lists_the_allowed_ones(mini: Path) -> None:
    with pytest.raises(book.BookError, match=r"unknown profile 'nope'; allowed: t$"):
        book.load_profile("nope", mini)


def test_profile_with_an_unknown_key_is_rejected(mini: Path) -> None:
    (mini / "notebooks" / "params" / "bad.yml").write_text("global:\n  seed: 1\n")
    with pytest.raises(book.BookError, match="unknown key.*'global'"):
        book.load_profile("bad", mini)


def test_profile_sections_must_be_mappings(mini: Path) -> None:
    (mini / "notebooks" / "params" / "bad.yml").write_text("globals: [1, 2]\n")
    with pytest.raises(book.BookError, match="must be mappings"):
        book.load_profile("bad", mini)


def test_notebook_parameters_reads_the_parameters_cell(mini: Path) -> None:
    params = book.notebook_parameters(mini / "notebooks" / "alpha.py")
    assert list(params) == ["dataset", "seed", "ks", "scale"]
    assert params["dataset"] == book.Parameter("dataset", "digits", "which dataset", True)
    assert params["ks"].default == [1, 5]
    assert params["scale"] == book.Parameter("scale", "2 * 3", "not a literal: never re-injected", False)


def test_read_source_sets_the_python3_kernel(mini: Path) -> None:
    nb = book.read_source(mini / "notebooks" / "beta.py")
    assert nb.metadata.kernelspec == profiles.KERNELSPEC
    assert "jupytext" not in nb.metadata


def test_merge_order_defaults_globals_overrides_cli() -> None:
    declared = {
        name: book.Parameter(name, default)
        for name, default in [("dataset", "digits"), ("seed", 0), ("ks", [1]), ("epochs", 1)]
    }
    merged = book.merge_parameters(
        "nb",
        declared,
        profile_globals={"dataset": "mnist", "seed": 1, "epochs": 2, "not_declared": 5},
        overrides={"seed": 2, "epochs": 3},
        cli={"epochs": 4},
    )
    assert merged.values == {"dataset": "mnist", "seed": 2, "ks": [1], "epochs": 4}
    assert merged.sources == {"dataset": "globals", "seed": "profile", "ks": "default", "epochs": "-p"}
    assert "not_declared" not in merged.injected


def test_non_literal_defaults_are_not_injected() -> None:
    declared = {"a": book.Parameter("a", "np.arange(3)", literal=False), "b": book.Parameter("b", 1)}
    assert book.merge_parameters("nb", declared).injected == {"b": 1}
    assert book.merge_parameters("nb", declared, cli={"a": [0, 1]}).injected == {"a": [0, 1], "b": 1}


@pytest.mark.parametrize("layer", ["overrides", "cli"])
def test_unknown_override_names_key_notebook_and_allowed(layer: str) -> None:
    declared = {"dataset": book.Parameter("dataset", "digits"), "seed": book.Parameter("seed", 0)}
    with pytest.raises(book.BookError) as info:
        book.merge_parameters("data", declared, **{layer: {"sead": 1}})
    message = str(info.value)
    assert "unknown parameter 'sead' for notebook 'data'" in message
    assert "allowed: dataset, seed" in message
    assert "did you mean 'seed'" in message


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("[1, 5, 25]", [1, 5, 25]),
        ("digits", "digits"),
        ("0.5", 0.5),
        ("3", 3),
        ("true", True),
        ("null", None),
        ("{a: 1}", {"a": 1}),
        ("'0'", "0"),
        ("[unclosed", "[unclosed"),
    ],
)
def test_cli_values_are_yaml(text: str, value: object) -> None:
    assert book.parse_cli_value(text) == value
