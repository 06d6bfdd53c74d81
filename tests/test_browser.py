"""Real-browser check of the built book (issue 6): every page opened in headless Chromium.

Not part of ``make test``: pytest's ``addopts`` deselects the ``browser`` marker, and ``.ci/run`` runs
``pytest -m browser`` after building the book with ``make book PROFILE=smoke``. Run it by hand with::

    make book PROFILE=smoke && .venv/bin/pytest -m browser -v

The book is read from ``_build/html`` (or ``$KNNOISE_BOOK_HTML``, a built ``html`` folder elsewhere);
a full-page screenshot of each page is written to ``screenshots/`` beside it (``_build/screenshots/``).
Debian's ``chromium`` and ``chromium-driver`` are installed with apt-get when missing.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("KNNOISE_BOOK_HTML") or REPO / "_build" / "html").resolve()
SCREENSHOTS = HTML.parent / "screenshots"
# The book the html was built from (``<root>/_build/html``): its _toc.yml names the pages to open.
BOOK_ROOT = HTML.parents[1] if (HTML.parents[1] / "_toc.yml").is_file() else REPO
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
WIDTH = 1280
MAX_HEIGHT = 16_000  # px: a screenshot taller than this is cut (Chromium's texture limit is ~16k)
URL_RE = re.compile(r"\b(?:https?|wss?)://[^\s\"'()<>]+")


# ----------------------------------------------------------------------------------------------------
# The pages: the toc's files, as the book renders them


def _toc_files(entries: list) -> list[str]:
    files: list[str] = []
    for entry in entries or []:
        if isinstance(entry, dict):
            if "file" in entry:
                files.append(str(entry["file"]))
            for key in ("parts", "chapters", "sections"):
                files.extend(_toc_files(entry.get(key) or []))
    return files


def book_pages() -> list[str]:
    """HTML paths (relative to the html folder) of every page in ``_toc.yml``, in the book's order.

    ``index.html`` (Jupyter Book's redirect to the root page) comes first; genindex/search are skipped.
    """
    toc = yaml.safe_load((BOOK_ROOT / "_toc.yml").read_text(encoding="utf-8")) or {}
    files = ([str(toc["root"])] if "root" in toc else []) + _toc_files([toc])
    pages = ["index.html"]
    for file in files:
        stem = re.sub(r"\.(md|ipynb|rst|py)$", "", file)
        if f"{stem}.html" not in pages:
            pages.append(f"{stem}.html")
    return pages


PAGES = book_pages()


def _is_notebook_page(page: str) -> bool:
    return page.startswith("book/executed/")


# ----------------------------------------------------------------------------------------------------
# Fixtures: the built book, an HTTP server, a browser


@pytest.fixture(scope="module")
def html_dir() -> Path:
    if not (HTML / "index.html").is_file():
        pytest.fail(
            f"no built book at {HTML}: build the book first (`make book PROFILE=smoke`), "
            "or point $KNNOISE_BOOK_HTML at a built html folder",
            pytrace=False,
        )
    return HTML


def _ensure_chromium() -> None:
    """Install Debian's chromium and chromium-driver if either is missing; skip if that is impossible."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    missing = ", ".join(str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists())
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip(f"{missing} missing; cannot apt-get install chromium chromium-driver (not root/Debian)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = (
        ["apt-get", "update", "-q"],
        # Both names: chromium-driver requires the same chromium version, so an older chromium is upgraded.
        # fonts-liberation is only a recommendation of chromium's, but without it pages render in fallbacks.
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium", "chromium-driver"]
        + ["fonts-liberation"],
    )
    for step in steps:
        done = subprocess.run(step, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
            pytest.skip(f"{missing} missing and `{' '.join(step)}` failed: " + " | ".join(tail))
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(f"apt-get installed chromium/chromium-driver but {missing} still missing")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def base_url(html_dir: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def driver(html_dir: Path) -> Iterator[object]:
    _ensure_chromium()
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the `test` extra")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="knnoise-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--window-size={WIDTH},2000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(90)
    browser.set_script_timeout(30)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


# ----------------------------------------------------------------------------------------------------
# What a page must satisfy


def _is_external(message: str) -> bool:
    """True when a console message is about a resource outside this server.

    The machines that run this check have no internet: MathJax, web fonts, widget scripts from a CDN and
    the like fail to load, and Chromium logs each failure (and errors that follow from it in that
    external script) as SEVERE. Those are expected offline and ignored; a message whose source is this
    server (127.0.0.1), or that names no URL at all, is the book's own and fails the test.
    """
    urls = URL_RE.findall(message)
    if not urls:
        return False
    return urlsplit(urls[0]).hostname not in LOCAL_HOSTS


def _is_implicit_favicon(message: str) -> bool:
    """True for the 404 of ``/favicon.ico``, which Chromium requests by itself when a page names no icon.

    The book declares no favicon (Jupyter Book's ``html.favicon`` is unset), so every first page view
    logs this 404; it is not a resource the book refers to, and is ignored.
    """
    urls = URL_RE.findall(message)
    return bool(urls) and urlsplit(urls[0]).path == "/favicon.ico"


# Each returns a list of problems found in the page, as text.
_IMAGES_JS = """
return Array.from(document.images).map(img => ({
    src: img.currentSrc || img.src, alt: img.alt,
    ok: img.complete && img.naturalWidth > 0}));
"""

_WAIT_IMAGES_JS = """
const done = arguments[arguments.length - 1];
const pending = Array.from(document.images).filter(img => !img.complete).map(img => new Promise(
    resolve => { img.addEventListener('load', resolve); img.addEventListener('error', resolve); }));
Promise.all(pending).then(() => done(true));
setTimeout(() => done(false), 20000);
"""

_ERROR_OUTPUTS_JS = r"""
const found = [];
const text = el => (el.innerText || el.textContent || '').trim();
const brief = t => t.replace(/\s+/g, ' ').slice(0, 200);
// MyST-NB renders an error output with the classes "output traceback" (nbformat `error`);
// "output error" is what older renderers (nbsphinx-like) use.
const errorOutputs = ['.cell_output .output.traceback', '.cell_output .traceback',
                      '.cell_output .output.error', 'div.output_error'].join(', ');
for (const el of document.querySelectorAll(errorOutputs))
    found.push('error output: ' + brief(text(el)));
// Any output (stderr or stdout) that prints a traceback, and papermill's marker for a failed cell.
const markers = ['Traceback (most recent call last)', 'An Exception was encountered at'];
for (const el of document.querySelectorAll('.cell_output, .output')) {
    const t = text(el);
    for (const m of markers) if (t.includes(m)) { found.push('output with "' + m + '": ' + brief(t)); break; }
}
for (const el of document.querySelectorAll('.cell_output .stderr')) {
    const t = text(el);
    if (/Traceback|^\w*Error\b|\bError:/m.test(t)) found.push('stderr error: ' + brief(t));
}
return Array.from(new Set(found));
"""

MAX_VISIBLE_CODE_LINES = 15  # issue 10: wiring code is folded away; what a reader sees unfolded is short

_CHAPTER_JS = r"""
// A chapter's figures are numbered and captioned, and its visible code cells are short.
const found = [];
const figures = Array.from(document.querySelectorAll('article figure, main figure'));
for (const fig of figures) {
    const caption = fig.querySelector('figcaption');
    const number = caption && caption.querySelector('.caption-number');
    const text = caption ? (caption.innerText || '').trim() : '';
    if (!caption || !number || text.length < 20)
        found.push('figure without a numbered caption: ' + (fig.id || fig.outerHTML.slice(0, 80)));
}
// A plot left in a cell's output is an uncaptioned figure (figures are glued into {glue:figure}).
for (const img of document.querySelectorAll('.cell_output img'))
    if (!img.closest('figure')) found.push('image outside a captioned figure: ' + (img.src || '').slice(-60));
let visible = 0;
for (const cell of document.querySelectorAll('.cell_input')) {
    const folded = cell.closest('details:not([open])');
    if (folded) continue;
    visible += 1;
    const lines = (cell.innerText || '').replace(/\s+$/, '').split('\n').length;
    if (lines > arguments[0])
        found.push('visible code cell of ' + lines + ' lines: ' + (cell.innerText || '').trim().slice(0, 60));
}
return {problems: found, figures: figures.length, visible: visible};
"""

_LAUNCH_JS = """
const menu = document.querySelector('.dropdown-launch-buttons');
const binder = Array.from(document.querySelectorAll('a[href]')).filter(a => a.href.includes('mybinder.org'));
return {menu: menu !== null, binder: binder.map(a => a.href)};
"""

_PROGRESS_JS = r"""
// tqdm's text form ("  0%|          | 0/10 [00:00<?, ?it/s]") left in an output: a widget's text
// fallback or a stderr bar. Reported as a warning, not a failure.
const bar = /\d+%\|[^\n]*\|\s*\d+\/\d+/;
return Array.from(document.querySelectorAll('.cell_output'))
    .map(el => (el.innerText || el.textContent || '')).filter(t => bar.test(t))
    .map(t => t.split('\n').find(line => bar.test(line)).trim().slice(0, 120));
"""


def _screenshot(driver, page: str) -> Path:
    height = driver.execute_script(
        "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight);"
    )
    driver.set_window_size(WIDTH, min(max(int(height), 800), MAX_HEIGHT))
    time.sleep(0.3)  # let the layout settle after the resize
    path = SCREENSHOTS / (page.removesuffix(".html").replace("/", "__") + ".png")
    driver.save_screenshot(str(path))
    driver.set_window_size(WIDTH, 2000)
    return path


def _wait_until_loaded(driver, seconds: float = 15.0) -> None:
    """Wait for the document (after index.html's redirect, the root page) to finish loading its heading."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(d) -> bool:
        complete = d.execute_script("return document.readyState") == "complete"
        return complete and bool(d.find_elements("css selector", "h1"))

    try:
        WebDriverWait(driver, seconds, poll_frequency=0.2).until(ready)
    except TimeoutException:
        pass  # the checks below then report what is missing


@pytest.mark.parametrize("page", PAGES)
def test_page_in_browser(page: str, html_dir: Path, base_url: str, driver) -> None:
    assert (html_dir / page).is_file(), f"{page} is in _toc.yml but was not built into {html_dir}"
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(base_url + page)
    _wait_until_loaded(driver)
    driver.execute_async_script(_WAIT_IMAGES_JS)
    problems: list[str] = []

    title = driver.title.strip()
    if not title:
        problems.append("the page has an empty <title>")
    if not driver.find_elements("css selector", "h1"):
        problems.append("the page has no <h1> heading")

    images = driver.execute_script(_IMAGES_JS)
    for img in images:
        if img["ok"]:
            continue
        if _is_external(img["src"]):
            continue  # an image on another host cannot load offline; the same rule as the console
        problems.append(f"image not loaded: {img['src'][:120]} (alt={img['alt']!r})")

    problems += driver.execute_script(_ERROR_OUTPUTS_JS)

    if _is_notebook_page(page):
        launch = driver.execute_script(_LAUNCH_JS)
        if not launch["menu"]:
            problems.append("no launch-buttons menu (.dropdown-launch-buttons) on a notebook page")
        if not launch["binder"]:
            problems.append("no Binder launch link (mybinder.org) on a notebook page")
        chapter = driver.execute_script(_CHAPTER_JS, MAX_VISIBLE_CODE_LINES)
        problems += chapter["problems"]
        if not chapter["figures"]:
            problems.append("a chapter page without a single numbered figure")

    shot = _screenshot(driver, page)
    logs = driver.get_log("browser")
    severe = [e["message"] for e in logs if e.get("level") == "SEVERE"]
    problems += [f"console error: {m}" for m in severe if not (_is_external(m) or _is_implicit_favicon(m))]

    bars = driver.execute_script(_PROGRESS_JS)
    if bars:
        warnings.warn(f"{page}: progress-bar text in outputs: {bars[:3]}", stacklevel=1)

    assert not problems, f"{page} ({title!r}; screenshot {shot}):\n  " + "\n  ".join(problems)


# ----------------------------------------------------------------------------------------------------
# Maths offline (issue 13): MathJax comes from the book's own _static/, not a CDN

THEORY_PAGE = "book/executed/theory.html"

_MATHS_JS = r"""
// Wait for MathJax's first typeset (its startup promise), then report what the page shows.
const done = arguments[arguments.length - 1];
const report = () => {
    const article = document.querySelector('article') || document.body;
    const maths = Array.from(article.querySelectorAll('.math'));
    const prose = article.cloneNode(true);  // the text a reader sees, without code and its outputs
    prose.querySelectorAll('pre, code, .cell_input, .cell_output').forEach(el => el.remove());
    const raw = (prose.textContent.match(/\\\(|\\\)|\\\[|\\\]|\$\$/g) || []).length;
    const mj = window.MathJax;
    done({
        version: (mj && mj.version) || null,
        maths: maths.length,
        untypeset: maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 60)),
        containers: article.querySelectorAll('mjx-container').length,
        raw: raw,
        scripts: Array.from(document.scripts).map(s => s.src).filter(s => /mathjax/i.test(s)),
        resources: performance.getEntriesByType('resource').map(e => e.name).filter(n => /mathjax/i.test(n)),
    });
};
setTimeout(report, 30000);
const startup = window.MathJax && window.MathJax.startup;
if (startup && startup.promise) startup.promise.then(report, report);
else report();  // MathJax did not load: window.MathJax is still the page's configuration object
"""


def test_theory_page_typesets_maths_offline(html_dir: Path, base_url: str, driver) -> None:
    """The Theory page's maths is typeset by MathJax 3 served from the book's own files.

    Every https request is blocked in the browser (the machines that run this have no internet anyway),
    so a CDN cannot help: the maths renders only if the book serves MathJax itself.
    """
    assert (html_dir / THEORY_PAGE).is_file(), f"{THEORY_PAGE} was not built into {html_dir}"
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["https://*", "wss://*"]})
    try:
        driver.get(base_url + THEORY_PAGE)
        _wait_until_loaded(driver)
        found = driver.execute_async_script(_MATHS_JS)
    finally:
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
        driver.execute_cdp_cmd("Network.disable", {})
    shot = _screenshot(driver, THEORY_PAGE.replace(".html", "_maths.html"))
    where = f"({THEORY_PAGE}; screenshot {shot}): {found}"

    assert found["scripts"], f"no MathJax script on the page {where}"
    urls = found["scripts"] + found["resources"]
    external = [url for url in urls if urlsplit(url).hostname not in LOCAL_HOSTS]
    assert not external, f"MathJax files from outside the book: {external} {where}"
    assert str(found["version"] or "").startswith("3."), f"MathJax 3 did not load {where}"
    assert found["maths"] >= 10, f"the Theory page should hold its equations {where}"
    assert not found["untypeset"], f"maths left untypeset: {found['untypeset'][:5]} {where}"
    assert found["containers"] >= found["maths"], where
    assert found["raw"] == 0, f"raw TeX delimiters left in the text {where}"


# ----------------------------------------------------------------------------------------------------
# Interactive charts offline (issue 22): Vega from the book's own _static/, controls that change the data

EXPLORER_PAGE = "book/executed/explorer.html"
CHART_PAGES = {
    "explorer": EXPLORER_PAGE,
    "fig3": "book/executed/fig3_knn.html",
    "fig4": "book/executed/fig4_dnn.html",
}
_SCRIPT_SRC_RE = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.I)

_CHART_JS = r"""
// Wait for the chart `name` (window.knnoiseCharts[name], kept by knnoise.plots.interactive.html), then
// report its rendered marks and the data of its first line mark (the explorer's curve).
const name = arguments[0], done = arguments[arguments.length - 1], start = Date.now();
const marksOf = spec => (spec.marks || []).flatMap(m => [m, ...marksOf(m)]);
const wait = () => {
    const r = window.knnoiseCharts && window.knnoiseCharts[name];
    if (!r) return Date.now() - start > 20000 ? done({error: 'no chart ' + name,
        vega: typeof window.vegaEmbed}) : setTimeout(wait, 100);
    const read = d => { try { return r.view.data(d); } catch (e) { return null; } };  // a facet's: not global
    r.view.runAsync().then(() => {
        const el = document.getElementById('knnoise-chart-' + name);
        const lines = marksOf(r.vgSpec).filter(m => m.type === 'line' && m.from && m.from.data);
        const rows = lines.map(m => read(m.from.data)).find(rows => rows) || [];
        done({
            datasets: Object.fromEntries(
                (r.vgSpec.data || []).map(d => [d.name, (read(d.name) || []).length])),
            paths: el.querySelectorAll('.mark-line path, .mark-symbol path, .mark-rule line').length,
            inputs: Array.from(el.querySelectorAll('input, select')).map(i => i.name),
            points: rows.map(d => [d.gamma, d.accuracy]),
            scripts: Array.from(document.scripts).map(s => s.src).filter(s => s),
            resources: performance.getEntriesByType('resource').map(e => e.name),
        });
    });
};
wait();
"""

_SET_INPUT_JS = r"""
// Set the bound input `inputName` of chart `name` to `value`, as a reader would (an input event).
const [name, inputName, value] = arguments;
const el = document.getElementById('knnoise-chart-' + name);
const input = el.querySelector(`[name="${inputName}"]`);
if (!input) return 'no input ' + inputName;
input.value = String(value);
input.dispatchEvent(new Event(input.tagName === 'SELECT' ? 'change' : 'input', {bubbles: true}));
return input.value;
"""


def _blocked(driver):
    """A context in which the browser blocks every https and websocket request (as the maths test does);
    plain http to another host is caught afterwards, from the page's resource entries."""
    import contextlib

    @contextlib.contextmanager
    def block():
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["https://*", "wss://*", "ws://*"]})
        try:
            yield
        finally:
            driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
            driver.execute_cdp_cmd("Network.disable", {})

    return block()


