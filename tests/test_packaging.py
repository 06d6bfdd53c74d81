"""Packaging: Binder's environment.yml stays in step with pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_covers_every_runtime_dependency() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge", "nodefaults"]
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    missing = [d for d in project["dependencies"] if CONDA_NAMES.get(_name(d), _name(d)) not in conda]
    assert not missing, f"environment.yml lacks runtime dependencies {missing}"
    for extra in ("book",):
        missing = [d for d in project["optional-dependencies"][extra] if _name(d) not in conda]
        assert not missing, f"environment.yml lacks [{extra}] dependencies {missing}"
    pip = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert pip and pip[-1]["pip"][-1] == "-e .", "`pip: - -e .` must come last"
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"])


def test_exact_pins_agree_between_pyproject_and_environment() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = {_name(d): d for d in env["dependencies"] if isinstance(d, str)}
    for dep in project["dependencies"]:
        if "==" in dep:
            version = dep.split("==")[1].strip()
            assert conda[CONDA_NAMES.get(_name(dep), _name(dep))].endswith(f"={version}"), dep
