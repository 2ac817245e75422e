"""The built website works in a real browser, offline, for every reader.

The site built by tests/_site.py is served by ``http.server`` on 127.0.0.1 (a free port, in a
thread) and opened in Debian's Chromium (``apt-get install chromium``), headless, through
Playwright, with a fresh profile.  Chromium resolves no host but 127.0.0.1/localhost, so every
request to another host fails; each is recorded, and a test fails if any was attempted.

One pass over the pages (the ``survey`` fixture) opens each page once, in one tab whose cache
is off (every page loads everything, as on a first visit), and records everything the tests
below assert:

* errors: console and page errors, requests to other hosts, local requests that failed,
  maths left untypeset, images that do not display; every explorer slider is moved;
* accessibility: axe-core (bundled by axe-playwright-python) with its default rules plus the
  experimental ``label-content-name-mismatch``; no serious or critical violation is allowed
  (AXE_EXCEPTIONS lists the ones the theme's markup makes unavoidable, with the reason);
  highlighted code and typeset maths, styled alike on every page, are checked on one chapter;
* figures: no <img> whose alt text is empty, a file path or a hash;
* phone width: at 375 x 812 nothing makes the page, or the article column, scroll sideways;
* weight: the bytes the server sent for the page and everything it loaded on a cold visit
  (an empty cache, the page as it opens: figures further down load lazily, as the reader
  scrolls to them), at most MAX_CHAPTER_BYTES for a chapter.  The weight with every figure
  loaded is recorded too.

The figures are written to tests/artifacts/site-survey.json (with screenshots), so a run
leaves the measurements behind.

Without /usr/bin/chromium (or the playwright package) these tests skip, unless the environment
variable CI is set: then they fail.
"""
import functools
import http.server
import json
import os
import re
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from _site import (
    LOCAL_HOSTS,
    STATIC_TWIN_PAGES,
    built_site,  # noqa: F401  (a pytest fixture)
    numbered_chapters,
    parse_html,
    toc_docnames,
)

CHROMIUM = Path(os.environ.get("INTRODL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",  # containers often have a small /dev/shm
    # No host but this machine resolves, so a request to another host fails at once, and the
    # page's request events record it.  (Intercepting every request instead makes each one a
    # round trip through this process: 9 s of processor time over the survey.)
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # git-ignored
TOC = toc_docnames()
# Every page a reader can reach: the table of contents, plus Sphinx's search and index pages.
PAGES = TOC + ["search", "genindex", "py-modindex"]
CHAPTERS = sorted(numbered_chapters())
TIMEOUT_MS = 30_000

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}  # an iPhone X/11 Pro/12 mini-sized screen, in CSS pixels
MAX_CHAPTER_BYTES = 2_000_000  # a cold chapter page, everything it loads included

# axe-core: the default rules, plus this experimental one (off by default): a control whose
# accessible name does not contain its visible words cannot be used by voice ("click Search").
AXE_OPTIONS = {
    "rules": {"label-content-name-mismatch": {"enabled": True}},
    "resultTypes": ["violations"],
    # axe fetches the page's stylesheets again for one rule (css-orientation-lock), resolving
    # the theme's `@import "../basic.css"` against the page instead of the stylesheet: a 404
    # that is axe's, not the site's.  The site never locks the orientation (site.css has no
    # orientation media query), so that rule has nothing to find.
    "preload": False,
}
BLOCKING_IMPACTS = ("serious", "critical")
# Serious or critical violations that the theme's own markup makes unavoidable: rule id -> why.
# (Empty: the theme's search button, colour-mode button, logo and folded cells are repaired by
# _templates/ and book/_static/.)
AXE_EXCEPTIONS: dict[str, str] = {}
# Highlighted code and typeset maths are most of a page's elements (15,000 of 16,400 in chapter
# 8) and most of axe's time, but they look the same on every page: pygments' and MathJax's styles
# come from the site's stylesheets, not the page.  So they are checked once, in full, on the first
# chapter, and every page is checked without them.  Excluding them from axe's context is not
# enough: its colour-contrast rule still lays out every element of the page to find what lies
# under each text, so they are taken out of the page while axe runs (and put back after):
# chapter 8 takes 1.2 s instead of 4.4 s.
CODE_AND_MATHS = "div.highlight, mjx-container"
AXE_CODE_AND_MATHS = {"include": [["div.highlight"], ["mjx-container"]]}

# An alt text that is a file name, a path into the build or a content hash says nothing.
_PATHLIKE_ALT = re.compile(r"(\.(png|jpe?g|gif|svg|webp)\b)|(^|/)_images/|^\.{0,2}/|^[0-9a-f]{16,}$", re.I)


def _unavailable(reason):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests must run)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------------------------
# A local web server for the built site


