"""Work around Sphinx 7.4's duplicated inline scripts (fixed upstream in sphinx-doc/sphinx#13402).

Sphinx 7.4 registers an inline script added with ``app.add_js_file(None, body=...)`` twice (once as
``None``, once as ``''``), so sphinx-thebe's ``const THEBE_JS_URL = ...`` appears twice on every page
and the browser reports "SyntaxError: Identifier 'THEBE_JS_URL' has already been declared".
Jupyter Book 1.x pins ``sphinx~=7.0``, so the fix cannot come from upgrading Sphinx.
"""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    files = context.get("script_files")
    if not files:
        return
    seen = set()
    unique = []
    for js in files:
        key = (getattr(js, "filename", js) or "", getattr(js, "priority", None),
               tuple(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    files[:] = unique


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
