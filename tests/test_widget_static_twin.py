"""The explorers' static twin as a reader meets it: before and after its script runs, and aloud.

Small synthetic frames keep these tests fast; the explorers' own frames are tested in
test_widget_learning_rate.py and test_widget_dropout.py.
"""
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from introdl.widgets import Explorer, slider_html
from introdl.widgets.static_twin import palette_png

import execute_notebooks  # scripts/, on the tests' path (pyproject.toml)


def frame(shade):
    return palette_png(np.full((6, 8, 3), shade, dtype=np.uint8))


class Elements(HTMLParser):
    """Every start tag with its attributes and whether an ancestor (or itself) is hidden."""

    def __init__(self):
        super().__init__()
        self.stack, self.found = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # JupyterLab's sanitizer (an untrusted notebook) drops the hidden attribute but keeps
        # inline styles, so only display:none hides anything there.
        hidden = "display:none" in (attrs.get("style") or "").replace(" ", "") or any(h for _, h in self.stack)
        self.found.append((tag, attrs, hidden))
        if tag not in ("input", "img"):  # void elements
            self.stack.append((tag, hidden))

    def handle_endtag(self, tag):
        if tag not in ("input", "img") and self.stack:
            self.stack.pop()


def parse(page):
    parser = Elements()
    parser.feed(page)
    return parser.found


PAGE = slider_html([frame(0), frame(120), frame(250)], ["0.01", "0.1", "1"], description="learning rate η",
                   readouts=["slow", "converged", "diverged at step 3"], initial_index=1,
                   alt=["small step: slow", "η = 0.1: converged", "η = 1: diverged at step 3"])


def test_without_its_script_the_twin_shows_a_still_frame_and_says_what_to_run():
    # An untrusted notebook in JupyterLab strips <script>: what stays must not be a dead control.
    page = re.sub(r"<script>.*?</script>", "", PAGE, flags=re.S)
    elements = parse(page)
    (slider,) = [(attrs, hidden) for tag, attrs, hidden in elements if tag == "input"]
    assert slider[1], "the range input is visible although nothing can move it"
    images = [(attrs, hidden) for tag, attrs, hidden in elements if tag == "img"]
    assert len(images) == 1 and not images[0][1]
    assert images[0][0]["alt"] == "η = 0.1: converged"
    # The explorer's cell needs the cells before it: running it alone would fail with a NameError.
    assert "To move the slider, run the cells above and this one, or Run All." in page


def test_the_script_swaps_the_hidden_parts():
    script = re.search(r"<script>(.*?)</script>", PAGE, flags=re.S).group(1)
    assert 'querySelector(".introdl-explorer-note").style.display = "none"' in script
    assert 'querySelector(".introdl-explorer-controls").style.display = ""' in script
    assert " hidden" not in PAGE  # an attribute JupyterLab's sanitizer removes


def test_the_slider_names_its_value_the_readout_is_live_and_the_alt_follows_the_frame():
    elements = parse(PAGE)
    (slider,) = [attrs for tag, attrs, _ in elements if tag == "input"]
    assert slider["aria-valuetext"] == "learning rate η = 0.1"
    label = [attrs for tag, attrs, _ in elements if tag == "label"][0]
    assert label["for"] == slider["id"]
    readout = [attrs for tag, attrs, _ in elements if "introdl-explorer-readout" in attrs.get("class", "")][0]
    assert readout["aria-live"] == "polite"
    data = json.loads(re.search(r"var data = (\{.*\});", PAGE).group(1))
    assert data["valuetext"] == ["learning rate η = 0.01", "learning rate η = 0.1", "learning rate η = 1"]
    assert data["alt"][2] == ["η = 1: diverged at step 3"]
    script = re.search(r"<script>(.*?)</script>", PAGE, flags=re.S).group(1)
    assert "frames[j].alt = data.alt[k][j]" in script and 'setAttribute("aria-valuetext", data.valuetext[k])' in script


def test_panels_are_separate_images_that_wrap_and_each_has_an_alt_text():
    page = slider_html([[frame(0), frame(9)], [frame(120), frame(99)]], ["0", "1"], description="η",
                       alt=["a path", "another path"], panel_alts=["loss per step"])
    images = [attrs for tag, attrs, _ in parse(page) if tag == "img"]
    assert [img["alt"] for img in images] == ["a path", "loss per step, η = 0"]
    assert 'class="introdl-explorer-frames" style="display:flex;flex-wrap:wrap' in page
    assert all("max-width:100%" in img["style"] for img in images)
    with pytest.raises(ValueError, match="same number of panels"):
        slider_html([[frame(0), frame(9)], [frame(1)]], ["0", "1"], description="η", panel_alts=["x"])


