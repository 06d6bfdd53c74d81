"""Serve Vega, Vega-Lite and vega-embed from the book's own files, once, for the interactive charts.

The explorer and the interactive Figs. 3 and 4 (:mod:`knnoise.plots.interactive`) are Vega-Lite charts
rendered in the browser by ``vegaEmbed``. Their JavaScript comes from the PyPI package
``vl-convert-python`` (in the ``book`` extra), whose public ``vl_convert.javascript_bundle()`` returns one
self-contained script (about 0.9 MB) that defines ``window.vegaEmbed``, ``window.vega`` and
``window.vegaLite``. It is built as an ES module but has no ``import`` or ``export``: this extension
wraps it in a function (:func:`wrapped`), so that it runs as a classic script (an ES module is refused
by browsers on ``file://`` pages, whose origin is ``null``) and its top-level names (``const _``) stay
out of the page's (Sphinx's ``_``). It writes it once into ``_build/html/_static/vega/`` before the
pages are written (so that Sphinx stamps its URL with a checksum), and adds its ``<script>`` to the
pages that show a chart (a ``<div class="knnoise-vega">`` in their body), not to the others. No CDN
is involved: the charts work offline, as the maths does (``mathjax_offline``), also from ``file://``.
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

from knnoise._io import write_text

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


def wrapped(script: str) -> str:
    """``script`` as a classic script whose top-level names stay in its own scope.

    Raises :class:`~sphinx.errors.ExtensionError` when it is an ES module that a function cannot hold
    (a top-level ``import``/``export`` or ``import.meta``): then it would need ``type="module"``, which
    ``file://`` pages refuse.
    """
    if re.search(r"^\s*(?:import|export)\b[\s{*]|import\.meta", script, flags=re.MULTILINE):
        raise ExtensionError(f"the {DISTRIBUTION} bundle imports or exports: it needs type=module")
    return f"(function(){{\n{script}\n}})();\n"


def _write_bundle(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    path = Path(app.builder.outdir) / "_static" / SCRIPT
    text = wrapped(bundle())
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        logger.info("vega bundle (%d kB) up to date at %s", len(text) // 1000, path)
        return
    write_text(path, text)  # atomic: a reader never sees half a script
    logger.info("vega bundle (%d kB) written to %s", len(text) // 1000, path)


def _add_script(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if MARKER in str(context.get("body", "")):
        # called during html-page-context: for this page only. A classic script (wrapped(): file:// pages
        # refuse modules); the charts' scripts wait for window.vegaEmbed.
        app.add_js_file(SCRIPT)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _write_bundle)
    app.connect("html-page-context", _add_script)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