def _open_chart(driver, base_url: str, page: str, name: str) -> dict:
    driver.get_log("browser")
    driver.get(base_url + page)
    _wait_until_loaded(driver)
    return driver.execute_async_script(_CHART_JS, name)


def _external(urls: list[str]) -> list[str]:
    return [u for u in urls if urlsplit(u).scheme in ("http", "https", "ws", "wss")
            and urlsplit(u).hostname not in LOCAL_HOSTS]  # fmt: skip


def test_explorer_renders_offline_and_its_controls_change_the_data(
    html_dir: Path, base_url: str, driver
) -> None:
    """The explorer draws its curve with the network blocked, and moving K or the noise model redraws it."""
    assert (html_dir / EXPLORER_PAGE).is_file(), f"{EXPLORER_PAGE} was not built into {html_dir}"
    with _blocked(driver):
        found = _open_chart(driver, base_url, EXPLORER_PAGE, "explorer")
        shot = _screenshot(driver, EXPLORER_PAGE)
        where = f"({EXPLORER_PAGE}; screenshot {shot})"
        assert "error" not in found, f"{found} {where}"
        assert found["paths"] > 0 and len(found["points"]) > 2, f"the explorer drew nothing: {found} {where}"
        assert {"K", "noise", "ties", "clean", "confidence"} <= set(found["inputs"]), where
        before = found["points"]
        assert _set_input(driver, "K", 1) == "1"
        after_k = driver.execute_async_script(_CHART_JS, "explorer")["points"]
        assert len(after_k) == len(before) and after_k != before, f"moving K changed nothing {where}"
        assert _set_input(driver, "noise", "flip") == "flip"
        after_noise = driver.execute_async_script(_CHART_JS, "explorer")
        assert after_noise["points"] != after_k, f"choosing flip noise changed nothing {where}"
        # K = 1 copies one neighbour: the accuracy falls from the clean value as gamma grows (Eq. 3)
        assert after_noise["points"][0][1] > after_noise["points"][-1][1], after_noise["points"]
        shot = _screenshot(driver, EXPLORER_PAGE.replace(".html", "_k1_flip.html"))
    severe = [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert not [m for m in severe if not _is_implicit_favicon(m)], (
        f"console errors {severe} (screenshot {shot})"
    )
    assert not _external(found["scripts"] + found["resources"]), f"requests outside the book {where}"
    assert any(urlsplit(s).path.endswith("_static/vega/vega-bundle.js") for s in found["scripts"]), where


def _set_input(driver, name: str, value: object) -> str:
    return driver.execute_script(_SET_INPUT_JS, "explorer", name, value)


LEGEND_SELECTIONS = {"fig3": "fig3_k", "fig4": "fig4_series"}  # knnoise.plots.interactive's names


def _click_legend(driver, name: str) -> int:
    """Click the chart's first legend entry as a reader would; the number of series then selected (the
    selection's store holds one entry per facet panel, each naming the same series)."""
    from selenium.webdriver.common.action_chains import ActionChains

    symbol = driver.find_element("css selector", f"#knnoise-chart-{name} .role-legend-symbol path")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", symbol)
    ActionChains(driver).move_to_element(symbol).click().perform()
    store = LEGEND_SELECTIONS[name] + "_store"
    return driver.execute_script(
        "const store = window.knnoiseCharts[arguments[0]].view.data(arguments[1]);"
        "return new Set(store.map(t => JSON.stringify(t.values))).size;",
        name,
        store,
    )


@pytest.mark.parametrize("name", ["fig3", "fig4"])
def test_interactive_figure_renders_offline(name: str, html_dir: Path, base_url: str, driver) -> None:
    """Figs. 3 and 4's interactive charts render from the book's own files with the network blocked."""
    page = CHART_PAGES[name]
    assert (html_dir / page).is_file(), f"{page} was not built into {html_dir}"
    with _blocked(driver):
        found = _open_chart(driver, base_url, page, name)
        driver.execute_script(f"document.getElementById('knnoise-chart-{name}').scrollIntoView();")
        shot = _screenshot(driver, page.replace(".html", "_interactive.html"))
        toggled = _click_legend(driver, name)
    where = f"({page}; screenshot {shot})"
    assert "error" not in found, f"{found} {where}"
    assert found["paths"] >= 4, f"the chart drew nothing: {found} {where}"
    assert toggled == 1, f"clicking a legend entry selected {toggled} series, not 1 {where}"
    assert max(found["datasets"].values(), default=0) >= 4, f"the chart holds no data: {found} {where}"
    assert not _external(found["scripts"] + found["resources"]), f"requests outside the book {where}"


@pytest.mark.parametrize("page", PAGES)
def test_every_script_comes_from_the_book(page: str, html_dir: Path) -> None:
    """No page loads a script from another host (a CDN's require.js or widget manager, say): the book
    works offline and a reader's browser fetches no third-party code."""
    text = (html_dir / page).read_text(encoding="utf-8")
    sources = _SCRIPT_SRC_RE.findall(text)
    outside = [s for s in sources if s.startswith("//") or _external([s])]
    assert not outside, f"{page} loads scripts from outside the book: {outside}"


def test_a_chart_renders_from_file_urls(html_dir: Path, driver) -> None:
    """Opened from disk (``file://``, origin ``null``), a chart page still draws: the Vega bundle is a classic
    script (browsers refuse ES modules on file:// pages), and Sphinx's own scripts keep working beside it."""
    page = html_dir / EXPLORER_PAGE
    assert page.is_file(), f"{EXPLORER_PAGE} was not built into {html_dir}"
    with _blocked(driver):
        driver.get_log("browser")
        driver.get(page.as_uri())
        _wait_until_loaded(driver)
        found = driver.execute_async_script(_CHART_JS, "explorer")
        shot = _screenshot(driver, EXPLORER_PAGE.replace(".html", "_file.html"))
        sphinx = driver.execute_script("return typeof _ === 'function' && _('x');")  # doctools.js's gettext
    where = f"({page.as_uri()}; screenshot {shot})"
    assert "error" not in found, f"{found} {where}"
    assert found["paths"] > 0 and len(found["points"]) > 2, f"the explorer drew nothing: {found} {where}"
    assert all(urlsplit(s).scheme == "file" for s in found["scripts"]), f"{found['scripts']} {where}"
    severe = [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert not [m for m in severe if "vega" in m.lower() or "module" in m.lower()], f"{severe} {where}"
    assert sphinx == "x", f"Sphinx's `_` was replaced: {sphinx!r} {where}"
