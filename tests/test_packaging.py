"""Packaging: pyproject.toml's ranges, the constraints.txt lock, and Binder's environment.yml in step."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base"}
# extras whose dependencies Binder's environment carries (ruff and selenium, in [test], are CI's only)
ENV_EXTRAS = ("vision", "book")
# python=3.11 is the interpreter the project is tested with, not a range of the package's: exempt
NOT_DEPENDENCIES = {"python", "pip"}


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _package_requirements() -> dict[str, Requirement]:
    """Every requirement of pyproject.toml (runtime and every extra), by canonical name."""
    project = _project()
    reqs = [Requirement(d) for d in project["dependencies"]]
    reqs += [Requirement(d) for extra in project["optional-dependencies"].values() for d in extra]
    return {canonicalize_name(r.name): r for r in reqs}


def _env() -> dict:
    return yaml.safe_load((REPO / "environment.yml").read_text())


# ----------------------------------------------------------------------------------------------------
# conda's version syntax, as PEP 440 specifiers

_CONDA_DEP = re.compile(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*")


def conda_specifier(version: str) -> SpecifierSet:
    """A conda MatchSpec's version part as a :class:`SpecifierSet`.

    ``=X.Y`` (conda's fuzzy pin) means ``X.Y.*``, and so does ``X.Y.*``; ``==X.Y`` is exact; ``>=``, ``>``,
    ``<=``, ``<``, ``!=`` are as in PEP 440; ``,`` joins them. An empty string admits every version.
    Alternatives (``|``) and build strings (``=X.Y=build``) are not used here and are refused.
    """
    if "|" in version:
        raise ValueError(f"unsupported conda version spec {version!r}")
    parts = []
    for part in filter(None, (p.strip() for p in version.replace(" ", "").split(","))):
        if re.fullmatch(r"=[0-9][^=<>!]*", part):
            parts.append(f"=={part[1:].removesuffix('.*')}.*")
        elif re.fullmatch(r"[0-9][^=<>!]*\.\*", part):
            parts.append(f"=={part}")
        elif re.fullmatch(r"(==|!=|>=|<=|>|<)[0-9][^=<>!,]*", part):
            parts.append(part)
        else:
            raise ValueError(f"unsupported conda version spec {version!r} (part {part!r})")
    return SpecifierSet(",".join(parts))


def _conda_entries(env: dict) -> dict[str, SpecifierSet]:
    """environment.yml's conda dependencies, by canonical name, as specifiers."""
    entries = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, version = _CONDA_DEP.fullmatch(dep).groups()
            entries[canonicalize_name(name)] = conda_specifier(version)
    return entries


def _pip_entries(env: dict) -> dict[str, SpecifierSet]:
    """environment.yml's ``pip:`` requirements (not ``-e .``), by canonical name."""
    entries = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep.get("pip", []):
                if not line.startswith("-"):
                    req = Requirement(line)
                    entries[canonicalize_name(req.name)] = req.specifier
    return entries


def _probe_versions(*specs: SpecifierSet) -> list[Version]:
    """Versions at and around every bound of ``specs``: where two specifier sets can differ."""
    probes = {Version("0"), Version("9999")}
    for spec in specs:
        for s in spec:
            release = list(Version(s.version.removesuffix(".*")).release) + [0, 0]
            major, minor, micro = release[:3]
            for r in (
                (major, minor, micro),
                (major, minor, micro + 1),
                (major, minor, max(micro - 1, 0)),
                (major, minor + 1, 0),
                (major, max(minor - 1, 0), 99),
                (major + 1, 0, 0),
                (max(major - 1, 0), 99, 99),
            ):
                probes.add(Version(".".join(map(str, r))))
            probes.add(Version(s.version.removesuffix(".*")))
    return sorted(probes)


def range_differences(package: SpecifierSet, env: SpecifierSet) -> tuple[list[str], list[str]]:
    """Versions (at and around the bounds) that ``env`` refuses but ``package`` admits (env narrower), and
    that ``env`` admits but ``package`` refuses (pip would replace conda's build)."""
    probes = _probe_versions(package, env)
    narrower = [str(v) for v in probes if package.contains(v) and not env.contains(v)]
    wider = [str(v) for v in probes if env.contains(v) and not package.contains(v)]
    return narrower, wider


# ----------------------------------------------------------------------------------------------------
# environment.yml


def test_environment_yml_covers_every_dependency() -> None:
    project, env = _project(), _env()
    assert env["channels"] == ["conda-forge", "nodefaults"]
    listed = set(_conda_entries(env)) | set(_pip_entries(env))
    deps = list(project["dependencies"])
    deps += [d for extra in ENV_EXTRAS for d in project["optional-dependencies"][extra]]
    names = {d: Requirement(d).name for d in deps}
    missing = [d for d, n in names.items() if canonicalize_name(CONDA_NAMES.get(n, n)) not in listed]
    assert not missing, f"environment.yml lacks dependencies {missing}"
    pip = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert pip and pip[-1]["pip"][-1] == "-e .", "`pip: - -e .` must come last"
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"])


def test_environment_yml_takes_exactly_the_package_ranges() -> None:
    """No entry is narrower than pyproject.toml's range (the solver may take whatever conda-forge carries
    in it), and none is wider (else `pip install -e .` would replace conda's build, for torch a
    multi-GB download)."""
    env = _env()
    by_conda_name = {canonicalize_name(CONDA_NAMES.get(n, n)): r for n, r in _package_requirements().items()}
    problems = []
    for source, entries in (("conda", _conda_entries(env)), ("pip", _pip_entries(env))):
        for name, spec in entries.items():
            if name in NOT_DEPENDENCIES:
                continue
            assert name in by_conda_name, f"environment.yml lists {name}, which pyproject.toml does not"
            package = by_conda_name[name].specifier
            narrower, wider = range_differences(package, spec)
            where = f"{source} {name} '{spec}'"
            if narrower:
                problems.append(f"{where} refuses {narrower}, which pyproject's '{package}' admits")
            if wider:
                problems.append(f"{where} admits {wider}, which pyproject's '{package}' refuses")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("conda", "pep440"),
    [
        ("=2.4", "==2.4.*"),
        ("=2.14.1", "==2.14.1.*"),
        ("2.4.*", "==2.4.*"),
        ("==2.14.1", "==2.14.1"),
        (">=2.3,<3", "<3,>=2.3"),
        (">=1.0.4, <2", "<2,>=1.0.4"),
        ("", ""),
    ],
)
def test_conda_specifier(conda: str, pep440: str) -> None:
    assert conda_specifier(conda) == SpecifierSet(pep440)