def test_one_alt_text_and_readout_per_frame_or_a_clear_error():
    with pytest.raises(ValueError, match="one readout and one alt text per frame"):
        slider_html([frame(0), frame(1)], ["a", "b"], description="x", alt=["only one"])


def test_an_explorer_completes_its_alt_text_per_frame_and_explains_itself_in_plain_text():
    def render(value):
        return frame(int(value * 100))

    explorer = Explorer(render, [0.5, 1.0, 2.0], description="dropout rate p", initial=1.0,
                        readout=lambda v: f"gap {v / 10:.2f}", alt="loss curves")
    assert explorer.alt_text(2.0) == "loss curves, dropout rate p = 2: gap 0.20"
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # live in a kernel
    assert "run the cells above and this one, or Run All" in bundle["text/plain"] and "dropout rate p = 1: gap 0.10" in bundle["text/plain"]
    assert 'alt="loss curves, dropout rate p = 1: gap 0.10"' in bundle["text/html"]


def test_stored_notebooks_keep_the_static_twin_but_not_the_widget_view():
    # A stored widget view without its state reads "model not found" in JupyterLab.
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("explorer")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "text/html": PAGE, "text/plain": "An explorer"})]
    notebook.cells.append(cell)
    execute_notebooks.drop_lost_widget_views(notebook)  # what execute() does before writing
    assert set(cell.outputs[0].data) == {"text/html", "text/plain"}


def test_palette_frames_are_small_and_keep_white_white():
    rgb = np.full((40, 60, 3), 255, dtype=np.uint8)
    rgb[10:30, 5:55] = [31, 119, 180]
    image = np.asarray(Image.open(io.BytesIO(palette_png(rgb))).convert("RGB"))
    assert np.array_equal(image, rgb)


def _chromium_page():
    """A headless Chromium page (Debian's chromium via playwright), or skip as test_browser.py does."""
    import os

    chromium = Path(os.environ.get("INTRODL_CHROMIUM", "/usr/bin/chromium"))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not chromium.exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium and playwright are needed (CI is set)", pytrace=False)
        pytest.skip("needs /usr/bin/chromium and playwright")
    return sync_playwright, chromium


def test_in_a_browser_the_panels_stack_when_narrow_and_the_slider_appears_only_with_its_script():
    sync_playwright, chromium = _chromium_page()
    wide = [palette_png(np.full((120, width, 3), shade, dtype=np.uint8)) for width, shade in ((240, 90), (400, 160))]
    page_html = slider_html([wide, wide[::-1]], ["0.1", "1"], description="learning rate η",
                            readouts=["converged", "diverged"], alt=["η = 0.1: converged", "η = 1: diverged"],
                            panel_alts=["loss per step"])
    untrusted = re.sub(r"<script>.*?</script>", "", page_html, flags=re.S)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            seen = {}
            for name, html_text in (("script", page_html), ("stripped", untrusted)):
                for width in (1000, 375):
                    page = browser.new_page(viewport={"width": width, "height": 700})
                    page.set_content(f"<html><body style='margin:8px'>{html_text}</body></html>")
                    boxes = [page.locator("img").nth(i).bounding_box() for i in range(2)]
                    seen[name, width] = (page.locator("input[type=range]").is_visible(),
                                         page.locator(".introdl-explorer-note").is_visible(),
                                         boxes[1]["y"] > boxes[0]["y"] + boxes[0]["height"] - 1)
                    if name == "script" and width == 375:
                        page.locator("input[type=range]").focus()
                        page.keyboard.press("ArrowRight")
                        assert page.locator("input[type=range]").get_attribute("aria-valuetext") == "learning rate η = 1"
                        assert page.locator("img").first.get_attribute("alt") == "η = 1: diverged"
                        assert page.locator(".introdl-explorer-readout").inner_text() == "diverged"
                    page.close()
        finally:
            browser.close()
    # (slider visible, "run this cell" visible, second panel below the first)
    assert seen["script", 1000] == (True, False, False)
    assert seen["script", 375] == (True, False, True)
    assert seen["stripped", 1000] == (False, True, False)
    assert seen["stripped", 375] == (False, True, True)
