"""The website builds cleanly and is self-contained.

The README's build when it is newer than every source and clean, else one build per session
(see tests/_site.py): ``jupyter-book build <root> --path-output <tmp> -W -n --keep-going``.
These tests read the HTML; tests/test_browser.py opens the same pages in a browser.
"""
import re
import sys
from pathlib import Path

import pytest
import yaml

from _site import (
    STATIC_TWIN_PAGES,
    book_root,
    built_site,  # noqa: F401  (a pytest fixture)
    css_urls,
    is_external,
    newer_than_every_source,
    numbered_chapters,
    parse_html,
    toc_docnames,
)

TOC = toc_docnames()
NUMBERED = numbered_chapters()
REPOSITORY = "introdl-book/introdl"
BRANCH = "main"


def _rel(site, path):
    return path.relative_to(site.html).as_posix()


def test_build_succeeds_without_warnings(built_site):
    problems = "\n".join(built_site.problems)
    assert built_site.returncode == 0 and not problems, (
        f"`jupyter-book build -W -n --keep-going` exited {built_site.returncode} "
        f"after {built_site.seconds:.0f} s with these problems:\n{problems or built_site.log[-3000:]}"
    )


@pytest.mark.parametrize("docname", TOC)
def test_every_toc_document_has_a_page(built_site, docname):
    sources = [book_root() / f"{docname}{ext}" for ext in (".md", ".ipynb")]
    assert any(s.exists() for s in sources), f"_toc.yml lists {docname}, but neither {docname}.md nor .ipynb exists"
    assert built_site.page(docname).exists(), f"no HTML page for {docname}"


@pytest.mark.parametrize("docname", sorted(NUMBERED))
def test_chapter_heading_is_numbered_by_the_toc(built_site, docname):
    """One <h1> per chapter page, 'N. Title': the number comes from _toc.yml, not the notebook."""
    page = built_site.page(docname)
    if not page.exists():
        pytest.fail(f"no HTML page for {docname} (see test_every_toc_document_has_a_page)")
    html = page.read_text(encoding="utf-8")
    article = re.search(r"<article\b[^>]*bd-article.*?</article>", html, flags=re.S)
    assert article, f"{docname}: no <article class=bd-article> (has the theme changed?)"
    h1s = re.findall(r"<h1\b[^>]*>(.*?)</h1>", article.group(0), flags=re.S)
    assert len(h1s) == 1, f"{docname}: expected exactly one '# Title' heading, found {len(h1s)}"
    number = re.search(r'<span class="section-number">([^<]*)</span>', h1s[0])
    assert number and number.group(1).strip() == f"{NUMBERED[docname]}.", (
        f"{docname}: heading should be numbered {NUMBERED[docname]}. by the toc, got {h1s[0]!r}"
    )
    title = re.sub(r"<[^>]+>", "", h1s[0].replace(number.group(0), "")).replace("#", "").strip()
    assert title and not re.match(r"(?i)(chapter\s*)?\d+\s*[.:)\-]", title), (
        f"{docname}: the notebook's heading {title!r} carries its own number; the toc numbers chapters"
    )


def _external_references(site, path):
    """(what, url) for every resource a page would fetch from another host."""
    doc = parse_html(path)
    found = []
    for el in doc.elements:
        a = el.attrs
        candidates = []
        if el.tag in ("script", "img", "iframe", "embed", "audio", "video", "source", "track", "input"):
            candidates.append(a.get("src", ""))
        if el.tag in ("img", "source"):
            candidates += [part.strip().split(" ")[0] for part in a.get("srcset", "").split(",")]
        if el.tag == "object":
            candidates.append(a.get("data", ""))
        if el.tag == "video":
            candidates.append(a.get("poster", ""))
        if el.tag == "link":
            rel = set(a.get("rel", "").lower().split())
            if rel & {"stylesheet", "preload", "modulepreload", "prefetch", "preconnect",
                      "dns-prefetch", "icon", "shortcut", "apple-touch-icon", "manifest", "mask-icon"}:
                candidates.append(a.get("href", ""))
        if "style" in a:
            candidates += css_urls(a["style"])
        found += [(f"<{el.tag}>", url) for url in candidates if url and is_external(url)]
    for css in doc.inline_styles:
        found += [("<style>", url) for url in css_urls(css) if is_external(url)]
    return found