class _Activity:
    """How many requests the server is answering, and when one last began or ended."""

    def __init__(self):
        self.lock = threading.Lock()
        self.answering = 0
        self.last = time.monotonic()

    def begin(self):
        with self.lock:
            self.answering += 1
            self.last = time.monotonic()

    def end(self):
        with self.lock:
            self.answering -= 1
            self.last = time.monotonic()

    def wait_until_quiet(self, quiet=0.2, timeout=TIMEOUT_MS / 1000):
        """Return once no request has been answered, begun or ended for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.answering and time.monotonic() - self.last >= quiet:
                    return
            time.sleep(0.02)
        raise TimeoutError(f"the server was still busy after {timeout:.0f} s")


class _Handler(http.server.SimpleHTTPRequestHandler):
    failures = None  # a list shared with the test: (status, path) for every 4xx/5xx answer
    sent = None  # a dict shared with the test: path -> bytes of the response body sent
    activity = None  # an _Activity shared with the test

    def do_GET(self):
        self.activity.begin()
        try:
            super().do_GET()
        finally:
            self.activity.end()

    def copyfile(self, source, outputfile):
        counter = _CountingWriter(outputfile)
        shutil.copyfileobj(source, counter)
        if self.sent is not None:
            self.sent[self.path] = self.sent.get(self.path, 0) + counter.count

    def log_message(self, format, *args):  # quiet
        pass

    def log_request(self, code="-", size="-"):
        status = getattr(code, "value", code)
        if isinstance(status, int) and status >= 400 and self.failures is not None:
            self.failures.append((status, self.path))


class _CountingWriter:
    def __init__(self, stream):
        self.stream, self.count = stream, 0

    def write(self, data):
        self.count += len(data)
        return self.stream.write(data)


class Server:
    def __init__(self, directory):
        self.failures = []
        self.sent = {}
        self.activity = _Activity()
        handler = type("Handler", (_Handler,), {"failures": self.failures, "sent": self.sent,
                                                "activity": self.activity})
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
    """A browser tab on the local site that records everything that went wrong.

    The tab's HTTP cache is off, so every page it opens loads everything from the server, as on
    a reader's first visit; ``open`` forgets what the previous page left (records, storage).
    One tab can so visit page after page: a fresh browser context for each page would cost
    1.7 s more processor time per page (a new renderer process, every script compiled again).
    """

    def __init__(self, browser, server):
        self.server = server
        self.external = []  # URLs of requests to other hosts (they fail)
        self.console_errors = []
        self.page_errors = []
        self.context = browser.new_context(viewport=DESKTOP, service_workers="block")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.on("request", self._request)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.devtools = self.context.new_cdp_session(self.page)
        self.devtools.send("Network.enable")
        self.devtools.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.forget()

    def forget(self):
        """Start afresh: no records, nothing in the site's storage, the desktop window."""
        if self.page.url.startswith(self.server.url):
            self.page.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
            self.page.goto("about:blank")  # so that the window's resize lays out no page
        self.page.set_viewport_size(DESKTOP)
        for records in (self.external, self.console_errors, self.page_errors, self.server.failures):
            records.clear()
        self.server.sent.clear()

    def _request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "blob", "about") and (parts.hostname or "") not in LOCAL_HOSTS:
            self.external.append(request.url)  # it fails: CHROMIUM_ARGS resolve no other host

    def _console(self, message):
        if message.type == "error":
            location = message.location or {}
            self.console_errors.append(f"{message.text} ({location.get('url', '')}:{location.get('lineNumber', '')})")

    def open(self, docname):
        self.forget()
        self.page.goto(self.server.url + f"{docname}.html", wait_until="load")
        self.wait_for_mathjax()
        self.settle()
        return self.page

    def wait_for_mathjax(self):
        if self.page.locator(".math").count():
            self.page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            self.page.evaluate("() => MathJax.startup.promise")

    def settle(self):
        """Wait until the page has loaded everything it asks for as it opens: its fonts (MathJax's
        are asked for once the maths is typeset), and nothing from the server for 0.2 s.
        (Playwright's "networkidle" waits for 0.5 s of quiet, twice per page.)"""
        self.page.evaluate("() => document.fonts.ready.then(() => true)")
        self.server.activity.wait_until_quiet()

    def problems(self):
        problems = []
        if self.external:
            problems.append(f"requests to other hosts: {self.external}")
        if self.console_errors:
            problems.append(f"console errors: {self.console_errors}")
        if self.page_errors:
            problems.append(f"page errors: {self.page_errors}")
        if self.server.failures:
            problems.append(f"local requests that failed: {self.server.failures}")
        return problems

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def tab(browser, server):
    """One tab for the whole module (see Visit: its cache is off, and each page starts afresh)."""
    shared = Visit(browser, server)
    yield shared
    shared.close()


