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


def _profile_error(mini: Path, text: str | bytes) -> str:
    path = mini / "notebooks" / "params" / "bad.yml"
    path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
    with pytest.raises(book.BookError) as info:
        book.load_profile("bad", mini)
    assert type(info.value) is book.BookError
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "globals:\n  dataset: [mnist\n",
            "profile notebooks/params/bad.yml: line 3, column 1: expected ',' or ']', but got '<stream end>' "
            "(while parsing a flow sequence at line 2, column 12)",
        ),
        (
            "globals:\n  seed: 1\n bad: 2\n",
            "profile notebooks/params/bad.yml: line 3, column 2: expected <block end>, but found '<block "
            "mapping start>' (while parsing a block mapping at line 1, column 1)",
        ),
        (
            "globals:\n\tseed: 1\n",
            "profile notebooks/params/bad.yml: line 2, column 1: found character '\\t' that cannot start any "
            "token (while scanning for the next token)",
        ),
        (
            "globals: {seed: 1}\x07\n",
            "profile notebooks/params/bad.yml: line 1, column 19: character '\\x07' is not allowed in YAML",
        ),
        (
            "globals: !!python/object:os.system x\n",
            "profile notebooks/params/bad.yml: line 1, column 10: could not determine a constructor for the "
            "tag 'tag:yaml.org,2002:python/object:os.system'",
        ),
        (b"globals: {dataset: \xff}\n", "profile notebooks/params/bad.yml: not UTF-8 text (byte 19: "),
    ],
)
def test_a_profile_that_is_not_yaml_names_file_line_and_column(mini: Path, text, expected: str) -> None:
    message = _profile_error(mini, text)
    assert message.startswith(expected)
    assert "<unicode string>" not in message and "\n" not in message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "# a\n---\n# b\n"])
def test_an_empty_profile_is_refused_saying_what_a_profile_holds(mini: Path, text: str) -> None:
    message = _profile_error(mini, text)
    assert message.startswith("profile notebooks/params/bad.yml is empty (or only comments): a profile is a ")
    assert "'globals'" in message and "'notebooks'" in message


@pytest.mark.parametrize(
    ("text", "got"),
    [("- globals\n", "got a list"), ("globals\n", "got a string"), ("3\n", "got a int: 3")],
)
def test_a_profile_that_is_not_a_mapping_is_refused(mini: Path, text: str, got: str) -> None:
    message = _profile_error(mini, text)
    assert message.startswith("profile notebooks/params/bad.yml: a profile is a mapping with 'globals'")
    assert message.endswith(got)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("globals:\n  1: 2\n", "globals: parameter names must be text, got 1"),
        ("notebooks:\n  alpha:\n    null: 2\n", "notebooks.alpha: parameter names must be text, got None"),
        ("notebooks:\n  alpha: [1]\n", "notebooks.alpha must be a mapping of parameter: value"),
        ("{1: 2}\n", "unknown key(s) '1'; allowed: globals, notebooks"),
    ],
)
def test_profile_names_and_sections_are_checked(mini: Path, text: str, needle: str) -> None:
    assert needle in _profile_error(mini, text)


def test_an_explicit_empty_mapping_is_a_profile_of_notebook_defaults(mini: Path) -> None:
    for text in ("{}\n", "globals:\nnotebooks:\n", "globals: {}\n"):
        (mini / "notebooks" / "params" / "defaults.yml").write_text(text)
        profile = book.load_profile("defaults", mini)
        assert (profile.globals, profile.notebooks) == ({}, {})


def test_a_toc_that_is_not_yaml_names_it(mini: Path) -> None:
    (mini / "_toc.yml").write_text("format: jb-book\nroot: [book/intro\n")
    with pytest.raises(book.BookError, match=r"^_toc.yml: line 3, column 1: expected ',' or ']'"):
        book.toc_notebooks(mini)
    (mini / "_toc.yml").write_text("just text\n")
    with pytest.raises(book.BookError, match=r"^_toc.yml: a table of contents is a mapping"):
        book.toc_notebooks(mini)


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