def test_no_page_loads_anything_from_another_host(built_site):
    pages = built_site.pages()
    assert pages, "the build wrote no HTML page"
    offending = {
        _rel(built_site, page): refs for page in pages if (refs := _external_references(built_site, page))
    }
    assert not offending, f"pages that would fetch from another host: {offending}"


def test_site_css_loads_nothing_from_another_host(built_site):
    offending = {}
    for css in sorted((built_site.html / "_static").rglob("*.css")):
        urls = [u for u in css_urls(css.read_text(encoding="utf-8", errors="replace")) if is_external(u)]
        if urls:
            offending[_rel(built_site, css)] = urls
    assert not offending, f"stylesheets that would fetch from another host: {offending}"


def test_no_widget_javascript_from_a_cdn(built_site):
    """myst-nb's ipywidgets loaders (require.js, @jupyter-widgets/html-manager) are not used."""
    for page in built_site.pages():
        html = page.read_text(encoding="utf-8")
        for marker in ("require.min.js", "html-manager", "embed-amd.js", "application/vnd.jupyter.widget-view+json"):
            assert marker not in html, f"{_rel(built_site, page)} contains {marker!r}"


def test_mathjax_is_served_from_the_site(built_site):
    """Pages with maths load MathJax's loader from _static/mathjax, and every part it loads is there.

    _templates/layout.html loads mathjax/startup.js (the loader) rather than the combined
    tex-chtml.js; mathjax3_config.loader.load in _config.yml names the parts it fetches.
    """
    static = built_site.html / "_static" / "mathjax"
    loader = static / "startup.js"
    assert loader.is_file(), "_static/mathjax/startup.js is missing"
    config = yaml.safe_load((book_root() / "_config.yml").read_text(encoding="utf-8"))
    parts = config["sphinx"]["config"]["mathjax3_config"]["loader"]["load"]
    missing = [p for p in parts if not (static / f"{p}.js").is_file()]
    assert not missing, f"MathJax parts named in _config.yml but not in _static/mathjax: {missing}"
    fonts = list((static / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert fonts, "MathJax's CHTML fonts are missing from _static/mathjax"
    pages_with_math = 0
    for page in built_site.pages():
        doc = parse_html(page)
        if not any("math" in el.classes for el in doc.elements):
            continue
        pages_with_math += 1
        srcs = [el.attrs.get("src", "") for el in doc.elements if el.tag == "script"]
        mathjax = [s for s in srcs if "mathjax" in s.lower() or "tex-" in s.lower()]
        assert mathjax, f"{_rel(built_site, page)} has math but loads no MathJax"
        for src in mathjax:
            target = (page.parent / src.split("?")[0]).resolve()
            assert target == loader.resolve(), (
                f"{_rel(built_site, page)} loads MathJax from {src}, not _static/mathjax/startup.js"
            )
    assert pages_with_math, "no page has math (the introduction should)"


def test_static_twins_replace_widgets(built_site):
    """A widget output shows its text/html twin: a range slider, frames and an inline script."""
    present = [d for d in STATIC_TWIN_PAGES if built_site.page(d).exists()]
    if not present:
        pytest.skip(f"none of {', '.join(STATIC_TWIN_PAGES)} exists yet")
    for docname in present:
        doc = parse_html(built_site.page(docname))
        sliders = [el for el in doc.elements
                   if el.tag == "input" and el.attrs.get("type") == "range" and el.inside("cell_output")]
        assert sliders, f"{docname}: no static twin (an <input type=range> in a cell output)"
        assert all(el.inside("text_html") for el in sliders), f"{docname}: slider outside a text/html output"
        scripts = [el for el in doc.elements
                   if el.tag == "script" and not el.attrs.get("src") and el.inside("cell_output")]
        assert scripts, f"{docname}: the static twin's inline <script> did not survive into the page"


def test_solution_cells_are_folded(built_site):
    """Cells tagged hide-input render their source inside a closed <details> toggle."""
    found = 0
    for page in built_site.pages():
        doc = parse_html(page)
        for el in doc.elements:
            if el.tag == "div" and "cell_input" in el.classes and el.inside("tag_hide-input"):
                found += 1
                details = [tag for tag, classes in el.ancestors if tag == "details" and "hide" in classes]
                assert details, f"{_rel(built_site, page)}: a hide-input cell's source is not folded"
        for el in doc.elements:
            if el.tag == "details" and "hide" in el.classes and el.inside("tag_hide-input"):
                assert "open" not in el.attrs, f"{_rel(built_site, page)}: a solution is unfolded"
    if not found:
        pytest.skip("no chapter has a hide-input solution cell yet")


@pytest.mark.parametrize("docname", [d for d in TOC if d.split("/")[-1][:2].isdigit()])
def test_chapters_have_binder_and_colab_buttons(built_site, docname):
    page = built_site.page(docname)
    if not page.exists():
        pytest.fail(f"no HTML page for {docname} (see test_every_toc_document_has_a_page)")
    hrefs = {el.attrs.get("href", "") for el in parse_html(page).elements if el.tag == "a"}
    binder = f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?urlpath=lab/tree/{docname}.ipynb"
    colab = f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{docname}.ipynb"
    assert binder in hrefs, f"{docname}: no Binder launch link {binder}"
    assert colab in hrefs, f"{docname}: no Colab launch link {colab}"


def test_appendix_includes_the_benchmark_results(built_site):
    results = book_root() / "benchmarks" / "results.md"
    assert results.exists(), "benchmarks/results.md is missing (the appendix includes it)"
    page = built_site.page("book/appendix_benchmarks")
    assert page.exists(), "no HTML page for the benchmarks appendix"
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))
    source = re.sub(r"\]\([^)]*\)", " ", results.read_text(encoding="utf-8"))  # [text](url) -> text
    source = re.sub(r"<[^>]+>|https?://\S+|\$[^$]*\$", " ", source)  # no tags, URLs or maths
    words = re.findall(r"[A-Za-z]{4,}", source)
    probe = " ".join(words[:3])
    assert words and all(w in text for w in words[:12]), f"the appendix does not show benchmarks/results.md ({probe}...)"


