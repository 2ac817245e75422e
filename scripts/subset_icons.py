"""Write the few Font Awesome icons the website draws into a small font of their own.

    python scripts/subset_icons.py        # writes book/_static/fonts/icons.woff

The theme (pydata-sphinx-theme) draws its icons with Font Awesome's solid web font, 156 KB,
for the dozen icons a page of this book shows.  This script keeps just those glyphs of the
theme's own font file (installed with the theme) and writes them to book/_static/fonts/;
book/_static/site.css declares that file as the "Font Awesome 6 Free" solid face, after the
theme's stylesheet, so the browser fetches it instead of the full font.

Run it again after upgrading the theme or using another icon; tests/test_book.py fails when a
page shows an icon that the small font lacks.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "book" / "_static" / "fonts" / "icons.woff"

# The icons the pages use (the theme's templates and scripts, the book's templates), by
# Font Awesome class name.  "code-branch" stands in for the GitHub mark (see site.css).
ICONS = [
    "angle-left", "angle-right", "angle-down", "arrow-up", "bars", "circle-half-stroke",
    "code", "code-branch", "compress", "download", "expand", "file", "file-lines", "file-pdf",
    "house", "lightbulb", "list", "magnifying-glass", "moon", "outdent", "pencil", "play",
    "rocket", "sun", "xmark", "link", "copy", "check",
]


def theme_files():
    import pydata_sphinx_theme

    static = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
    return static / "styles" / "pydata-sphinx-theme.css", static / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.ttf"


def icon_codepoints(css: str) -> dict[str, int]:
    """Font Awesome class name (without "fa-") -> code point, from the theme's stylesheet."""
    points = {}
    for selectors, code in re.findall(r"((?:\.fa-[a-z0-9-]+:before,?)+)\{content:\"\\([0-9a-f]+)\"\}", css):
        for name in re.findall(r"\.fa-([a-z0-9-]+):before", selectors):
            points[name] = int(code, 16)
    return points


def theme_codepoints(css: str) -> set[int]:
    """Code points the theme's CSS draws itself: its --pst-icon-* variables and content rules."""
    points = {ord(ch) for ch in re.findall(r"--pst-icon-[a-z-]+:\"(.)\"", css)}
    own_rules = re.sub(r"(?:\.fa-[a-z0-9-]+:before,?)+\{content:\"[^\"]*\"\}", "", css)  # not the icon classes
    points |= {int(code, 16) for code in re.findall(r"content:\"\\(f[0-9a-f]{3})\"", own_rules)}
    return points


def wanted_codepoints() -> set[int]:
    css_path, _ = theme_files()
    css = css_path.read_text(encoding="utf-8")
    points = icon_codepoints(css)
    unknown = [name for name in ICONS if name not in points]
    if unknown:
        raise SystemExit(f"subset_icons: Font Awesome has no icon named {unknown}")
    return {points[name] for name in ICONS} | theme_codepoints(css)


def main():
    from fontTools import subset

    _, font = theme_files()
    codepoints = sorted(wanted_codepoints())
    options = subset.Options()
    options.flavor = "woff"  # zlib; woff2 would need the brotli package
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    ttfont = subset.load_font(str(font), options)
    subsetter.populate(unicodes=codepoints)
    subsetter.subset(ttfont)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(ttfont, str(OUT), options)
    print(f"{OUT.relative_to(REPO)}: {len(codepoints)} glyphs, {OUT.stat().st_size / 1e3:.1f} KB "
          f"(from {font.name}, {font.stat().st_size / 1e3:.0f} KB)")


if __name__ == "__main__":
    sys.exit(main())
