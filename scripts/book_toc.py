"""The book's table of contents, _toc.yml (Jupyter Book 1.x's format), read in one place.

Used by scripts/build_pdf.py (the pages of the PDF, in order) and by the site tests
(tests/_site.py). Docnames are paths without their suffix, e.g. 'book/01_perceptron'.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml


def _docname(file: str) -> str:
    return re.sub(r"\.(md|ipynb)$", "", file)


def _files(node):
    """The files under one _toc.yml node (a part, a chapter or a section), in order."""
    if "file" in node:
        yield node["file"]
    for key in ("parts", "chapters", "sections"):
        for child in node.get(key, []) or []:
            yield from _files(child)


def read_toc(root: Path) -> dict:
    return yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))


def toc_docnames(root: Path) -> list[str]:
    """Every document of _toc.yml, root first, in reading order."""
    toc = read_toc(root)
    return [_docname(name) for name in [toc["root"], *_files(toc)]]


def numbered_chapters(root: Path) -> dict[str, int]:
    """docname -> chapter number, for the chapters of the numbered parts (1, 2, ... straight on,
    as ``use_multitoc_numbering`` numbers them)."""
    toc = read_toc(root)
    numbers: dict[str, int] = {}
    for part in toc.get("parts", []):
        if part.get("numbered") or toc.get("options", {}).get("numbered"):
            for chapter in part.get("chapters", []):
                numbers[_docname(chapter["file"])] = len(numbers) + 1
    return numbers
