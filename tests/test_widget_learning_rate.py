"""The learning-rate explorer: its drawing, the widget and its static twin (the algorithm it draws
is tested in test_descent.py).

The widget is tested by moving its slider outside a kernel. No timings here: the machines are shared.
"""
import base64
import io
import json
import re

import matplotlib
import numpy as np
from PIL import Image

matplotlib.use("Agg")

from introdl.descent import describe_run, learning_rate_run  # noqa: E402
from introdl.widgets import Explorer, figure_to_png  # noqa: E402
from introdl.widgets.static_twin import crop_panels  # noqa: E402
from introdl.widgets.learning_rate import (  # noqa: E402
    FRAME_DPI, LEARNING_RATE_GRID, LearningRateFrames, draw_learning_rate_run, learning_rate_explorer,
)


# ---------------------------------------------------------------- the figure
def texts_of(axes):
    return [t.get_text() for t in axes.texts if t.get_visible()]


def test_the_figure_of_a_diverging_run_says_where_it_diverged_on_both_panels():
    run = learning_rate_run(1.5)
    figure = draw_learning_rate_run(run)
    path_axes, loss_axes = figure.axes
    label = f"diverged at step {run.diverged_at}"
    assert label in texts_of(path_axes) and label in texts_of(loss_axes)
    assert "1.5" in figure.get_suptitle()
    for axes in figure.axes:
        assert axes.get_xlabel() and axes.get_ylabel() and axes.get_title()


def test_the_figure_of_a_converging_run_has_no_divergence_label():
    figure = draw_learning_rate_run(learning_rate_run(0.5))
    assert not any("diverged" in text for axes in figure.axes for text in texts_of(axes))
    assert "0.5" in figure.get_suptitle() and "converged" in figure.get_suptitle()


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def test_every_frame_is_the_figure_of_its_run_whatever_came_before():
    # The explorer keeps one figure and replaces the run on it: after any sequence of moves a
    # frame must be exactly draw_learning_rate_run's picture (no label or line left behind).
    frames = LearningRateFrames()
    for lr in (1.5, 0.002, 0.9, 1.5, 0.5):
        figure = pixels(figure_to_png(draw_learning_rate_run(learning_rate_run(lr)), dpi=FRAME_DPI))
        assert np.array_equal(pixels(frames(lr)), figure), lr


# ---------------------------------------------------------------- the explorer
def test_the_live_widget_redraws_and_updates_the_readout_on_every_move():
    explorer = learning_rate_explorer()
    assert isinstance(explorer, Explorer) and explorer.log_scale
    slider, readout, image = explorer.widget().children
    seen = {bytes(image.value)}
    for lr in (0.002, 0.5, 1.5):
        before = (bytes(image.value), readout.value)
        slider.value = lr
        assert bytes(image.value) != before[0] and readout.value != before[1]
        assert readout.value == describe_run(learning_rate_run(slider.value))
        seen.add(bytes(image.value))
    assert len(seen) == 4
    assert readout.value.startswith("diverged at step")


def test_the_static_twin_has_one_distinct_frame_per_learning_rate():
    explorer = learning_rate_explorer()
    page = explorer.static_html()
    assert '<input type="range"' in page and "http" not in page
    frames = json.loads(re.search(r"var data = (\{.*\});", page).group(1))
    # The initial frame is stored once, in the <img> elements; the list holds null in its place.
    assert sum(f is None for f in frames["src"]) == 1
    shown = re.findall(r'<img class="introdl-explorer-frame" src="([^"]+)"', page)
    frames["src"] = [shown if f is None else f for f in frames["src"]]
    assert len(frames["src"]) == len(LEARNING_RATE_GRID) >= 20
    assert len({tuple(f) for f in frames["src"]}) == len(frames["src"])  # distinct rates, distinct frames
    panels = [base64.b64decode(src.split(",", 1)[1]) for src in frames["src"][-1]]
    assert panels == crop_panels(explorer.png(LEARNING_RATE_GRID[-1]), explorer.panels.values())
    # The slider spans the three regimes.
    verdicts = " ".join(frames["readout"])
    assert "still far" in verdicts and "converged" in verdicts and "diverged at step" in verdicts


def test_the_explorer_displays_both_the_widget_and_its_static_twin():
    bundle = learning_rate_explorer()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"].startswith('<div class="introdl-explorer"')


def test_the_static_twin_cuts_its_panels_where_nothing_is_drawn():
    # On a narrow screen the two panels stack; a cut through a label would show.
    explorer = learning_rate_explorer(grid=[0.002, 0.9, 1.5])
    assert list(explorer.panels) == ["path of the weights", "loss per step"]
    for lr in explorer.grid:
        full = pixels(explorer.png(lr))
        height, width, _ = full.shape
        for left, top, right, bottom in explorer.panels.values():
            for column in {round(left * width), round(right * width) - 1} - {0, width - 1}:
                assert np.all(full[round(top * height):, column] == 255), f"η = {lr}: a cut at column {column}"
            assert np.all(full[round(top * height), :] == 255)  # below the title, above the panels


def test_the_chapters_import_only_what_the_packages_export():
    # Chapter 7 used to import, from introdl.widgets.learning_rate, a name introdl.widgets did not
    # export. Every name a chapter takes from introdl.descent or introdl.widgets is in its __all__.
    import ast
    import importlib
    from pathlib import Path

    book = Path(__file__).resolve().parents[1] / "book"
    imported = []
    for chapter in sorted(book.glob("*.ipynb")):
        for cell in json.loads(chapter.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            try:
                tree = ast.parse(source)
            except SyntaxError:  # an IPython magic: not an import of ours
                continue
            imported += [(chapter.name, node.module, alias.name) for node in ast.walk(tree)
                         if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("introdl.widgets", "introdl.descent"))
                         for alias in node.names]
    assert {chapter for chapter, _, _ in imported} >= {"07_learning_rate.ipynb", "11_regularization.ipynb"}
    for chapter, module, name in imported:
        assert module in ("introdl.widgets", "introdl.descent"), f"{chapter} imports from the private {module}"
        assert name in importlib.import_module(module).__all__, f"{chapter}: {module} does not export {name}"
    for module in ("introdl.widgets", "introdl.descent"):
        package = importlib.import_module(module)
        assert all(hasattr(package, name) for name in package.__all__)
