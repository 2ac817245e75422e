"""The learning-rate explorer: the gradient-descent callback, its drawing, the widget and its static twin.

The callback is a pure function, so the three regimes are tested on its numbers; the widget is
tested by moving its slider outside a kernel. No timings here: the machines are shared.
"""
import base64
import io
import json
import re

import matplotlib
import numpy as np
import pytest
from PIL import Image

matplotlib.use("Agg")

from introdl import data  # noqa: E402
from introdl.widgets import Explorer, figure_to_png  # noqa: E402
from introdl.widgets.static_twin import crop_panels  # noqa: E402
from introdl.descent import (  # noqa: E402
    DEFAULT_START, DEFAULT_STEPS, LOSS_BOUND, describe_run, gradient_descent, learning_rate_run, learning_rate_surface,
)
from introdl.widgets.learning_rate import (  # noqa: E402
    FRAME_DPI, LEARNING_RATE_GRID, LearningRateFrames, draw_learning_rate_run, learning_rate_explorer,
)


def closed_form_minimum():
    """The least-squares line through the chapter's data, computed here from scratch."""
    x, y = data.regression_1d(50, noise=0.1, rng=np.random.default_rng(7))
    A = np.column_stack([np.ones(len(x)), x[:, 0]])
    w, *_ = np.linalg.lstsq(A, y, rcond=None)
    return w, A, y


def largest_curvature():
    _, A, _ = closed_form_minimum()
    return np.linalg.eigvalsh(2 / len(A) * A.T @ A)[-1]


# ---------------------------------------------------------------- the surface
def test_surface_is_the_mse_of_a_line_on_regression_1d():
    w_star, A, y = closed_form_minimum()
    surface = learning_rate_surface()
    np.testing.assert_allclose(surface.minimum, w_star, rtol=1e-12)
    w = np.array([0.3, -0.7])
    np.testing.assert_allclose(surface.loss(w), np.mean((A @ w - y) ** 2), rtol=1e-12)
    np.testing.assert_allclose(surface.gradient(w), 2 / len(y) * A.T @ (A @ w - y), rtol=1e-12)
    # The contour grid is computed once and agrees with the loss at its points.
    i, j = 17, 60
    point = [surface.grid_w0[i, j], surface.grid_w1[i, j]]
    np.testing.assert_allclose(surface.grid_loss[i, j], surface.loss(point), rtol=1e-12)
    assert learning_rate_surface() is surface


# ---------------------------------------------------------------- the three regimes
def test_a_small_learning_rate_barely_moves():
    w_star, _, _ = closed_form_minimum()
    run = learning_rate_run(1e-3)
    assert run.diverged_at is None
    assert run.path.shape == (DEFAULT_STEPS + 1, 2)
    moved = np.linalg.norm(run.path[-1] - run.path[0])
    assert moved < 0.2 * np.linalg.norm(w_star - np.array(DEFAULT_START))
    assert run.losses[-1] < run.losses[0]  # it does go down hill, just slowly
    assert "still far from the minimum" in describe_run(run)


@pytest.mark.parametrize("lr", [0.3, 0.5, 0.7])
def test_a_stable_learning_rate_converges_to_the_least_squares_minimum(lr):
    w_star, _, _ = closed_form_minimum()
    run = learning_rate_run(lr, steps=400)
    assert run.diverged_at is None
    np.testing.assert_allclose(run.path[-1], w_star, atol=1e-6)
    assert np.all(np.diff(run.losses) <= 1e-12)  # on a quadratic, η < 2/λ_max never goes up hill
    assert describe_run(learning_rate_run(lr)).startswith("converged")


def first_bad_step(lr, steps):
    """Iterate w ← w − η∇J by hand and return the first step whose loss is over the bound."""
    _, A, y = closed_form_minimum()
    w = np.array(DEFAULT_START, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            w = w - lr * 2 / len(y) * A.T @ (A @ w - y)
            loss = np.mean((A @ w - y) ** 2)
            if not loss <= LOSS_BOUND:
                return k
    return None


@pytest.mark.parametrize("lr", [1.0, 1.5, 2.0, 1e3, 1e300])
def test_a_large_learning_rate_diverges_at_the_first_bad_step(lr):
    run = learning_rate_run(lr)
    expected = first_bad_step(lr, DEFAULT_STEPS)
    assert expected is not None
    assert run.diverged_at == expected
    # The step that blew up is not stored: w_0 … w_(k-1), all finite and under the bound.
    assert run.path.shape == (expected, 2) and run.losses.shape == (expected,)
    assert np.all(run.losses <= LOSS_BOUND)
    assert describe_run(run).startswith(f"diverged at step {expected}")


def test_the_threshold_is_two_over_the_largest_curvature():
    critical = 2 / largest_curvature()
    below = learning_rate_run(0.98 * critical, steps=2000)
    above = learning_rate_run(1.02 * critical, steps=2000)
    assert below.diverged_at is None and below.losses[-1] < below.losses[0]
    assert above.diverged_at is not None


def test_no_nan_or_inf_ever():
    for lr in np.concatenate([LEARNING_RATE_GRID, [0.0, 1e-12, 10.0, 1e12, 1e308]]):
        run = learning_rate_run(lr)
        assert np.all(np.isfinite(run.path)) and np.all(np.isfinite(run.losses)), lr
        assert len(run.path) == len(run.losses) >= 1


def test_the_run_is_a_pure_function():
    first = learning_rate_run(0.2)
    first.path[:] = 0.0  # changing a result must not change the next one
    second, third = learning_rate_run(0.2), learning_rate_run(0.2)
    np.testing.assert_array_equal(second.path, third.path)
    assert not np.all(second.path == 0.0)


def test_gradient_descent_matches_the_closed_form_on_random_quadratics():
    # J(w) = ½ (w − c)ᵀ H (w − c): then w_k − c = (I − ηH)^k (w_0 − c) exactly.
    rng = np.random.default_rng(0)
    for _ in range(5):
        B = rng.normal(size=(3, 3))
        H = B @ B.T + 0.1 * np.eye(3)
        c, w0 = rng.normal(size=3), rng.normal(size=3)
        lr = 1.5 / np.linalg.eigvalsh(H)[-1]
        run = gradient_descent(lambda w: 0.5 * (w - c) @ H @ (w - c), lambda w: H @ (w - c), w0, lr, 20)
        M = np.eye(3) - lr * H
        expected = [c + np.linalg.matrix_power(M, k) @ (w0 - c) for k in range(21)]
        np.testing.assert_allclose(run.path, expected, rtol=1e-10, atol=1e-12)


def test_bad_arguments_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="lr"):
        learning_rate_run(-0.1)
    with pytest.raises(ValueError, match="steps"):
        learning_rate_run(0.1, steps=0)
    with pytest.raises(ValueError, match="start"):
        learning_rate_run(0.1, start=(1e9, 1e9))


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
