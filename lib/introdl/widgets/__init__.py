"""Explorers: sliders that redraw a figure, live in a kernel and precomputed on the website."""
from .explorer import Explorer
from .static_twin import figure_to_png, slider_html
from .dropout import (DROPOUT_GRID, DropoutExplorer, DropoutRun, describe_dropout_run, draw_dropout_run,
                      dropout_curves, dropout_explorer, dropout_network, dropout_runs)
from .learning_rate import (DescentRun, draw_learning_rate_run, gradient_descent, learning_rate_explorer,
                            learning_rate_run, learning_rate_surface)

__all__ = ["Explorer", "figure_to_png", "slider_html",
           "DROPOUT_GRID", "DropoutExplorer", "DropoutRun", "describe_dropout_run", "draw_dropout_run",
           "dropout_curves", "dropout_explorer", "dropout_network", "dropout_runs",
           "DescentRun", "draw_learning_rate_run", "gradient_descent", "learning_rate_explorer",
           "learning_rate_run", "learning_rate_surface"]
