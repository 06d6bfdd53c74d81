"""book/_ext/vega_offline.py: the Vega bundle written once into _static/, its script only where a chart is."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
from sphinx.errors import ExtensionError

from knnoise.plots import interactive

EXT = Path(__file__).resolve().parents[2] / "book" / "_ext" / "vega_offline.py"


def _module():
    spec = importlib.util.spec_from_file_location("vega_offline", EXT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bundle_defines_vega_embed_and_is_written_once(tmp_path: Path) -> None:
    ext = _module()
    app = SimpleNamespace(builder=SimpleNamespace(format="html", outdir=str(tmp_path)))
    ext._write_bundle(app)
    path = tmp_path / "_static" / ext.SCRIPT
    text = path.read_text(encoding="utf-8")
    assert "window.vegaEmbed=" in text and "window.vegaLite=" in text
    assert text.startswith("(function(){") and text.rstrip().endswith("})();")  # a classic script
    assert 200_000 < len(text) < 3_000_000  # one file, about 0.9 MB
    before = path.stat().st_mtime_ns
    ext._write_bundle(app)  # unchanged: not rewritten
    assert path.stat().st_mtime_ns == before
    assert not list(tmp_path.rglob("*.tmp"))


def test_the_script_goes_only_to_pages_with_a_chart() -> None:
    ext = _module()
    added: list[tuple[str, dict]] = []
    app = SimpleNamespace(add_js_file=lambda name, **attrs: added.append((name, attrs)))
    chart = f'<div id="knnoise-chart-x" class="{interactive.MARKER_CLASS}"></div>'
    assert ext.MARKER == f'class="{interactive.MARKER_CLASS}"'
    ext._add_script(app, "plain", "page.html", {"body": "<p>no chart</p>"}, None)
    assert added == []
    ext._add_script(app, "explorer", "page.html", {"body": chart}, None)
    assert added == [(ext.SCRIPT, {})]  # a classic script: file:// pages refuse modules


def test_the_bundle_is_wrapped_and_a_module_is_refused() -> None:
    ext = _module()
    assert ext.wrapped("const _=1;window.x=_;") == "(function(){\nconst _=1;window.x=_;\n})();\n"
    for module in (
        'import {a} from "./a.js";\nwindow.a=a;',
        "const a=1;\nexport {a};",
        "f(import.meta.url);",
    ):
        with pytest.raises(ExtensionError, match="type=module"):
            ext.wrapped(module)