def _fresh_readme_pdf():
    """The PDF that the README's first command printed (_build/html/introdl.pdf), if it is newer
    than every file of the repository (tracked, or untracked and not ignored); else None.

    Printing the book takes Chromium half a minute, and the README's first command has just
    done it from the same sources; a PDF older than any source is never used.
    """
    pdf = book_root() / "_build" / "html" / "introdl.pdf"
    return pdf if newer_than_every_source(pdf) else None


def test_pdf_holds_every_chapter(built_site, tmp_path):
    """scripts/build_pdf.py prints the whole book: every page's title, its maths and figures.

    The PDF read is the README's (when it is newer than every source) or one printed from this
    session's build, so it is never stale; Debian's Chromium prints it, and pdftotext and
    pdfimages (Debian's poppler-utils) read it back.
    """
    import os
    import shutil
    import subprocess

    missing = [tool for tool in ("pdftotext", "pdfimages", "pdfinfo") if not shutil.which(tool)]
    chromium = Path(os.environ.get("INTRODL_CHROMIUM", "/usr/bin/chromium"))
    if missing or not chromium.exists():
        reason = f"needs Chromium ({chromium}) and poppler-utils ({', '.join(missing) or 'present'})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so the PDF test must run", pytrace=False)
        pytest.skip(reason)
    from build_pdf import build_pdf

    pdf = _fresh_readme_pdf()
    if pdf is None:  # none, or older than a source: print one from this session's build
        pdf = tmp_path / "introdl.pdf"
        result = build_pdf(built_site.html, pdf, root=book_root(), chromium=chromium)
        assert result["pages"] == len(TOC), f"the PDF holds {result['pages']} web pages, _toc.yml lists {len(TOC)}"

    def run(*command):
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    text = re.sub(r"\s+", " ", run("pdftotext", "-enc", "UTF-8", str(pdf), "-"))
    titles = {}
    for docname in TOC:
        h1 = re.search(r"<h1\b[^>]*>(.*?)</h1>", built_site.page(docname).read_text(encoding="utf-8"), re.S)
        titles[docname] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>|#", " ", h1.group(1))).strip() if h1 else ""
    absent = [f"{d} ({t!r})" for d, t in titles.items() if not t or t not in text]
    assert not absent, f"the PDF lacks these pages' titles: {absent}"
    raw_tex = re.findall(r"\\\(|\\\[|\\begin\{", text)
    assert not raw_tex, f"maths left as TeX source in the PDF: {len(raw_tex)} places"
    figures = 0  # raster images in the pages' articles (vector ones print as drawings)
    for docname in TOC:
        html = built_site.page(docname).read_text(encoding="utf-8")
        article = re.search(r"<article\b.*?</article>", html, re.S)
        figures += len(re.findall(r"<img\b[^>]*\bsrc=\"(?:data:image/png|[^\"]+\.png)", article.group(0) if article else ""))
    images = len(run("pdfimages", "-list", str(pdf)).splitlines()) - 2  # two header lines
    assert images >= figures, f"the PDF shows {images} images, the pages' articles hold {figures}"
    pages = int(re.search(r"Pages:\s+(\d+)", run("pdfinfo", str(pdf))).group(1))
    assert pages > len(TOC), f"the PDF has only {pages} pages"


