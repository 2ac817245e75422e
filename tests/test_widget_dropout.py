"""The dropout explorer: the training callback, its drawing, the widget and its static twin.

The callback (``dropout_curves``) is a pure function, so its properties are tested on its numbers;
the widget is tested by moving its slider outside a kernel. Most tests use a short run (a few
epochs, a small grid) to stay fast; one trains the full setting once per rate it compares.
No timings here: the machines are shared.
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

from introdl import nn, optim, train  # noqa: E402
from introdl.widgets import (DROPOUT_GRID, DropoutExplorer, Explorer, describe_dropout_run,  # noqa: E402
                             draw_dropout_run, dropout_curves, dropout_explorer, dropout_network)
from introdl.widgets import dropout as dropout_module  # noqa: E402
from introdl.widgets.dropout import BATCH_SIZE, LR, batch_order_rng, overfitting_data  # noqa: E402
from introdl.widgets.static_twin import crop_panels  # noqa: E402

SHORT = dict(epochs=4)
SMALL_GRID = (0.0, 0.5, 0.8)


@pytest.fixture(scope="module")
def small_explorer():
    return dropout_explorer(SMALL_GRID, initial=0.5, **SHORT)


# ---------------------------------------------------------------- the callback
def test_the_setup_is_the_books_overfitting_split():
    X_train, y_train, X_val, y_val, X_test, y_test = overfitting_data()
    assert X_train.shape == (150, 64) and len(X_val) + len(X_test) == 1797 - 150
    assert set(np.unique(y_train)) == set(range(10))


def test_every_rate_starts_from_the_same_weights():
    without, with_dropout = dropout_network(0.0), dropout_network(0.5)
    assert [type(m).__name__ for m in with_dropout] == ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout",
                                                         "Linear"]
    for a, b in zip(without.parameters(), with_dropout.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_the_curves_are_deterministic():
    first, second = dropout_curves(0.5, **SHORT), dropout_curves(0.5, **SHORT)
    for name in ("train_loss", "val_loss", "train_acc", "val_acc"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))


def test_the_curves_for_p_0_and_p_0_5_differ():
    without, with_dropout = dropout_curves(0.0, **SHORT), dropout_curves(0.5, **SHORT)
    assert not np.array_equal(without.val_loss, with_dropout.val_loss)
    assert not np.array_equal(without.train_loss, with_dropout.train_loss)


def test_the_curves_have_one_entry_per_epoch_and_sensible_values():
    run = dropout_curves(0.3, **SHORT)
    assert run.epochs == SHORT["epochs"]
    for curve in (run.train_loss, run.val_loss, run.train_acc, run.val_acc):
        assert curve.shape == (SHORT["epochs"],) and np.all(np.isfinite(curve))
    assert np.all(run.train_loss > 0) and np.all((0 <= run.val_acc) & (run.val_acc <= 1))
    assert run.loss_gap == pytest.approx(run.val_loss[-1] - run.train_loss[-1])
    assert run.accuracy_gap == pytest.approx(run.train_acc[-1] - run.val_acc[-1])
    assert not run.model.training  # handed back in eval mode


def test_one_epoch_at_a_time_is_the_same_as_fit():
    """dropout_curves trains exactly as fit(..., validation=...) with the same network and order."""
    epochs = 6
    run = dropout_curves(0.0, epochs=epochs)
    X_train, y_train, X_val, y_val, _, _ = overfitting_data()
    model = dropout_network(0.0)
    history = train.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=LR), X_train, y_train,
                        epochs=epochs, batch_size=BATCH_SIZE, rng=batch_order_rng(), validation=(X_val, y_val))
    np.testing.assert_array_equal(history.val_loss, run.val_loss)


def test_dropout_shrinks_the_generalization_gap_on_the_shared_setup():
    """The full setting: the network without dropout overfits more than the one with p = 0.5."""
    without, with_dropout = dropout_curves(0.0), dropout_curves(0.5)
    assert without.train_acc[-1] == 1.0  # it has learned every training digit ...
    assert without.val_loss[-1] > without.val_loss.min() + 0.03  # ... and its validation loss turned up
    assert with_dropout.loss_gap < 0.9 * without.loss_gap
    assert with_dropout.accuracy_gap <= without.accuracy_gap


def test_bad_arguments_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="dropout rate p"):
        dropout_curves(1.0, **SHORT)
    with pytest.raises(ValueError, match="epochs"):
        dropout_curves(0.5, epochs=0)


# ---------------------------------------------------------------- the figure
def test_the_figure_has_two_labelled_panels_and_names_the_rate():
    run, reference = dropout_curves(0.5, **SHORT), dropout_curves(0.0, **SHORT)
    figure = draw_dropout_run(run, reference=reference)
    assert len(figure.axes) == 2
    for axes in figure.axes:
        assert axes.get_xlabel() == "epoch" and axes.get_ylabel() and axes.get_title()
        assert axes.get_legend() is not None
    assert "p = 0.5" in figure._suptitle.get_text()
    assert f"{run.accuracy_gap:.2f}" in " ".join(t.get_text() for t in figure.axes[1].texts)


# ---------------------------------------------------------------- the explorer
def test_the_live_widget_redraws_and_updates_the_readout_on_every_move(small_explorer):
    assert isinstance(small_explorer, Explorer) and isinstance(small_explorer, DropoutExplorer)
    assert not small_explorer.log_scale
    slider, readout, image = small_explorer.widget().children
    assert slider.step == pytest.approx(0.1) and slider.value == pytest.approx(0.5)
    seen = {bytes(image.value)}
    for p in (0.0, 0.8, 0.5):
        before = (bytes(image.value), readout.value)
        slider.value = p
        assert bytes(image.value) != before[0] and readout.value != before[1]
        assert readout.value == describe_dropout_run(small_explorer.runs[p])
        assert readout.value.startswith(f"p = {p:.1f}:") and "gap" in readout.value
        seen.add(bytes(image.value))
    assert len(seen) == 3


def test_moving_the_slider_never_trains(small_explorer, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("the slider trained a network")

    monkeypatch.setattr(dropout_module, "dropout_curves", no_training)
    monkeypatch.setattr(dropout_module.train, "fit", no_training)
    slider, readout, image = small_explorer.widget().children
    for p in (0.1, 0.3, 0.7, 0.8, 0.0):
        slider.value = p  # between grid values the nearest trained rate is shown
        assert readout.value == describe_dropout_run(small_explorer.run(p))


def test_the_static_twin_has_one_frame_per_rate_and_nothing_external(small_explorer):
    page = small_explorer.static_html()
    assert '<input type="range"' in page and "http" not in page
    frames = json.loads(re.search(r"var data = (\{.*\});", page).group(1))
    # The initial frame is stored once, in the <img> elements; the list holds null in its place.
    assert sum(f is None for f in frames["src"]) == 1
    shown = re.findall(r'<img class="introdl-explorer-frame" src="([^"]+)"', page)
    frames["src"] = [shown if f is None else f for f in frames["src"]]
    assert len(frames["src"]) == len(SMALL_GRID) == len({tuple(f) for f in frames["src"]})
    assert frames["label"] == [f"{p:.1f}" for p in SMALL_GRID]
    assert frames["readout"] == [describe_dropout_run(small_explorer.runs[p]) for p in SMALL_GRID]
    panels = [base64.b64decode(src.split(",", 1)[1]) for src in frames["src"][1]]
    assert panels == crop_panels(small_explorer.png(0.5), small_explorer.panels.values())
    assert len(panels) == 2 and all(png.startswith(b"\x89PNG") for png in panels)


def test_the_explorer_displays_both_the_widget_and_its_static_twin(small_explorer):
    bundle = small_explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"].startswith('<div class="introdl-explorer"')


def test_the_default_grid_runs_from_no_dropout_to_0_8():
    assert DROPOUT_GRID[0] == 0.0 and DROPOUT_GRID[-1] == 0.8 and len(DROPOUT_GRID) == 9
    assert np.allclose(np.diff(DROPOUT_GRID), 0.1)


def test_the_explorer_trains_the_network_and_settings_a_chapter_passes():
    # Chapter 11 builds its own network in a cell and hands it over with its settings.
    X_train, y_train, X_val, y_val, _, _ = overfitting_data()
    asked = []

    def network(p):
        asked.append(p)
        rng = np.random.default_rng(5)
        return nn.Sequential(nn.Linear(64, 16, rng=rng), nn.ReLU(), nn.Dropout(p, rng=rng), nn.Linear(16, 10, rng=rng))

    split = (X_train[:60], y_train[:60], X_val[:40], y_val[:40])
    explorer = dropout_explorer((0.0, 0.5), make_network=network, batch_order=lambda: np.random.default_rng(3),
                                split=split, epochs=2, batch_size=20, lr=0.01)
    assert asked == [0.0, 0.5]
    run = explorer.runs[0.5]
    assert run.epochs == 2 and run.model.num_parameters() == 64 * 16 + 16 + 16 * 10 + 10
    # The same as training that network by hand with the same settings.
    model = network(0.5)
    train.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), split[0], split[1],
              epochs=2, batch_size=20, rng=np.random.default_rng(3))
    model.eval()
    assert np.array_equal(train.predict(model, split[2]), train.predict(run.model, split[2]))


def test_the_split_argument_does_not_hide_the_data_module():
    # The chapter's split is passed as ``split``; inside dropout_curves the name ``data`` stays the
    # module introdl.data (a parameter of that name used to shadow it).
    import inspect

    parameters = inspect.signature(dropout_module.dropout_curves).parameters
    assert "split" in parameters and "data" not in parameters


def test_the_static_twin_cuts_its_panels_where_nothing_is_drawn(small_explorer):
    # On a narrow screen the two panels stack; a cut through a label would show.
    full = np.asarray(Image.open(io.BytesIO(small_explorer.png(0.5))).convert("RGB"))
    height, width, _ = full.shape
    for left, top, right, bottom in small_explorer.panels.values():
        for column in {round(left * width), round(right * width) - 1} - {0, width - 1}:
            assert np.all(full[round(top * height):, column] == 255), f"a cut at column {column}"
        assert np.all(full[round(top * height), :] == 255)  # below the title, above the panels