@pytest.fixture
def visit(tab):
    """The module's tab, its records and storage forgotten, at the desktop size."""
    tab.forget()
    return tab


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


def axe_violations(page, context=None, options=None):
    """axe-core's serious and critical violations: [(rule, impact, help, [targets])].

    ``context`` is axe's include/exclude context (None: the whole page); ``options`` replace
    AXE_OPTIONS' rules (axe's ``rules`` / ``runOnly``).
    """
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=context, options={**AXE_OPTIONS, **(options or {})}).response
    return [
        (v["id"], v["impact"], v["help"], [" ".join(map(str, n["target"])) for n in v["nodes"]][:5])
        for v in results["violations"]
        if v["impact"] in BLOCKING_IMPACTS and v["id"] not in AXE_EXCEPTIONS
    ]


# Colour contrast is most of axe's time on a page (1 ms per element: chapter 8 has 1,300 and the
# library appendix 6,400 once code and maths are set aside), yet most elements repeat a style:
# every paragraph, every parameter name.  Two texts drawn alike (same colour, size, weight and
# shadow, over the same stack of backgrounds, opacities and filters up to the root) have the same
# contrast, so the contrast rule looks at one text of each look, marked here; every subtree
# without such a text is left out of that rule's run.  All other rules see the whole page.
_MARK_ONE_TEXT_PER_LOOK = """() => {
    const below = new Map();  // element -> the look of everything behind it, up to the root
    const behind = (el) => {
        if (!el) return '';
        if (!below.has(el)) {
            const s = getComputedStyle(el);
            below.set(el, [s.backgroundColor, s.backgroundImage, s.opacity, s.filter,
                           s.mixBlendMode, s.position].join(';') + '<' + behind(el.parentElement));
        }
        return below.get(el);
    };
    const ownText = (el) => Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    const looks = new Set();
    const sampled = new Set();
    for (const el of document.body.querySelectorAll('*')) {
        if (!ownText(el)) continue;
        const s = getComputedStyle(el);
        const look = [el.tagName, s.color, s.fontSize, s.fontWeight, s.textShadow].join(';') + '|' + behind(el);
        if (!looks.has(look)) { looks.add(look); sampled.add(el); }
    }
    // Leave out the largest subtrees that hold no sampled text.
    const holds = new Map();
    const holdsSample = (el) => {
        if (!holds.has(el)) {
            holds.set(el, sampled.has(el) || Array.from(el.children).some(holdsSample));
        }
        return holds.get(el);
    };
    const visit = (el) => {
        for (const child of el.children) {
            if (holdsSample(child)) visit(child); else child.setAttribute('data-introdl-same-look', '');
        }
    };
    visit(document.body);
    return sampled.size;
}"""


def axe_violations_without_code_and_maths(page):
    """axe_violations on the page with its highlighted code and typeset maths taken out, and
    colour contrast measured on one text of each look (see _MARK_ONE_TEXT_PER_LOOK)."""
    page.evaluate(
        """(selector) => {
            window.__introdlSetAside = Array.from(document.querySelectorAll(selector)).map(el => {
                const mark = document.createComment('set aside');
                el.replaceWith(mark);
                return [mark, el];
            });
        }""",
        CODE_AND_MATHS,
    )
    try:
        found = axe_violations(page, options={"rules": {**AXE_OPTIONS["rules"], "color-contrast": {"enabled": False}}})
        page.evaluate(_MARK_ONE_TEXT_PER_LOOK)
        found += axe_violations(page, {"exclude": [["[data-introdl-same-look]"]]},
                                options={"rules": {}, "runOnly": {"type": "rule", "values": ["color-contrast"]}})
        return found
    finally:
        page.evaluate("""() => {
            document.querySelectorAll('[data-introdl-same-look]').forEach(el => el.removeAttribute('data-introdl-same-look'));
            window.__introdlSetAside.forEach(([mark, el]) => mark.replaceWith(el));
        }""")


