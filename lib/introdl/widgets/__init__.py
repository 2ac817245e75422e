"""Explorers: sliders that redraw a figure, live in a kernel and precomputed on the website.

Only drawing lives here; the algorithms are in ``introdl.descent`` (the learning rate) and
``introdl.nn`` / ``introdl.train`` (dropout).
"""
from .explorer import Explorer
from .static_twin import figure_to_png, slider_html
from .dropout import (DROPOUT_GRID, DropoutExplorer, DropoutRun, describe_dropout_run, draw_dropout_run,
                      dropout_curves, dropout_explorer, dropout_network, dropout_runs)
from .learning_rate import (LEARNING_RATE_GRID, draw_learning_rate_run, draw_path_on_surface,
                            learning_rate_explorer)

__all__ = ["Explorer", "figure_to_png", "slider_html",
           "DROPOUT_GRID", "DropoutExplorer", "DropoutRun", "describe_dropout_run", "draw_dropout_run",
           "dropout_curves", "dropout_explorer", "dropout_network", "dropout_runs",
           "LEARNING_RATE_GRID", "draw_learning_rate_run", "draw_path_on_surface", "learning_rate_explorer"]
