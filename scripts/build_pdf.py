"""The whole book as one PDF, printed by Chromium from the built website, offline.

    python scripts/build_pdf.py                       # _build/html -> _build/html/introdl.pdf
    python scripts/build_pdf.py --site DIR --out FILE

Run it after ``jupyter-book build .`` (the README's first command does both).  The PDF lands in
the site folder, so the website's "Download the book (PDF)" link, on every page, finds it.

How: the built site is served on 127.0.0.1 and opened in Debian's Chromium (the browser the
tests use) through Playwright.  In one tab, the article of every page of _toc.yml, in reading
order, is put together into one document behind a title page and a table of contents; links
between pages become links inside the PDF; MathJax typesets the maths; Chromium prints it (A4,
page numbers, a bookmark outline from the headings).  The site's print stylesheet
(book/_static/site.css, ``@media print``) hides the page furniture and shows each explorer as
the one frame its page opens with.  Nothing is fetched from another host: such a request is
aborted and the build fails.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from book_toc import toc_docnames  # scripts/book_toc.py, next to this file

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("INTRODL_CHROMIUM", "/usr/bin/chromium"))
PDF_NAME = "introdl.pdf"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


# Runs in the page: replace the page's body by the articles of all pages, in order.
_ASSEMBLE = """async ([docnames, title]) => {
    const here = new URL(document.baseURI);
    const root = new URL(document.documentElement.dataset.content_root || './', here);
    const key = (url) => { const u = new URL(url, here); return u.pathname.replace(/\\.html$/, ''); };
    const ids = new Map(docnames.map((d, i) => [key(new URL(d + '.html', root)), 'p' + i]));
    const parts = [];
    for (const [i, docname] of docnames.entries()) {
        const url = new URL(docname + '.html', root);
        const response = await fetch(url);
        if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
        const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
        const article = doc.querySelector('article.bd-article');
        if (!article) throw new Error(`${url}: no <article class="bd-article">`);
        const prefix = 'p' + i + '-';
        // Ids become unique across the book; links to another page become links inside it.
        article.querySelectorAll('[id]').forEach(el => { el.id = prefix + el.id; });
        article.querySelectorAll('a[href]').forEach(a => {
            const href = a.getAttribute('href');
            if (/^[a-z]+:/i.test(href) && !href.startsWith(root.origin)) return;  // external
            const target = new URL(href, url);
            if (target.origin !== root.origin) return;
            const page = ids.get(key(target));
            if (page === undefined) { a.removeAttribute('href'); return; }
            a.setAttribute('href', target.hash ? '#' + page + '-' + target.hash.slice(1) : '#' + page);
        });
        // Images are fetched now (not lazily), relative to this page's folder.
        article.querySelectorAll('img').forEach(img => {
            img.loading = 'eager';
            const src = img.getAttribute('src');
            if (src && !src.startsWith('data:')) img.src = new URL(src, url).href;
        });
        const section = document.createElement('section');
        section.className = 'introdl-print-page';
        section.id = 'p' + i;
        section.append(...article.childNodes);
        parts.push(section);
    }
    // The title page and the contents.
    const front = document.createElement('section');
    front.className = 'introdl-print-front';
    const h = document.createElement('p');
    h.className = 'introdl-print-title';
    h.textContent = title;
    front.append(h);
    const contents = document.createElement("ul");
    contents.className = 'introdl-print-contents';
    parts.forEach(section => {
        const heading = section.querySelector('h1');
        if (!heading) return;
        const li = document.createElement('li');
        const a = document.createElement('a');
        a.href = '#' + section.id;
        a.textContent = heading.textContent.replace(/#$/, '').trim();
        li.append(a);
        contents.append(li);
    });
    front.append(contents);
    const main = document.createElement('main');
    main.className = 'introdl-print';
    main.append(front, ...parts);
    document.body.replaceChildren(main);
    document.body.classList.add('introdl-print-body');
    // Maths, then every image.
    if (window.MathJax && MathJax.typesetPromise) {
        await MathJax.startup.promise;
        MathJax.typesetClear();
        await MathJax.typesetPromise([main]);
    }
    await Promise.all(Array.from(document.images).map(img => img.complete ? null : new Promise(done => {
        img.addEventListener('load', done, {once: true});
        img.addEventListener('error', done, {once: true});
    })));
    return {
        pages: parts.length,
        raw_math: main.querySelectorAll('.math:not(:has(mjx-container))').length,
        broken_images: Array.from(document.images).filter(img => !img.naturalWidth).map(img => img.src.slice(0, 80)),
    };
}"""


def build_pdf(site: Path, out: Path, *, root: Path = REPO, chromium: Path = CHROMIUM) -> dict:
    """Print the built website ``site`` (a folder with index.html) into the PDF ``out``.

    Returns what was printed: {"pages": number of web pages, "seconds": ..., "bytes": ...}.
    Raises RuntimeError if a page is missing, maths stays untypeset, an image does not
    display or anything is requested from another host.
    """
    from playwright.sync_api import sync_playwright

    site, out = Path(site).resolve(), Path(out).resolve()
    if not (site / "index.html").is_file():
        raise RuntimeError(f"{site} holds no built website (no index.html): run jupyter-book build first")
    if not chromium.exists():
        raise RuntimeError(f"{chromium} not found: install Debian's Chromium (apt-get install chromium)")
    docnames = toc_docnames(root)
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    title = config.get("title", "")
    start = time.perf_counter()

    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    external = []

    def route(r):
        parts = urlsplit(r.request.url)
        if parts.scheme in ("data", "blob", "about") or (parts.hostname or "") in LOCAL_HOSTS:
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort("blockedbyclient")

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(chromium), headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            )
            try:
                context = browser.new_context(viewport={"width": 1000, "height": 1400}, service_workers="block")
                context.set_default_timeout(120_000)
                context.route("**/*", route)
                page = context.new_page()
                page.goto(url + f"{docnames[0]}.html", wait_until="networkidle")
                page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
                done = page.evaluate(_ASSEMBLE, [docnames, title])
                if done["raw_math"] or done["broken_images"]:
                    raise RuntimeError(f"the assembled book is incomplete: {done}")
                page.emulate_media(media="print")
                out.parent.mkdir(parents=True, exist_ok=True)
                page.pdf(
                    path=str(out), format="A4", print_background=True, outline=True, tagged=True,
                    margin={"top": "16mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
                    display_header_footer=True,
                    header_template="<span></span>",
                    footer_template=(
                        '<div style="font-size:8px;width:100%;text-align:center;color:#555">'
                        '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
                    ),
                )
            finally:
                browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    if external:
        raise RuntimeError(f"the book asked for pages from another host: {external[:5]}")
    return {"pages": done["pages"], "seconds": time.perf_counter() - start, "bytes": out.stat().st_size}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=REPO / "_build" / "html",
                        help="the built website (default: _build/html)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"the PDF to write (default: SITE/{PDF_NAME}, where the website links to it)")
    args = parser.parse_args(argv)
    out = args.out or args.site / PDF_NAME
    if not CHROMIUM.exists() and os.environ.get("CI", "").lower() not in ("true", "1"):
        # Without Debian's Chromium the website is still complete; only its PDF link waits.
        print(f"build_pdf: no PDF made: {CHROMIUM} not found. The website in {args.site} is built; "
              "for the PDF install Debian's Chromium and poppler-utils (sudo apt-get install chromium "
              "poppler-utils) and run .venv/bin/python scripts/build_pdf.py again, or point "
              "INTRODL_CHROMIUM at another Chromium or Chrome binary.")
        return
    try:
        result = build_pdf(args.site, out, chromium=CHROMIUM)
    except RuntimeError as error:
        sys.exit(f"build_pdf: {error}")
    print(f"{out}: {result['bytes'] / 1e6:.1f} MB, {result['pages']} web pages, "
          f"printed in {result['seconds']:.0f} s")


if __name__ == "__main__":
    main()
