"""The built website, shared by tests/test_book.py and tests/test_browser.py.

The README's first command builds the book into _build/html with ``-W -n --keep-going``, and
book/_ext/build_record.py writes that build's warning count to _build/build-record.json.  When
that record is newer than every source of the book and the build was clean, the tests read that
site (building the book takes a quarter of a minute of two cores).  Otherwise the book is built
once per pytest session, exactly as the README says to build it:

    jupyter-book build <book root> --path-output <tmp> -W -n --keep-going

into a temporary folder, so the working tree is never written to.  Both test modules import the
``built_site`` fixture from here (pyproject.toml puts tests/ on the path)::

    from _site import built_site  # noqa: F401  (a pytest fixture)

pytest registers an imported fixture once per importing module, so the build result is cached in
this module as well: the two registrations share one build.

The book root is the repository root, or ``$INTRODL_BOOK_ROOT`` when that is set (to test the
configuration against a copy of the book, e.g. one with extra notebooks).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import book_toc  # scripts/book_toc.py (pyproject.toml puts scripts/ on the tests' path)
import pytest

REPO = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

# Notebook outputs that must carry a static twin (text/html with a range slider), by docname.
STATIC_TWIN_PAGES = ("book/07_learning_rate", "book/11_regularization")

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Sphinx's own log lines for problems: "path:line: WARNING: ...", "ERROR: ...", etc.
_PROBLEM = re.compile(r"\b(WARNING|ERROR|CRITICAL|SEVERE)\b[:(]")


def book_root() -> Path:
    return Path(os.environ.get("INTRODL_BOOK_ROOT", REPO)).resolve()


# --------------------------------------------------------------------------------------------
# The table of contents (scripts/book_toc.py reads it, for the PDF as well)


def toc_docnames(root: Path | None = None) -> list[str]:
    """Every document in _toc.yml, root first, in reading order (e.g. 'book/01_perceptron')."""
    return book_toc.toc_docnames(root or book_root())


def numbered_chapters(root: Path | None = None) -> dict[str, int]:
    """docname -> chapter number for the chapters of the numbered parts (1, 2, ... straight on)."""
    return book_toc.numbered_chapters(root or book_root())


# --------------------------------------------------------------------------------------------
# The build


@dataclass
class Site:
    root: Path  # the book root that was built
    html: Path  # the HTML output folder
    returncode: int
    log: str  # stdout and stderr of the build, colour codes removed
    seconds: float
    docnames: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """The build log's warning and error lines."""
        return [line for line in self.log.splitlines() if _PROBLEM.search(line)]

    def page(self, docname: str) -> Path:
        return self.html / f"{docname}.html"

    def pages(self) -> list[Path]:
        """Every HTML page of the site (the theme's template fragments in _static excluded)."""
        return sorted(
            p
            for p in self.html.rglob("*.html")
            if p.relative_to(self.html).parts[0] not in ("_static", "_sources")
        )


def _jupyter_book_command() -> list[str]:
    script = Path(sys.executable).with_name("jupyter-book")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from jupyter_book.cli.main import main; main()"]


def build(root: Path, out: Path) -> Site:
    command = _jupyter_book_command() + [
        "build", str(root), "--path-output", str(out), "-W", "-n", "--keep-going",
    ]
    env = dict(os.environ, NO_COLOR="1", PYTHONUNBUFFERED="1")
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, encoding="utf-8", errors="replace", check=False,
    )
    seconds = time.perf_counter() - start
    return Site(
        root=root,
        html=out / "_build" / "html",
        returncode=done.returncode,
        log=_ANSI.sub("", done.stdout),
        seconds=seconds,
        docnames=toc_docnames(root),
    )


def newer_than_every_source(path: Path, root: Path | None = None) -> bool:
    """Whether ``path`` exists and is newer than every file of the book's repository (tracked,
    or untracked and not ignored): then it was made from the sources as they are."""
    root = root or book_root()
    if not path.exists():
        return False
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=root, capture_output=True, text=True)
    if listed.returncode != 0:
        return False
    sources = [root / name for name in listed.stdout.split("\0") if name]
    newest = max((source.stat().st_mtime for source in sources if source.exists()), default=float("inf"))
    return path.stat().st_mtime > newest


def readme_build(root: Path) -> Site | None:
    """The site that the README's first command built in <root>/_build, if it can stand for a
    build of the sources as they are: book/_ext/build_record.py's record of that build is newer
    than every source and says it was nitpicky (-n), finished and gave no warning.  Else None."""
    record_path = root / "_build" / "build-record.json"
    html = root / "_build" / "html"
    if not ((html / "index.html").exists() and newer_than_every_source(record_path, root)):
        return None
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if record.get("warnings") != 0 or not record.get("nitpicky") or record.get("error"):
        return None
    return Site(root=root, html=html, returncode=0, seconds=0.0, docnames=toc_docnames(root),
                log=f"(the README's build in {html}: {record_path.name} says {record})")


_BUILDS: dict[Path, Site] = {}


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Site:
    """The book as the README's first command built it, when that build is newer than every
    source and clean; else the book built once per session into a temporary folder (see the
    module docstring)."""
    root = book_root()
    if root not in _BUILDS:
        _BUILDS[root] = readme_build(root) or build(root, tmp_path_factory.mktemp("book"))
    site = _BUILDS[root]
    if not (site.html / "index.html").exists():
        pytest.fail(
            f"jupyter-book produced no site (exit {site.returncode}); its log ends:\n"
            + "\n".join(site.log.splitlines()[-40:])
        )
    return site


# --------------------------------------------------------------------------------------------
# Reading the HTML


class Element:
    __slots__ = ("tag", "attrs", "classes", "ancestors")

    def __init__(self, tag, attrs, ancestors):
        self.tag = tag
        self.attrs = {k: (v or "") for k, v in attrs}
        self.classes = set(self.attrs.get("class", "").split())
        self.ancestors = ancestors  # list of (tag, classes), outermost first

    def inside(self, cls: str) -> bool:
        return any(cls in classes for _, classes in self.ancestors)


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
         "source", "track", "wbr"}


class _Collector(HTMLParser):
    """Every start tag with its attributes and ancestors; inline <script>/<style> bodies."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.inline_scripts: list[str] = []
        self.inline_styles: list[str] = []
        self._stack: list[tuple[str, set]] = []
        self._text_target = None

    def handle_starttag(self, tag, attrs):
        element = Element(tag, attrs, list(self._stack))
        self.elements.append(element)
        if tag in ("script", "style"):
            self._text_target = (tag, element)
        if tag not in _VOID:
            self._stack.append((tag, element.classes))

    def handle_startendtag(self, tag, attrs):
        self.elements.append(Element(tag, attrs, list(self._stack)))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._text_target = None
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data):
        if self._text_target:
            tag, element = self._text_target
            if tag == "script" and not element.attrs.get("src"):
                self.inline_scripts.append(data)
            elif tag == "style":
                self.inline_styles.append(data)


def parse_html(path: Path) -> _Collector:
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8"))
    collector.close()
    return collector


def is_external(url: str) -> bool:
    """True for a URL that points to another host (http(s)://host/... or //host/...)."""
    url = url.strip()
    if url.startswith("//"):
        url = "http:" + url
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https", "ws", "wss", "ftp"):
        return False
    return (parts.hostname or "") not in LOCAL_HOSTS


CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""", re.I)


def css_urls(text: str) -> list[str]:
    return [m.group(2) or m.group(4) for m in CSS_URL.finditer(text)]
