"""The book and package say how to cite them, and cite the paper at the right venue (BMVC 2021)."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "tests" / "fixtures" / "cff-1.2.0.schema.json"  # Citation File Format 1.2.0
TEXT_FILES = ("README.md", "CITATION.cff", "book", "notebooks", "knnoise")


def _citation() -> dict:
    """CITATION.cff as the schema expects it: YAML dates cast to strings (the schema's note to tools)."""

    def cast(value):
        if isinstance(value, dict):
            return {k: cast(v) for k, v in value.items()}
        if isinstance(value, list):
            return [cast(v) for v in value]
        return value.isoformat() if isinstance(value, datetime.date) else value

    return cast(yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8")))


def _texts():
    for name in TEXT_FILES:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(path.rglob("*"))
        for f in files:
            if (
                f.is_file()
                and f.suffix in {".md", ".py", ".yml", ".bib", ".cff", ".txt"}
                and "executed" not in f.parts
            ):
                yield f, f.read_text(encoding="utf-8")


def test_citation_cff_is_valid_citation_file_format():
    data = _citation()
    jsonschema.validate(data, json.loads(SCHEMA.read_text(encoding="utf-8")))
    paper = data["preferred-citation"]
    assert paper["year"] == 2021 and "BMVC 2021" in paper["collection-title"]
    assert [a["family-names"] for a in paper["authors"]] == ["Drory", "Ratzon", "Avidan", "Giryes"]


def test_an_invalid_citation_file_is_caught():
    data = _citation()
    del data["cff-version"]
    try:
        jsonschema.validate(data, json.loads(SCHEMA.read_text(encoding="utf-8")))
    except jsonschema.ValidationError as err:
        assert "cff-version" in err.message
    else:
        raise AssertionError("a CITATION.cff without cff-version was accepted")


def test_the_paper_is_cited_at_bmvc_2021_everywhere():
    bib = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    entry = bib[bib.index("@inproceedings{drory2021resistance") :].split("\n}\n")[0]
    assert "year      = {2021}" in entry and "BMVC} 2021" in entry and "1803.11410" in entry
    for path, text in _texts():
        assert not re.search(r"BMVC\s+2020|drory2020", text), path


def test_the_intro_says_how_to_cite():
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    assert "## How to cite" in intro and "drory2021resistance" in intro and "CITATION.cff" in intro
