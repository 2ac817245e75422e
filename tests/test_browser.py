"""The built website works in a real browser, offline.

The site built by tests/_site.py is served by ``http.server`` on 127.0.0.1 (a free port, in a
thread) and opened in Debian's Chromium (``apt-get install chromium``), headless, through
Playwright, with a fresh profile.  Every request to a host other than 127.0.0.1/localhost is
aborted and recorded, and a test fails if any was attempted.

Without /usr/bin/chromium (or the playwright package) these tests skip, unless the environment
variable CI is set: then they fail.
"""
import functools
import http.server
import os
import re
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _site, whatever pytest's rootdir

from _site import (  # noqa: E402
    LOCAL_HOSTS,
    STATIC_TWIN_PAGES,
    built_site,  # noqa: F401  (a pytest fixture)
    parse_html,
    toc_docnames,
)

CHROMIUM = Path(os.environ.get("INTRODL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",  # containers often have a small /dev/shm
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # git-ignored
TOC = toc_docnames()
TIMEOUT_MS = 30_000


def _unavailable(reason):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests must run)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------------------------
# A local web server for the built site


class _Handler(http.server.SimpleHTTPRequestHandler):
    failures = None  # a list shared with the test: (status, path) for every 4xx/5xx answer

    def log_message(self, format, *args):  # quiet
        pass

    def log_request(self, code="-", size="-"):
        status = getattr(code, "value", code)
        if isinstance(status, int) and status >= 400 and self.failures is not None:
            self.failures.append((status, self.path))


class Server:
    def __init__(self, directory):
        self.failures = []
        handler = type("Handler", (_Handler,), {"failures": self.failures})
        handler = functools.partial(handler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(built_site):
    with Server(built_site.html) as running:
        yield running


# --------------------------------------------------------------------------------------------
# The browser


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found: install Debian's Chromium with `apt-get install -y chromium`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        _unavailable(f"the playwright package is not installed ({error})")

    with sync_playwright() as playwright:
        # launch() gives a fresh, throw-away profile (user-data-dir) each time.
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Visit:
    """A browser tab on the local site that records everything that went wrong."""

    def __init__(self, browser, server):
        self.server = server
        self.external = []  # URLs of requests to other hosts (aborted)
        self.console_errors = []
        self.page_errors = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        server.failures.clear()

    def _route(self, route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about") or (parts.hostname or "") in LOCAL_HOSTS:
            route.continue_()
        else:
            self.external.append(url)
            route.abort("blockedbyclient")

    def _console(self, message):
        if message.type == "error":
            location = message.location or {}
            self.console_errors.append(f"{message.text} ({location.get('url', '')}:{location.get('lineNumber', '')})")

    def open(self, docname):
        self.page.goto(self.server.url + f"{docname}.html", wait_until="networkidle")
        self.wait_for_mathjax()
        return self.page

    def wait_for_mathjax(self):
        if self.page.locator(".math").count():
            self.page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            self.page.evaluate("() => MathJax.startup.promise")
            self.page.wait_for_load_state("networkidle")

    def problems(self):
        problems = []
        if self.external:
            problems.append(f"requests to other hosts (blocked): {self.external}")
        if self.console_errors:
            problems.append(f"console errors: {self.console_errors}")
        if self.page_errors:
            problems.append(f"page errors: {self.page_errors}")
        if self.server.failures:
            problems.append(f"local requests that failed: {self.server.failures}")
        return problems

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, server):
    tab = Visit(browser, server)
    yield tab
    tab.close()


def _require_page(site, docname):
    if not site.page(docname).exists():
        pytest.skip(f"{docname} has no HTML page yet (the chapter is not written; test_book.py reports it)")


# --------------------------------------------------------------------------------------------
# Checks run in the page


def broken_images(page):
    """The <img> elements that did not load (naturalWidth 0), after making every one load."""
    return page.evaluate(
        """async () => {
            const images = Array.from(document.images);
            images.forEach(img => { img.loading = 'eager'; });
            await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
                img.addEventListener('load', done, {once: true});
                img.addEventListener('error', done, {once: true});
            })));
            return images.filter(img => !(img.complete && img.naturalWidth > 0))
                         .map(img => img.currentSrc || img.src);
        }"""
    )


def untypeset_math(page):
    """Math elements that MathJax left as TeX source, and TeX errors it reported."""
    return page.evaluate(
        """() => ({
            raw: Array.from(document.querySelectorAll('.math'))
                      .filter(el => !el.querySelector('mjx-container'))
                      .map(el => el.textContent.slice(0, 80)),
            errors: Array.from(document.querySelectorAll('mjx-merror'))
                         .map(el => el.getAttribute('data-mjx-error') || el.textContent),
        })"""
    )


def exercise_sliders(page):
    """Move every static-twin slider; return how many there were.

    Each slider's output must change one of its images' src (the next precomputed frame), and
    the new frame must display.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    sliders = page.locator(".cell_output input[type=range]")
    count = sliders.count()
    for i in range(count):
        slider = sliders.nth(i)
        output = slider.locator("xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' cell_output ')][1]")
        images = output.locator("img")
        assert images.count(), f"slider {i}: no <img> in its output"
        before = images.evaluate_all("imgs => imgs.map(img => img.src)")
        lo, hi, value = slider.evaluate("s => [Number(s.min || 0), Number(s.max || 100), Number(s.value)]")
        assert hi > lo, f"slider {i}: min == max, nothing to move"
        slider.scroll_into_view_if_needed()
        slider.focus()
        page.keyboard.press("Home" if value >= hi else "End")  # fires input and change, like a user
        try:
            page.wait_for_function(
                "([output, before]) => Array.from(output.querySelectorAll('img')).some((img, k) => img.src !== before[k])",
                arg=[output.element_handle(), before],
                timeout=5_000,
            )
        except PlaywrightTimeoutError:
            pass
        after = images.evaluate_all("imgs => imgs.map(img => img.src)")
        changed = after != before
        assert changed, f"slider {i}: moving it did not change the displayed image"
        assert not broken_images(page), f"slider {i}: the new frame does not display"
    return count


# --------------------------------------------------------------------------------------------
# Tests


@pytest.mark.parametrize("docname", TOC)
def test_page_loads_offline_without_errors(built_site, visit, docname):
    """No console or page error, no request off localhost, every image and formula renders."""
    _require_page(built_site, docname)
    page = visit.open(docname)
    assert page.title(), f"{docname}: no <title>"
    math = untypeset_math(page)
    broken = broken_images(page)
    sliders = exercise_sliders(page)
    problems = visit.problems()
    assert not math["raw"], f"{docname}: math left untypeset: {math['raw'][:5]}"
    assert not math["errors"], f"{docname}: TeX errors: {math['errors'][:5]}"
    assert not broken, f"{docname}: images that do not display: {broken}"
    assert not problems, f"{docname} ({sliders} sliders moved): " + "; ".join(problems)


def test_math_is_typeset(built_site, visit):
    page = visit.open(TOC[0])
    assert page.locator(".math").count(), f"{TOC[0]} should have math"
    assert page.locator("mjx-container").count(), "MathJax produced no mjx-container"
    assert not visit.problems(), visit.problems()


def _pages_with(built_site, predicate):
    return [d for d in TOC if built_site.page(d).exists() and predicate(parse_html(built_site.page(d)))]


def _has_output_figure(doc):
    return any(el.tag == "img" and el.inside("cell_output") for el in doc.elements)


def test_notebook_figures_display(built_site, visit):
    pages = _pages_with(built_site, _has_output_figure)
    if not pages:
        pytest.skip("no chapter with a figure (an <img> in a cell output) exists yet")
    page = visit.open(pages[0])
    widths = page.locator(".cell_output img").evaluate_all("imgs => imgs.map(img => img.naturalWidth)")
    assert widths and all(w > 0 for w in widths), f"{pages[0]}: figure widths {widths}"
    assert not visit.problems(), visit.problems()


@pytest.mark.parametrize("docname", STATIC_TWIN_PAGES)
def test_static_twin_slider_changes_the_frame(built_site, visit, docname):
    _require_page(built_site, docname)
    page = visit.open(docname)
    assert exercise_sliders(page), f"{docname}: no static-twin slider (input[type=range]) in its outputs"
    assert not visit.problems(), visit.problems()


def test_solutions_unfold_on_click(built_site, visit):
    pages = _pages_with(built_site, lambda doc: any("tag_hide-input" in el.classes for el in doc.elements))
    if not pages:
        pytest.skip("no chapter has a hide-input solution cell yet")
    page = visit.open(pages[0])
    cell = page.locator(".tag_hide-input").first
    source = cell.locator(".cell_input")
    assert not source.is_visible(), f"{pages[0]}: a solution is visible before it is unfolded"
    cell.locator("summary").first.click()
    source.wait_for(state="visible")
    assert not visit.problems(), visit.problems()


def test_screenshots(built_site, visit):
    """Screenshots of the introduction and of a chapter's first figure, to tests/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = visit.open(TOC[0])
    page.screenshot(path=str(ARTIFACTS / "intro.png"))
    pages = _pages_with(built_site, _has_output_figure)
    if not pages:
        pytest.skip("no chapter with a figure exists yet (the introduction's screenshot was saved)")
    page = visit.open(pages[0])
    page.locator(".cell_output img").first.scroll_into_view_if_needed()
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", pages[0].split("/")[-1])
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    assert (ARTIFACTS / f"{name}.png").stat().st_size > 0
    assert not visit.problems(), visit.problems()
