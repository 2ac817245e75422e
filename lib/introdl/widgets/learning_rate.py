"""The learning-rate explorer: a log-scale slider over η that reruns gradient descent and redraws.

The algorithm lives in ``introdl.descent`` (the loss surface, ``gradient_descent``,
``learning_rate_run`` and ``describe_run``); this module only draws. ``draw_learning_rate_run``
draws one run, and ``learning_rate_explorer`` puts it behind a slider (an ``Explorer``), which
redraws the figure on every move (``LearningRateFrames``).
"""
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..descent import DEFAULT_START, DEFAULT_STEPS, LOSS_BOUND, describe_run, learning_rate_run, learning_rate_surface
from .explorer import Explorer
from .static_twin import figure_to_png

# The explorer's slider: 25 learning rates from "barely moves" to "diverges within a few steps".
LEARNING_RATE_GRID = np.logspace(-3, np.log10(2.0), 25)


# ---------------------------------------------------------------- drawing
# Every frame has the same axis limits, so that moving the slider compares like with like.
# Labels are plain Unicode rather than $math$: matplotlib's math parser is slow, and the
# slider redraws on every move.
_GAP_LIMITS = (1e-10, 1e10)
_GAP_TICKS = [1e-10, 1e-6, 1e-2, 1e2, 1e6, 1e10]
_DIVERGED_STYLE = dict(color="white", fontsize=10, fontweight="bold", ha="center", va="center",
                       bbox=dict(boxstyle="round", facecolor="tab:red", edgecolor="none"))
_FIGSIZE = (8.0, 3.4)
FRAME_DPI = 72  # the explorer's frames: 72 keeps chapter 7 light


def draw_surface(ax, *, start=DEFAULT_START):
    """The parts of the left panel that never change: contours of J, the start and the minimum."""
    surface = learning_rate_surface()
    # Levels spaced geometrically above the minimum: the bowl's floor is flat and its walls are
    # steep, so evenly spaced levels would crowd the walls and leave the floor empty.
    levels = surface.minimum_loss + np.geomspace(0.02, 60, 12)
    ax.contour(surface.grid_w0, surface.grid_w1, surface.grid_loss, levels=levels,
               colors="0.6", linewidths=0.8)
    ax.plot(*start, "s", color="black", markersize=5, label="start")
    ax.plot(*surface.minimum, "*", color="tab:orange", markersize=12, label="minimum w*")
    ax.set_xlim(*surface.extent[:2])
    ax.set_ylim(*surface.extent[2:])
    # Equal scales on both axes, so that each step of steepest descent looks perpendicular to
    # the contour line it starts from, as it is.
    ax.set_aspect("equal")
    ax.set_xlabel("bias w₀")
    ax.set_ylabel("slope w₁")
    ax.legend(loc="lower left", fontsize=7, framealpha=0.9)


def draw_loss_axes(ax, *, steps=DEFAULT_STEPS):
    """The parts of the right panel that never change: log axis, limits, the divergence bound."""
    surface = learning_rate_surface()
    ax.set_yscale("log")
    ax.set_xlim(0, steps)
    ax.set_ylim(*_GAP_LIMITS)
    ax.set_yticks(_GAP_TICKS, [f"{tick:.0e}" for tick in _GAP_TICKS])
    ax.minorticks_off()
    ax.axhline(LOSS_BOUND - surface.minimum_loss, color="tab:red", linestyle=":", linewidth=1)
    ax.text(0.01 * steps, 3 * LOSS_BOUND, f"divergence bound J = {LOSS_BOUND:.0e}", color="tab:red",
            fontsize=7, va="bottom")
    ax.set_xlabel("step k")
    ax.set_ylabel("J(w_k) − J*  (log scale)")


def _diverged_label(ax, run, *, height=0.5):
    """'diverged at step k' in a red box across ``ax`` at ``height`` (a fraction of the axes),
    for a run that diverged. Returns the artists drawn (none for a run that did not diverge)."""
    if not run.diverged:
        return []
    return [ax.text(0.5, height, f"diverged at step {run.diverged_at}", transform=ax.transAxes, **_DIVERGED_STYLE)]


def draw_path(ax, run, *, color="tab:blue"):
    """One run's path of weights w_0, w_1, … as a line of dots on ``ax``. Returns the artists drawn."""
    return ax.plot(run.path[:, 0], run.path[:, 1], "-o", color=color, markersize=2.5, linewidth=1.2)


