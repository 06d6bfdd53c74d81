"""Serve Vega, Vega-Lite and vega-embed from the book's own files, once, for the interactive charts.

The explorer and the interactive Figs. 3 and 4 (:mod:`knnoise.plots.interactive`) are Vega-Lite charts
rendered in the browser by ``vegaEmbed``. Their JavaScript comes from the PyPI package
``vl-convert-python`` (in the ``book`` extra), whose public ``vl_convert.javascript_bundle()`` returns one
self-contained script (about 0.9 MB) that defines ``window.vegaEmbed``, ``window.vega`` and
``window.vegaLite`` (an ES module: loaded with ``type="module"``). This extension writes it once into
``_build/html/_static/vega/`` before the pages are written (so that Sphinx stamps its URL with a
checksum), and adds its ``<script>`` to the pages that show a chart (a ``<div class="knnoise-vega">``
in their body), not to the others. No CDN is involved: the charts work offline, as the maths does
(``mathjax_offline``).
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

DISTRIBUTION = "vl-convert-python"
SCRIPT = "vega/vega-bundle.js"  # under _static
MARKER = 'class="knnoise-vega"'  # knnoise.plots.interactive.MARKER_CLASS, as the chart's <div> carries it

logger = logging.getLogger(__name__)


def bundle() -> str:
    """The Vega + Vega-Lite + vega-embed script of :data:`DISTRIBUTION`; a clear error when it is missing."""
    try:
        import vl_convert
    except ImportError as err:
        raise ExtensionError(
            f"{DISTRIBUTION} is not installed; install the book's dependencies: pip install -e '.[book]'"
        ) from err
    return vl_convert.javascript_bundle()


def _write_bundle(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    path = Path(app.builder.outdir) / "_static" / SCRIPT
    path.parent.mkdir(parents=True, exist_ok=True)
    text = bundle()
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # atomic: a reader never sees half a script
    logger.info("vega bundle (%d kB) written to %s", len(text) // 1000, path)


def _add_script(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if MARKER in str(context.get("body", "")):
        # called during html-page-context: for this page only. An ES module (as vl-convert builds it): its
        # top-level names stay in its own scope (as a classic script its `const _` clashes with Sphinx's
        # `_`), and it runs once the page is parsed; the charts' scripts wait for window.vegaEmbed.
        app.add_js_file(SCRIPT, type="module")


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _write_bundle)
    app.connect("html-page-context", _add_script)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
