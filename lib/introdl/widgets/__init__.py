"""Explorers: sliders that redraw a figure, live in a kernel and precomputed on the website."""
from .explorer import Explorer
from .static_twin import figure_to_png, slider_html

__all__ = ["Explorer", "figure_to_png", "slider_html"]