def draw_loss_curve(ax, run, *, color="tab:blue"):
    """J(w_k) − J* per step k on ``ax``; a cross marks the last step of a run that diverged.
    Returns the artists drawn."""
    # How far above the minimum; the floor keeps a run that reached it off log(0).
    gap = np.maximum(run.losses - learning_rate_surface().minimum_loss, _GAP_LIMITS[0])
    artists = ax.plot(np.arange(len(gap)), gap, "-", color=color)
    if run.diverged:
        artists += ax.plot([len(gap) - 1], [gap[-1]], "x", color="tab:red", markersize=9, markeredgewidth=2)
    return artists


def draw_path_on_surface(ax, run, *, color="tab:blue"):
    """Draw one run's path of weights on the contours of J, on ``ax`` (for figures of several runs)."""
    draw_surface(ax, start=run.path[0])
    draw_path(ax, run, color=color)
    _diverged_label(ax, run, height=0.9)


def _empty_figure(*, steps, start, dpi):
    """The figure without a run: both panels with their axes, the contours, start and minimum.
    Returns (figure, left panel, right panel)."""
    figure = Figure(figsize=_FIGSIZE, dpi=dpi)
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2, width_ratios=(1, 1.7))
    draw_surface(left, start=start)
    left.set_title("path of the weights", fontsize=10)
    draw_loss_axes(right, steps=steps)
    right.set_title("loss above its minimum J*", fontsize=10)
    # A fixed layout: tight_layout would draw the whole figure once more just to measure it.
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.15, top=0.83, wspace=0.22)
    return figure, left, right


def _draw_run(figure, left, right, run):
    """What depends on the run: its path, its loss curve, the 'diverged' labels and the title.
    Returns the artists drawn on the panels (the title is the figure's own and is reset)."""
    figure.suptitle(f"learning rate η = {run.lr:.3g}: {describe_run(run).split(':')[0]}")
    return (draw_path(left, run) + _diverged_label(left, run, height=0.9)
            + draw_loss_curve(right, run) + _diverged_label(right, run))


def draw_learning_rate_run(run, *, dpi=FRAME_DPI):
    """Two panels for one ``introdl.descent.DescentRun``: the path of (w0, w1) on the contours of
    J, and J(w_k) − J* per step on a log axis; the title gives η and the verdict, and a run that
    diverged says 'diverged at step k' on both panels. Returns a matplotlib Figure of 8 × 3.4
    inches (not registered with pyplot: nothing to close)."""
    figure, left, right = _empty_figure(steps=run.steps, start=run.path[0], dpi=dpi)
    _draw_run(figure, left, right, run)
    return figure


class LearningRateFrames:
    """The explorer's frames: ``draw_learning_rate_run``'s picture as PNG bytes, for any η.

    One figure is kept from frame to frame, so that its axes, ticks and contours are made once:
    each frame removes the previous run's lines and labels, draws the new run's and renders the
    whole figure again (a plain redraw; nothing of the previous picture is reused).
    """

    def __init__(self, *, steps=DEFAULT_STEPS, start=DEFAULT_START):
        self.steps, self.start = steps, start
        self.figure, self.left, self.right = _empty_figure(steps=steps, start=start, dpi=FRAME_DPI)
        self.drawn = []

    def __call__(self, lr):
        """The frame for learning rate ``lr`` as PNG bytes."""
        for artist in self.drawn:
            artist.remove()
        run = learning_rate_run(lr, steps=self.steps, start=self.start)
        self.drawn = _draw_run(self.figure, self.left, self.right, run)
        return figure_to_png(self.figure, dpi=FRAME_DPI)


# ---------------------------------------------------------------- the explorer
def learning_rate_explorer(*, steps=DEFAULT_STEPS, grid=LEARNING_RATE_GRID, initial=0.3):
    """A log-scale learning-rate slider over ``grid`` that reruns gradient descent and redraws.

    Returns an ``introdl.widgets.Explorer``: displayed in a kernel it is a live slider; on the
    website its static twin switches between the frames precomputed for ``grid``.
    """
    frame = LearningRateFrames(steps=steps)

    def readout(lr):
        return describe_run(learning_rate_run(lr, steps=steps))

    def alt(lr):
        return (f"Gradient descent with learning rate η = {lr:.3g}: {readout(lr)}. First the path of "
                f"the weights on the contour lines of the loss, then the loss above its minimum, step by step.")

    # The two panels of the figure (fractions of its width and height, for the layout of
    # ``_empty_figure``), without the title: the readout above says the same.
    panels = {"path of the weights": (0.0, 0.09, 0.366, 1.0), "loss per step": (0.366, 0.09, 1.0, 1.0)}
    return Explorer(frame, grid, description="learning rate η", initial=initial, readout=readout,
                    log_scale=True, alt=alt, panels=panels)