def test_every_icon_is_in_the_small_icon_font(built_site):
    """Each Font Awesome icon a page shows has its glyph in book/_static/fonts/icons.woff.

    site.css replaces the theme's 156 KB icon font by that subset (scripts/subset_icons.py);
    an icon missing from it would show as an empty box.
    """
    from fontTools.ttLib import TTFont

    import subset_icons

    css_path, _ = subset_icons.theme_files()
    codepoints = subset_icons.icon_codepoints(css_path.read_text(encoding="utf-8"))
    font = built_site.html / "_static" / "fonts" / "icons.woff"
    assert font.is_file(), "the site has no _static/fonts/icons.woff"
    have = set(TTFont(str(font)).getBestCmap())
    modifiers = re.compile(r"^fa-(solid|regular|brands|lg|xs|sm|[0-9]+x|fw|spin|pulse|border|inverse)$")
    lacking = {}
    for page in built_site.pages():
        for el in parse_html(page).elements:
            for cls in el.classes:
                if not cls.startswith("fa-") or modifiers.match(cls) or "fab" in el.classes or "fa-brands" in el.classes:
                    continue
                name = cls[3:]
                if codepoints.get(name) not in have:
                    lacking.setdefault(name, _rel(built_site, page))
    assert not lacking, f"icons missing from fonts/icons.woff (add them to scripts/subset_icons.py): {lacking}"


def test_the_build_record_counts_the_warnings(tmp_path):
    """book/_ext/build_record.py, which lets the tests above read the README's build: a build
    with a warning records it, and only a clean build records none."""
    import json
    import os
    import subprocess

    source, out = tmp_path / "source", tmp_path / "_build" / "html"
    source.mkdir()
    extensions = (book_root() / "book" / "_ext").as_posix()
    (source / "conf.py").write_text("extensions = ['build_record']\n", encoding="utf-8")
    record = tmp_path / "_build" / "build-record.json"
    for text, warnings in (":ref:`a-label-that-does-not-exist`", 1), ("Nothing to warn about.", 0):
        (source / "index.rst").write_text(f"Title\n=====\n\n{text}\n", encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-E", "-q", "-n", "-W",
                               "--keep-going", str(source), str(out)], capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=extensions))
        assert (done.returncode == 0) == (warnings == 0), done.stderr
        assert json.loads(record.read_text(encoding="utf-8")) == {"warnings": warnings, "nitpicky": True,
                                                                  "error": None}


def test_chapter_pages_leave_out_the_colab_setup_cell(built_site):
    """The chapters' setup cell (tagged remove-cell) does nothing outside Colab, so the website
    and the PDF printed from it leave it out: each chapter's first code is its own imports."""
    for docname in sorted(NUMBERED):
        html = built_site.page(docname).read_text(encoding="utf-8")
        assert "google.colab" not in html, f"{docname}: the Colab setup cell shows on the page"
        first_code = re.search(r'class="cell_input[^"]*".*?</pre>', html, re.S)
        assert first_code and re.search(r"\bimport\b", re.sub(r"<[^>]+>", "", first_code.group(0))), (
            f"{docname}: the first code on the page is not the chapter's imports")


def test_build_pdf_without_chromium_says_how_to_get_the_pdf(tmp_path, monkeypatch, capsys):
    """README command 1 on a machine without Debian's Chromium: the website is built, and the PDF
    step says how to get the PDF and ends without error; under CI the PDF is required."""
    import build_pdf

    monkeypatch.setattr(build_pdf, "CHROMIUM", tmp_path / "no-chromium")
    (tmp_path / "index.html").write_text("<html></html>", encoding="utf-8")  # a built site
    monkeypatch.delenv("CI", raising=False)
    build_pdf.main(["--site", str(tmp_path)])
    said = capsys.readouterr().out
    assert "no PDF made" in said and "apt-get install chromium" in said and "scripts/build_pdf.py" in said
    monkeypatch.setenv("CI", "true")
    with pytest.raises(SystemExit) as stopped:
        build_pdf.main(["--site", str(tmp_path)])
    assert "not found" in str(stopped.value.code)
