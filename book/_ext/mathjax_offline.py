"""Serve MathJax 3 from the book's own files, not a CDN, so that the maths renders offline (issue 13).

The files come from the PyPI package ``sphinx-mathjax-offline`` (installed with the ``book`` extra), which
ships MathJax 3.2.2's ``es5`` build, byte-identical to the npm package ``mathjax@3.2.2``. ``_config.yml``
sets Sphinx's ``mathjax_path`` to a file relative to ``_static`` (``mathjax/tex-mml-chtml.js``, the same
component the CDN default serves: TeX and MathML in, HTML-CSS out). This extension checks that the package
ships that file, and copies it with the components MathJax loads on demand (its fonts, TeX extensions,
accessibility and menu code, all in sub-folders) into ``_build/html/_static/mathjax/``, before the pages
are written, so that Sphinx stamps the script's URL with the file's checksum.

The package is used only as a source of files: its own Sphinx extension is not loaded (it would copy all
of MathJax's 24 MB; the entry file and the sub-folders are 10 MB).
"""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError, ExtensionError
from sphinx.util import logging

DISTRIBUTION = "sphinx-mathjax-offline"
STATIC_DIR = "mathjax"  # under _static; mathjax_path must name a file in it
_MARKER = "static/mathjax/startup.js"  # a file of every MathJax 3 es5 build

logger = logging.getLogger(__name__)


def mathjax_root() -> Path:
    """The installed MathJax 3 ``es5`` folder of :data:`DISTRIBUTION`; a clear error when it is missing."""
    hint = f"install the book's dependencies: pip install -e '.[book]' (it brings {DISTRIBUTION})"
    try:
        files = metadata.files(DISTRIBUTION) or []
    except metadata.PackageNotFoundError as err:
        raise ExtensionError(f"{DISTRIBUTION} is not installed; {hint}") from err
    for file in files:
        if file.as_posix().endswith(_MARKER):
            root = Path(str(file.locate())).parent
            if root.is_dir():
                return root
    raise ExtensionError(f"{DISTRIBUTION} is installed but ships no MathJax files ({_MARKER}); {hint}")


def _entry(config: Config) -> str:
    """``mathjax_path``'s file name inside :data:`STATIC_DIR` (a local path, never a URL)."""
    path = str(config.mathjax_path or "")
    if "://" in path or not path.startswith(STATIC_DIR + "/"):
        raise ConfigError(
            f"mathjax_path must be a file under _static/{STATIC_DIR}/ (offline MathJax), got {path!r}"
        )
    return path.removeprefix(STATIC_DIR + "/")


def _check_config(app: Sphinx, config: Config) -> None:
    root = mathjax_root()
    entry = _entry(config)
    if not (root / entry).is_file():
        shipped = sorted(p.name for p in root.glob("*.js"))
        raise ConfigError(
            f"mathjax_path {config.mathjax_path!r}: {DISTRIBUTION} ships no {entry}; one of {shipped}"
        )


def _copy_mathjax(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    root, entry = mathjax_root(), _entry(app.config)
    dest = Path(app.builder.outdir) / "_static" / STATIC_DIR
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / entry, dest / entry)
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        shutil.copytree(sub, dest / sub.name, dirs_exist_ok=True)
    logger.info("MathJax %s copied from %s into %s", entry, root, dest)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _check_config)
    app.connect("builder-inited", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