@pytest.mark.parametrize("bad", ["2.4|2.5", "=2.4=py311_0", "~=2.4", "latest"])
def test_conda_specifier_refuses_what_it_cannot_read(bad: str) -> None:
    with pytest.raises(ValueError, match="unsupported conda version spec"):
        conda_specifier(bad)


@pytest.mark.parametrize(
    ("env", "narrower", "wider"),
    [
        (">=2.3,<3", [], []),
        ("=2.14.1", True, []),  # the old exact pin: conda-forge may not carry it
        ("=2.4", True, []),  # a minor-level pin is narrower too
        (">=2.13,<3", True, []),  # a floor above conda-forge's builds
        (">=2.0", [], True),  # conda may take 2.0-2.2, which pip would then replace
        (">=2.3", [], True),  # no upper bound: conda may take a 3.x
    ],
)
def test_range_differences_finds_what_the_checks_must(env: str, narrower, wider) -> None:
    found_narrower, found_wider = range_differences(SpecifierSet(">=2.3,<3"), conda_specifier(env))
    assert bool(found_narrower) == bool(narrower), found_narrower
    assert bool(found_wider) == bool(wider), found_wider


# ----------------------------------------------------------------------------------------------------
# constraints.txt, the lock of `make`'s .venv


def _constraints() -> dict[str, Version]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def test_constraints_pin_every_dependency_inside_its_range() -> None:
    pins = _constraints()
    assert "knnoise" not in pins, "constraints.txt must not pin knnoise itself"
    for name, req in _package_requirements().items():
        assert name in pins, f"constraints.txt does not pin {req} (regenerate it: make lock)"
        inside = req.specifier.contains(pins[name], prereleases=True)
        assert inside, f"the lock's {name}=={pins[name]} is outside {req}"


def test_makefile_installs_through_the_lock() -> None:
    makefile = (REPO / "Makefile").read_text()
    stamp = re.search(r"^\$\(STAMP\):(.*)$", makefile, re.M)
    assert stamp and "$(CONSTRAINTS)" in stamp.group(1), "the venv stamp must depend on constraints.txt"
    assert re.search(r"^CONSTRAINTS := constraints\.txt$", makefile, re.M)
    assert re.search(r"pip install --quiet -e '\.\[\$\(EXTRAS\)\]' -c \$\(CONSTRAINTS\)", makefile)
    extras = re.search(r"^EXTRAS := (.*)$", makefile, re.M).group(1).split(",")
    assert set(extras) == set(_project()["optional-dependencies"]), "the .venv installs every extra"