def meaningless_alt_texts(page):
    """Every <img> whose alt text is missing, empty, a file path or a hash (its alt, its src)."""
    images = page.evaluate(
        """() => Array.from(document.querySelectorAll('img'))
                 .filter(img => img.getAttribute('role') !== 'presentation')
                 .map(img => [img.getAttribute('alt'), img.getAttribute('src') || ''])"""
    )
    return [
        (alt, src[:80]) for alt, src in images
        if alt is None or not alt.strip() or _PATHLIKE_ALT.search(alt.strip())
    ]


def sideways_overflow(page):
    """What makes the page scroll sideways at the current width: [] when nothing does.

    Two things count: the document wider than the window, and the article column (which the
    theme lets scroll sideways) wider than itself.  For each, the outermost elements that stick
    out are named, except those inside a box that scrolls by design (code, outputs, tables,
    displayed maths, which the reader scrolls on their own).
    """
    return page.evaluate(
        """() => {
            const found = [];
            const root = document.documentElement;
            const column = document.querySelector('.bd-article-container');
            const ownScroll = 'pre, div.highlight, .cell_output, .output, table, '
                + '.pst-scrollable-table-container, mjx-container[display="true"]';
            const culprits = (limit) => {
                const out = [];
                for (const el of document.querySelectorAll('.bd-article *')) {
                    if (el.closest(ownScroll) && !el.matches(ownScroll)) continue;
                    const r = el.getBoundingClientRect();
                    if (r.width === 0 || r.right <= limit + 1) continue;
                    const parent = el.parentElement && el.parentElement.getBoundingClientRect();
                    if (parent && parent.right > limit + 1 && !el.matches(ownScroll)) continue;
                    const id = el.id ? '#' + el.id : '';
                    const cls = (el.getAttribute('class') || '').split(' ')[0];
                    out.push(`<${el.tagName.toLowerCase()}${id}${cls ? '.' + cls : ''}> `
                             + `${Math.round(r.left)}–${Math.round(r.right)} px: `
                             + JSON.stringify((el.textContent || '').trim().slice(0, 40)));
                    if (out.length >= 5) break;
                }
                return out;
            };
            if (root.scrollWidth > root.clientWidth + 1) {
                found.push(`the page is ${root.scrollWidth} px wide in a ${root.clientWidth} px window`);
            }
            if (column && column.scrollWidth > column.clientWidth + 1) {
                found.push(`the article column scrolls: ${column.scrollWidth} px of content in ${column.clientWidth} px`);
            }
            if (found.length) {
                const limit = column ? column.getBoundingClientRect().right : root.clientWidth;
                found.push(...culprits(limit));
            }
            return found;
        }"""
    )


def overflow_once_settled(page, seconds=1.5):
    """sideways_overflow after a resize, once the page's resize handlers have had their chance.

    The book's handler (book/_static/site.js, 200 ms after the last resize) gives an inline formula
    wider than a phone's column a scrolling box of its own, which ends that overflow; no handler
    makes a page wider.  So a page that fits at once is done, and one that does not is given
    ``seconds`` to fit before what still sticks out is reported.
    """
    page.wait_for_function("(width) => window.innerWidth === width", arg=page.viewport_size["width"])
    deadline = time.monotonic() + seconds
    while (found := sideways_overflow(page)) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    return found


# --------------------------------------------------------------------------------------------
# One pass over the site


@dataclass
class PageReport:
    docname: str
    bytes: int = 0  # sent by the server for this cold visit (the page as it opens)
    bytes_all_figures: int = 0  # ... once every lazily loaded figure has loaded as well
    heaviest: list = field(default_factory=list)  # [(path, bytes)], the largest ten
    paths: list = field(default_factory=list)  # every path the server sent for the cold visit
    problems: list = field(default_factory=list)  # console/page errors, external or failed requests
    math: dict = field(default_factory=dict)
    broken_images: list = field(default_factory=list)
    sliders: int = 0
    axe: list = field(default_factory=list)
    alt_texts: list = field(default_factory=list)
    overflow: list = field(default_factory=list)
    formulas: int = 0


