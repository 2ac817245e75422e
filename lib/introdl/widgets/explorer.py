"""An explorer: one slider, one figure that follows it, in a kernel and on the website alike.

In a live kernel (JupyterLab, Binder, Colab) it shows real ipywidgets: the slider calls the
render function and the figure is redrawn on every move. Displayed output also carries a static
twin (see ``static_twin``) as text/html, which the website shows, so the slider works there too.
"""
import numpy as np

from .static_twin import RUN_NOTE, crop_panels, figure_to_png, slider_html


class Explorer:
    """A slider over ``grid`` that redraws ``render(value)``.

    render: value -> matplotlib Figure (a pure function of the value; the explorer closes it),
        or value -> PNG bytes (for a renderer that keeps its own figure, or reuses frames drawn before).
    grid: the values the static twin precomputes (the live slider moves over the same range).
    readout: optional value -> short text shown under the slider ("diverged at step 12").
    log_scale: a logarithmic slider (for learning rates).
    step: the linear slider's step (default: 1/100 of its range), e.g. the grid's spacing.
    alt: what the figure shows, for readers who cannot see it: value -> text (the alt text of
        that value's frame), or a string, completed per frame as
        "<alt>, <description> = <value>: <readout>".
    panels: optional {name: (left, top, right, bottom)}: the static twin cuts every frame into
        these panels (fractions of the frame), which stack on a narrow screen; the first panel
        carries the alt text, the others their name and the value.
    """

    def __init__(self, render, grid, *, description, initial=None, readout=None, log_scale=False,
                 value_format="{:.3g}", alt="figure", step=None, panels=None):
        self.render = render
        self.grid = [float(v) for v in grid]
        if len(self.grid) < 2:
            raise ValueError(f"an explorer needs at least 2 grid values, got {len(self.grid)}")
        self.description = description
        self.readout = readout or (lambda value: "")
        self.log_scale = log_scale
        self.step = step
        self.value_format = value_format
        self.alt = alt
        self.panels = dict(panels or {})
        self.initial_index = int(np.argmin(np.abs(np.asarray(self.grid) - (self.grid[0] if initial is None else initial))))

    def png(self, value):
        """The figure for ``value`` as PNG bytes: what both the live and the static view show."""
        image = self.render(value)
        return image if isinstance(image, bytes) else figure_to_png(image)

    def alt_text(self, value):
        """The alt text of the frame for ``value``: what it shows, the value and its readout."""
        if callable(self.alt):
            return self.alt(value)
        readout = self.readout(value)
        return f"{self.alt}, {self.description} = {self.value_format.format(value)}" + (f": {readout}" if readout else "")

    def static_frame(self, value):
        """The static twin's frame for ``value``: the PNG, or its panels (a list of PNGs)."""
        png = self.png(value)
        return crop_panels(png, self.panels.values()) if self.panels else png

    def static_html(self):
        """The static twin: every grid value rendered once, switched by a range input."""
        return slider_html(
            [self.static_frame(v) for v in self.grid],
            [self.value_format.format(v) for v in self.grid],
            description=self.description,
            readouts=[self.readout(v) for v in self.grid],
            initial_index=self.initial_index,
            alt=[self.alt_text(v) for v in self.grid],
            panel_alts=list(self.panels)[1:],
        )

    def widget(self):
        """The live view: an ipywidgets slider, a readout and an image redrawn on every move."""
        import ipywidgets as w

        low, high, start = self.grid[0], self.grid[-1], self.grid[self.initial_index]
        if self.log_scale:
            slider = w.FloatLogSlider(value=start, base=10, min=np.log10(low), max=np.log10(high),
                                      step=(np.log10(high) - np.log10(low)) / 200, description=self.description,
                                      continuous_update=True, readout_format=".3g")
        else:
            slider = w.FloatSlider(value=start, min=low, max=high, step=self.step or (high - low) / 100,
                                   description=self.description, continuous_update=True, readout_format=".3g")
        slider.style.description_width = "initial"
        slider.layout.width = "32em"
        image = w.Image(value=self.png(start), format="png")
        text = w.Label(value=self.readout(start))

        def redraw(change):
            image.value = self.png(change["new"])
            text.value = self.readout(change["new"])

        slider.observe(redraw, names="value")
        return w.VBox([slider, text, image])

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The live widget, its static twin (text/html) and a line of plain text.

        The widget's view is written here as both ipywidgets 7 (Colab's) and 8 write it, protocol
        version 2.0 and the model's id: ipywidgets 8 displays a widget through
        ``_repr_mimebundle_`` and 7 through ``_ipython_display_``, so neither method is there in
        both. A notebook keeps only the last two: scripts/execute_notebooks.py drops the view,
        whose state is not stored, and so does ``introdl.widgets.saving`` when Jupyter saves the
        notebook. A chapter opened before it is run, or reopened after a save, shows the twin.
        """
        widget = self.widget()
        start = self.grid[self.initial_index]
        return {
            "application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0,
                                                         "model_id": widget.model_id},
            "text/html": self.static_html(),
            "text/plain": (f"An explorer with a slider for {self.description}; to move it, {RUN_NOTE}. "
                           f"Shown: {self.alt_text(start)}"),
        }
