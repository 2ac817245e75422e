"""The chapters' Markdown reads cleanly where students run them (JupyterLab, Colab, Binder).

Those front ends render CommonMark, not MyST: a `{doc}` role, a `:::{warning}` fence or a
`(label)=` target shows there as raw text. The chapters use what both understand: Markdown links
to the chapter files (with heading anchors, myst_heading_anchors in _config.yml) and block quotes
for boxed notes.
"""
import json
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parent.parent / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))

MYST_ONLY = {
    "a role such as {doc}`...` or {ref}`...`": re.compile(r"\{[a-z]+\}`"),
    "a directive fence such as :::{note} or ```{note}": re.compile(r"^\s*(:::|```)\s*\{", re.M),
    "a target such as (label)=": re.compile(r"^\([\w-]+\)=\s*$", re.M),
}


def markdown_cells(path):
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            yield cell.get("id"), "".join(cell["source"])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_myst_only_markup(path):
    found = [f"cell {cell_id}: {what}: {pattern.search(text).group(0)!r}"
             for cell_id, text in markdown_cells(path)
             for what, pattern in MYST_ONLY.items() if pattern.search(text)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_links_to_chapters_name_files_that_exist(path):
    for cell_id, text in markdown_cells(path):
        for target in re.findall(r"\]\(([^)#\s]+\.(?:ipynb|md))(?:#[^)]*)?\)", text):
            assert (BOOK / target).exists(), f"cell {cell_id} links to {target}, which is not in book/"