def _survey_page(tab, docname, screenshot=None):
    report = PageReport(docname)
    page = tab.open(docname)
    sent = dict(tab.server.sent)  # the cold visit: the page as it opens, before any scrolling
    report.bytes = sum(sent.values())
    report.heaviest = sorted(sent.items(), key=lambda kv: -kv[1])[:10]
    report.paths = sorted(sent)
    report.math = untypeset_math(page)
    report.formulas = page.locator("mjx-container").count()
    report.broken_images = broken_images(page)  # loads the lazy figures too
    report.bytes_all_figures = sum(tab.server.sent.values())
    report.alt_texts = meaningless_alt_texts(page)
    report.sliders = exercise_sliders(page)
    report.axe = axe_violations_without_code_and_maths(page)
    if docname == CHAPTERS[0]:
        report.axe += axe_violations(page, AXE_CODE_AND_MATHS)
    if screenshot:
        page.screenshot(path=str(ARTIFACTS / f"{screenshot}-desktop.png"))
    page.set_viewport_size(PHONE)
    report.overflow = overflow_once_settled(page)
    if screenshot:
        page.screenshot(path=str(ARTIFACTS / f"{screenshot}-phone.png"))
    report.problems = tab.problems()
    return report


@pytest.fixture(scope="module")
def survey(built_site, tab):
    """docname -> PageReport, for every page of the table of contents (one visit each, in the
    module's tab, without a cache: see Visit)."""
    ARTIFACTS.mkdir(exist_ok=True)
    shots = {TOC[0]: "intro", "book/07_learning_rate": "07_learning_rate"}
    reports = {}
    for docname in PAGES:
        if built_site.page(docname).exists():
            reports[docname] = _survey_page(tab, docname, shots.get(docname))
    (ARTIFACTS / "site-survey.json").write_text(
        json.dumps({d: asdict(r) for d, r in reports.items()}, indent=1), encoding="utf-8"
    )
    return reports


def _report(built_site, survey, docname):
    if not built_site.page(docname).exists():
        pytest.skip(f"{docname} has no HTML page yet (the chapter is not written; test_book.py reports it)")
    return survey[docname]


# --------------------------------------------------------------------------------------------
# Tests


@pytest.mark.parametrize("docname", PAGES)
def test_page_loads_offline_without_errors(built_site, survey, docname):
    """No console or page error, no request off localhost, every image and formula renders."""
    report = _report(built_site, survey, docname)
    assert not report.math["raw"], f"{docname}: math left untypeset: {report.math['raw'][:5]}"
    assert not report.math["errors"], f"{docname}: TeX errors: {report.math['errors'][:5]}"
    assert not report.broken_images, f"{docname}: images that do not display: {report.broken_images}"
    assert not report.problems, f"{docname} ({report.sliders} sliders moved): " + "; ".join(report.problems)


@pytest.mark.parametrize("docname", PAGES)
def test_no_serious_accessibility_violations(built_site, survey, docname):
    """axe-core, with label-content-name-mismatch on: 0 serious and 0 critical violations."""
    report = _report(built_site, survey, docname)
    assert not report.axe, f"{docname}: axe-core finds " + "; ".join(
        f"{rule} ({impact}, {len(nodes)}+ elements: {help_text}) at {nodes}"
        for rule, impact, help_text, nodes in report.axe
    )


@pytest.mark.parametrize("docname", PAGES)
def test_figures_have_meaningful_alt_text(built_site, survey, docname):
    """A screen reader reads each figure's alt text: it must say what the figure shows."""
    report = _report(built_site, survey, docname)
    assert not report.alt_texts, (
        f"{docname}: images whose alt text is empty, a path or a hash (alt, src): {report.alt_texts}. "
        'A chapter figure\'s alt text goes in its cell\'s metadata: {"mystnb": {"image": {"alt": "..."}}}'
    )


@pytest.mark.parametrize("docname", PAGES)
def test_page_does_not_scroll_sideways_on_a_phone(built_site, survey, docname):
    report = _report(built_site, survey, docname)
    assert not report.overflow, f"{docname} at {PHONE['width']}x{PHONE['height']}: " + "; ".join(report.overflow)


@pytest.mark.parametrize("docname", CHAPTERS)
def test_cold_chapter_page_weight(built_site, survey, docname):
    report = _report(built_site, survey, docname)
    heaviest = ", ".join(f"{Path(urlsplit(p).path).name} {b / 1e3:.0f} KB" for p, b in report.heaviest[:6])
    assert report.bytes <= MAX_CHAPTER_BYTES, (
        f"{docname}: a cold visit loads {report.bytes / 1e6:.2f} MB (at most {MAX_CHAPTER_BYTES / 1e6:.0f} MB); "
        f"heaviest: {heaviest}"
    )


