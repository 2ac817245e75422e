"""Widget latency: how long each explorer takes to answer a move of its slider.

An ``introdl.widgets.Explorer`` redraws on every move: its callback sets the image to
``explorer.png(value)`` and the text under the slider to ``explorer.readout(value)``. We time
that callback as a whole, and its parts separately:

* the learning-rate explorer computes on every move (a run of gradient descent,
  ``introdl.descent.learning_rate_run``) and then draws the whole figure again and encodes the
  PNG (a plain redraw); the redraw is measured as the frame's time minus the computation's,
  value by value;
* the dropout explorer trains one network per rate when it is built, so a move only draws (the
  first time a rate is shown: ``draw_dropout_run`` and the PNG encoding) or reuses the frame
  drawn before.

We report the median and the 95th percentile over many slider positions. A widget module that
is not there (yet) is reported as "not available" instead of stopping the benchmarks.
"""
from __future__ import annotations

import importlib

import numpy as np

from report import Section, Table, median, percentile, timed

GOALS_MS = {"learning rate": 200.0, "dropout": 300.0}


def _module(name):
    """``introdl.widgets.<name>``, or the reason it cannot be imported."""
    try:
        return importlib.import_module(f"introdl.widgets.{name}"), None
    except Exception as error:  # not written yet, or broken while someone works on it
        return None, f"{type(error).__name__}: {error}"


def _row(table, explorer, part, times, goal=None):
    """One table row: median and 95th percentile in milliseconds, and the goal if there is one."""
    ms = [1000 * t for t in times]
    p50, p95 = median(ms), percentile(ms, 95)
    if goal is None:
        table.add(explorer, part, len(ms), _ms(p50), _ms(p95), "", "")
    else:
        table.add(explorer, part, len(ms), _ms(p50), _ms(p95), f"< {goal:.0f} ms",
                  "met" if p95 < goal else "not met")


def _ms(value):
    """Milliseconds with three significant digits at most: 152, 21.8, 1.25, 0.012."""
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def _not_available(table, explorer, reason):
    table.add(explorer, f"not available ({reason})", 0, "–", "–", f"< {GOALS_MS[explorer]:.0f} ms", "not measured")


# ---------------------------------------------------------------- the learning-rate explorer
def learning_rate_latency(table, *, samples, seed=0):
    module, reason = _module("learning_rate")
    if module is None or not hasattr(module, "learning_rate_explorer"):
        _not_available(table, "learning rate", reason or "introdl.widgets.learning_rate lacks learning_rate_explorer")
        return
    from introdl.descent import learning_rate_run

    build, explorer = timed(module.learning_rate_explorer)
    low, high = min(explorer.grid), max(explorer.grid)
    # The grid values and as many values in between, in a random order: a hand on the slider.
    rng = np.random.default_rng(seed)
    values = list(explorer.grid) + list(np.exp(rng.uniform(np.log(low), np.log(high), len(explorer.grid))))
    values = [float(v) for v in rng.permutation(values)[:samples]]
    compute, frame, readout, callback, redraw = [], [], [], [], []
    for value in values:
        t_compute, _ = timed(learning_rate_run, value)
        t_frame, _ = timed(explorer.png, value)
        t_readout, _ = timed(explorer.readout, value)
        compute.append(t_compute)
        frame.append(t_frame)
        readout.append(t_readout)
        redraw.append(max(t_frame - t_compute, 0.0))
        callback.append(t_frame + t_readout)
    name = "learning rate"
    table.add(name, "build: learning_rate_explorer() (once)", 1, _ms(1000 * build), "", "", "")
    _row(table, name, "computation: learning_rate_run(η)", compute)
    _row(table, name, "redraw and PNG encoding (frame − computation)", redraw)
    _row(table, name, "frame: explorer.png(η)", frame)
    _row(table, name, "readout: explorer.readout(η)", readout)
    _row(table, name, "full callback: png + readout", callback, GOALS_MS[name])


# ---------------------------------------------------------------- the dropout explorer
def dropout_latency(table, *, quick, repeats):
    module, reason = _module("dropout")
    needed = ("dropout_explorer", "draw_dropout_run")
    if module is None or not all(hasattr(module, name) for name in needed):
        _not_available(table, "dropout", reason or f"introdl.widgets.dropout lacks {needed}")
        return
    from introdl.widgets import figure_to_png

    settings = dict(grid=(0.0, 0.5), epochs=3) if quick else {}
    build, explorer = timed(module.dropout_explorer, **settings)
    runs = explorer.runs
    reference = runs.get(0.0)
    rates = list(runs)

    redraw, first, again = [], [], []
    for _ in range(repeats):
        for p in rates:
            t_draw, figure = timed(module.draw_dropout_run, runs[p], reference=reference)
            t_png, _ = timed(figure_to_png, figure)
            redraw.append(t_draw + t_png)
        # A fresh explorer over the same runs has drawn nothing yet: every rate's first visit.
        fresh = type(explorer)(runs)
        for p in rates:
            t_frame, _ = timed(fresh.png, p)
            t_readout, _ = timed(fresh.readout, p)
            first.append(t_frame + t_readout)
        for p in rates:
            t_frame, _ = timed(fresh.png, p)
            t_readout, _ = timed(fresh.readout, p)
            again.append(t_frame + t_readout)
    name = "dropout"
    table.add(name, f"computation: dropout_explorer() trains {len(rates)} rates (once)", 1, _ms(1000 * build),
              "", "", "")
    _row(table, name, "redraw and PNG encoding: draw_dropout_run + figure_to_png", redraw)
    _row(table, name, "full callback, first visit of a rate (draws)", first, GOALS_MS[name])
    _row(table, name, "full callback, a rate shown before (reuses the frame)", again)


def run(quick=False):
    section = Section(
        "Widget latency",
        intro=(
            "Milliseconds from a slider move to a new picture, for the two explorers of "
            "`introdl.widgets`: the median and the 95th percentile over slider positions. The full "
            "callback is what the live slider runs: `explorer.png(value)` and "
            "`explorer.readout(value)`. The goal applies to the 95th percentile of the full callback."
        ),
    )
    table = Table(["explorer", "part", "samples", "median (ms)", "95th percentile (ms)", "goal", "goal met?"])
    measurements = {"learning rate": lambda: learning_rate_latency(table, samples=10 if quick else 50),
                    "dropout": lambda: dropout_latency(table, quick=quick, repeats=1 if quick else 3)}
    for name, measure in measurements.items():
        try:
            measure()
        except Exception as error:  # a module half-way through a rewrite: say so, measure the rest
            _not_available(table, name, f"{type(error).__name__}: {error}")
    section.tables.append(table)
    return section