@pytest.mark.parametrize("docname", PAGES)
def test_every_visit_is_a_first_visit(built_site, survey, docname):
    """Each page of the survey fetched every script and stylesheet it names from the server:
    nothing came from a cache, so the weights above are what a first visit costs."""
    report = _report(built_site, survey, docname)
    page_url = f"/{docname}.html"
    named = [el.attrs.get("src") if el.tag == "script" else el.attrs.get("href")
             for el in parse_html(built_site.page(docname)).elements
             if (el.tag == "script" and el.attrs.get("src"))
             or (el.tag == "link" and "stylesheet" in el.attrs.get("rel", "").split())]
    wanted = {urlsplit(urljoin(page_url, url)).path for url in named}
    fetched = {urlsplit(path).path for path in report.paths}
    assert wanted and wanted <= fetched, f"{docname}: not fetched from the server: {sorted(wanted - fetched)}"


def test_math_is_typeset(built_site, survey):
    report = _report(built_site, survey, TOC[0])
    assert report.formulas, f"{TOC[0]}: MathJax produced no mjx-container (the introduction has maths)"


@pytest.mark.parametrize("docname", STATIC_TWIN_PAGES)
def test_static_twin_slider_changes_the_frame(built_site, survey, docname):
    report = _report(built_site, survey, docname)
    assert report.sliders, f"{docname}: no static-twin slider (input[type=range]) in its outputs"


def _pages_with(built_site, predicate):
    return [d for d in TOC if built_site.page(d).exists() and predicate(parse_html(built_site.page(d)))]


def test_solutions_unfold_on_click(built_site, visit):
    pages = _pages_with(built_site, lambda doc: any("tag_hide-input" in el.classes for el in doc.elements))
    if not pages:
        pytest.skip("no chapter has a hide-input solution cell yet")
    page = visit.open(pages[0])
    cell = page.locator(".tag_hide-input").first
    source = cell.locator(".cell_input")
    assert not source.is_visible(), f"{pages[0]}: a solution is visible before it is unfolded"
    summary = cell.locator("summary").first
    assert summary.get_attribute("aria-label") is None, "the solution toggle's label hides its visible words"
    summary.click()
    source.wait_for(state="visible")
    assert not visit.problems(), visit.problems()


def test_search_works_offline(built_site, visit):
    """The search dialog (Ctrl+K on any page) sends the query to search.html, which finds it."""
    page = visit.open(CHAPTERS[0] if built_site.page(CHAPTERS[0]).exists() else TOC[0])
    page.keyboard.press("Control+k")
    page.keyboard.type("perceptron")
    page.keyboard.press("Enter")
    page.wait_for_selector("#search-results li")
    assert page.url.split("?")[0].endswith("/search.html"), f"the search went to {page.url}"
    assert page.locator("#search-results li").count(), "searching for 'perceptron' finds nothing"
    assert not visit.problems(), visit.problems()


def test_requests_to_other_hosts_are_recorded_and_fail(visit):
    """The guard behind every page check: a request off this machine is seen, and goes nowhere."""
    page = visit.page
    page.set_content('<img src="http://example.org/picture.png" alt="a picture from elsewhere">')
    page.wait_for_function("() => document.images[0].complete")
    assert visit.external == ["http://example.org/picture.png"]
    assert page.evaluate("() => document.images[0].naturalWidth") == 0, "the other host answered"


def test_contrast_is_checked_for_every_look_of_text(visit):
    """The survey measures colour contrast on one text of each look: a pale paragraph among
    many dark ones, and a pale link inside a dark paragraph, are still found."""
    page = visit.page
    dark = "".join(f"<p>Paragraph {i} in the body text colour.</p>" for i in range(30))
    page.set_content(f"""<html lang="en"><head><title>t</title></head><body><main>{dark}
        <p style="color: #bbb">A pale paragraph.</p>
        <p>A dark paragraph with <a href="#x" style="color: #ccc">a pale link</a> in it.</p>
        </main></body></html>""")
    found = {rule: nodes for rule, _, _, nodes in axe_violations_without_code_and_maths(page)}
    assert "color-contrast" in found, found
    assert len(found["color-contrast"]) == 2, found["color-contrast"]
    assert not page.locator("[data-introdl-same-look]").count(), "the marks stay on the page"
