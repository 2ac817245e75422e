"""The learning-rate explorer: gradient descent on a real two-weight loss, one learning rate at a time.

The loss surface is the mean squared error of a straight line ŷ = w0 + w1·x fitted to
``introdl.data.regression_1d`` (50 noisy points of sin 2πx, x in [0, 1])::

    J(w) = (1/N) Σ_i (w0 + w1·x_i − y_i)²,      w = (w0, w1).

It is a quadratic bowl whose Hessian H = (2/N) AᵀA (A has the rows [1, x_i]) is the same at
every w. Because x lies in [0, 1] and is not centred, the bowl is long and narrow: its two
curvatures (the eigenvalues of H) differ about 19-fold. That makes the three regimes easy to see:

* too small: the weights barely move in the steps shown;
* stable (η < 2/λ_max): the path converges to the least-squares minimum;
* too large (η > 2/λ_max): every step overshoots further along the steep direction, the path
  zig-zags outwards and the loss explodes.

``learning_rate_run`` computes one run (a pure function), ``draw_learning_rate_run`` draws it, and
``learning_rate_explorer`` puts both behind a log-scale slider (an ``Explorer``), drawing its
frames with ``LearningRateFrames``, which redraws only what changes from one move to the next.
"""
from dataclasses import dataclass
from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import data
from .._validation import as_float_array, check_number, check_positive_int
from .explorer import Explorer
from .static_twin import palette_png

DEFAULT_STEPS = 100
DEFAULT_START = (-2.5, 0.0)
# The loss starts near 7. Above 1e8 the weights are thousands of times farther from the minimum
# than where they started; on a quadratic that only happens when every step multiplies the
# error, so we call it divergence and stop, long before the numbers would overflow to inf.
LOSS_BOUND = 1e8
# The explorer's slider: 25 learning rates from "barely moves" to "diverges within a few steps".
LEARNING_RATE_GRID = np.logspace(-3, np.log10(2.0), 25)


# ---------------------------------------------------------------- the loss surface
class LossSurface:
    """J(w) = mean((A w − y)²): the loss of a line ŷ = w0 + w1·x on the data (x, y).

    x, y: (N,). A: (N, 2) with rows [1, x_i], so w0 is the bias and w1 the slope.
    hessian: (2, 2) = (2/N) AᵀA, the same everywhere because J is quadratic.
    minimum: (2,) the least-squares weights w*; minimum_loss: J(w*).
    extent: (w0_min, w0_max, w1_min, w1_max), the window that is drawn;
    grid_w0, grid_w1, grid_loss: (resolution, resolution), J on that window, computed once here
    so that drawing a run never recomputes it.
    """

    def __init__(self, x, y, *, extent=(-3.5, 4.0, -5.0, 3.0), resolution=90):
        x = as_float_array(x, "x", ndim=1)
        self.y = as_float_array(y, "y", ndim=1)
        if len(x) != len(self.y):
            raise ValueError(f"x and y must have the same length, got {len(x)} and {len(self.y)}")
        self.A = np.column_stack([np.ones_like(x), x])
        self.hessian = 2.0 / len(x) * self.A.T @ self.A
        self.minimum = np.linalg.lstsq(self.A, self.y, rcond=None)[0]
        self.minimum_loss = float(self.loss(self.minimum))
        self.extent = tuple(float(e) for e in extent)
        self.grid_w0, self.grid_w1 = np.meshgrid(np.linspace(*self.extent[:2], resolution),
                                                 np.linspace(*self.extent[2:], resolution))
        self.grid_loss = self.loss(np.stack([self.grid_w0, self.grid_w1], axis=-1))

    def loss(self, w):
        """J(w) for w: (..., 2), one point or a whole grid of them; returns (...)."""
        residuals = np.asarray(w, dtype=np.float64) @ self.A.T - self.y  # (..., N)
        return np.mean(residuals**2, axis=-1)

    def gradient(self, w):
        """∇J(w) = (2/N) Aᵀ(A w − y) for w: (2,); returns (2,)."""
        return 2.0 / len(self.y) * self.A.T @ (self.A @ w - self.y)


@lru_cache(maxsize=1)
def learning_rate_surface():
    """The chapter's loss surface, built once and then cached: a line fitted to 50 points of
    ``regression_1d`` (noise 0.1) drawn with ``np.random.default_rng(7)``."""
    x, y = data.regression_1d(50, noise=0.1, rng=np.random.default_rng(7))
    return LossSurface(x[:, 0], y)


# ---------------------------------------------------------------- one run of gradient descent
@dataclass(frozen=True)
class DescentRun:
    """The record of one run of gradient descent.

    lr: the learning rate η; steps: the number of steps asked for.
    path: (n + 1, d) the weights w_0, w_1, …, w_n; losses: (n + 1,) the loss J(w_k) of each.
    A run that stayed finite has n = steps and ``diverged_at`` None. A run that diverged has
    ``diverged_at`` = k, the first step whose loss was inf, NaN or above the bound; that step is
    not stored (n = k − 1), so the arrays never hold an inf or a NaN.
    """

    lr: float
    steps: int
    path: np.ndarray
    losses: np.ndarray
    diverged_at: int | None

    @property
    def diverged(self):
        """True when the run stopped early because the loss ran away."""
        return self.diverged_at is not None


def gradient_descent(loss, gradient, start, lr, steps, *, bound=LOSS_BOUND):
    """Plain gradient descent, w_{k+1} = w_k − η ∇J(w_k), that stops as soon as it diverges.

    loss: w (d,) → float; gradient: w (d,) → (d,); start: (d,) the first weights w_0;
    lr: η ≥ 0; steps: how many steps to take at most.
    Stops at the first step k whose weights are not finite or whose loss is not finite or
    exceeds ``bound``, and records k as ``diverged_at``. Returns a ``DescentRun``.
    """
    lr = check_number(lr, "lr", low=0)
    steps = check_positive_int(steps, "steps")
    w = as_float_array(start, "start", ndim=1).copy()
    first = float(loss(w))
    if not first <= bound:  # written this way round so that a NaN fails it too
        raise ValueError(f"the loss at the start must be finite and at most {bound:g}, got {first}")
    path, losses, diverged_at = [w], [first], None
    # A huge learning rate can overflow to inf within one step; detecting that is the point,
    # so numpy's overflow warning would only be noise.
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            w = w - lr * gradient(w)
            value = float(loss(w))
            if not (value <= bound and np.all(np.isfinite(w))):
                diverged_at = k
                break
            path.append(w)
            losses.append(value)
    return DescentRun(lr=lr, steps=steps, path=np.array(path), losses=np.array(losses),
                      diverged_at=diverged_at)


def learning_rate_run(lr, *, steps=DEFAULT_STEPS, start=DEFAULT_START):
    """Gradient descent with learning rate ``lr`` on the chapter's loss surface.

    A pure function of its arguments. Returns a ``DescentRun`` with path (n + 1, 2) (the
    weights (w0, w1) after each step), losses (n + 1,) and ``diverged_at``; n = steps unless the
    run diverged, in which case it stopped at step ``diverged_at`` (and no NaN is stored).
    """
    surface = learning_rate_surface()
    return gradient_descent(surface.loss, surface.gradient, start, lr, steps)


def describe_run(run):
    """A one-line verdict on a run of ``learning_rate_run``.

    'diverged at step 7: …', 'converged: final loss 0.1991 (minimum 0.1990)',
    'still far from the minimum after 100 steps: …' or 'diverging: the loss grew …';
    ', zig-zagging' is added when η > 1/λ_max (each step overshoots the valley floor).
    """
    if run.diverged:
        return f"diverged at step {run.diverged_at}: the loss passed {LOSS_BOUND:.0e}"
    surface = learning_rate_surface()
    first, last, best = run.losses[0], run.losses[-1], surface.minimum_loss
    if last > first:
        # Still finite after every step shown, but each step made it worse: divergence in slow motion.
        verdict = f"diverging: the loss grew from {first:.3g} to {last:.3g} in {run.steps} steps"
    elif last - best <= 1e-3 * (first - best):  # 99.9 % of the way down to the minimum
        verdict = f"converged: final loss {last:.4f} (minimum {best:.4f})"
    else:
        verdict = f"still far from the minimum after {run.steps} steps: final loss {last:.4f} (minimum {best:.4f})"
    if run.lr * np.linalg.eigvalsh(surface.hessian)[-1] > 1:
        verdict += ", zig-zagging"
    return verdict


# ---------------------------------------------------------------- drawing
# Every frame has the same axis limits, so that moving the slider compares like with like.
# Labels are plain Unicode rather than $math$: matplotlib's math parser is slow, and the
# slider redraws on every move.
_GAP_LIMITS = (1e-10, 1e10)
_GAP_TICKS = [1e-10, 1e-6, 1e-2, 1e2, 1e6, 1e10]
_DIVERGED_STYLE = dict(color="white", fontsize=10, fontweight="bold", ha="center", va="center",
                       bbox=dict(boxstyle="round", facecolor="tab:red", edgecolor="none"))
_FIGSIZE = (8.0, 3.4)
FRAME_DPI = 72  # both ways of rendering use it, so they give the same picture; 72 keeps chapter 7 light


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


class RunArtists:
    """The parts of the figure that change with the run: the path, the loss curve, the
    'diverged at step k' labels and the title. Either axis may be None (that panel is skipped).

    ``show(run)`` points them at a new run. With ``animated=True`` the figure's ordinary draw
    leaves them out, so a renderer can draw everything else once and only these on every move.
    """

    def __init__(self, path_ax=None, loss_ax=None, *, figure=None, animated=False, color="tab:blue"):
        self.path_ax, self.loss_ax = path_ax, loss_ax
        self.artists = []
        if path_ax is not None:
            self.path, = path_ax.plot([], [], "-o", color=color, markersize=2.5, linewidth=1.2)
            self.path_label = path_ax.text(0.5, 0.9, "", transform=path_ax.transAxes, **_DIVERGED_STYLE)
            self.artists += [self.path, self.path_label]
        if loss_ax is not None:
            self.curve, = loss_ax.plot([], [], "-", color=color)
            self.end, = loss_ax.plot([], [], "x", color="tab:red", markersize=9, markeredgewidth=2)
            self.loss_label = loss_ax.text(0.5, 0.5, "", transform=loss_ax.transAxes, **_DIVERGED_STYLE)
            self.artists += [self.curve, self.end, self.loss_label]
        self.title = figure.suptitle("") if figure is not None else None
        if self.title is not None:
            self.artists.append(self.title)
        for artist in self.artists:
            artist.set_animated(animated)

    def show(self, run):
        """Set every artist from ``run`` (a ``DescentRun``)."""
        label = f"diverged at step {run.diverged_at}" if run.diverged else ""
        if self.path_ax is not None:
            self.path.set_data(run.path[:, 0], run.path[:, 1])
            self.path_label.set_text(label)
            self.path_label.set_visible(run.diverged)
        if self.loss_ax is not None:
            # How far above the minimum; the floor keeps a run that reached it off log(0).
            gap = np.maximum(run.losses - learning_rate_surface().minimum_loss, _GAP_LIMITS[0])
            self.curve.set_data(np.arange(len(gap)), gap)
            self.end.set_data([len(gap) - 1], [gap[-1]])
            self.end.set_visible(run.diverged)
            self.loss_label.set_text(label)
            self.loss_label.set_visible(run.diverged)
        if self.title is not None:
            self.title.set_text(f"learning rate η = {run.lr:.3g}: {describe_run(run).split(':')[0]}")


def _two_panels(figure, steps, start):
    left, right = figure.subplots(1, 2, width_ratios=(1, 1.7))
    draw_surface(left, start=start)
    left.set_title("path of the weights", fontsize=10)
    draw_loss_axes(right, steps=steps)
    right.set_title("loss above its minimum J*", fontsize=10)
    # A fixed layout: tight_layout would draw the whole figure once more just to measure it.
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.15, top=0.83, wspace=0.22)
    return left, right


def draw_path_on_surface(ax, run, *, color="tab:blue"):
    """Draw one run's path of weights on the contours of J, on ``ax`` (for figures of several runs)."""
    draw_surface(ax, start=run.path[0])
    RunArtists(path_ax=ax, color=color).show(run)


def draw_learning_rate_run(run):
    """Two panels for one ``DescentRun``: the path of (w0, w1) on the contours of J, and
    J(w_k) − J* per step on a log axis; the title gives η and the verdict, and a run that
    diverged says 'diverged at step k' on both panels. Returns a matplotlib Figure."""
    figure = plt.figure(figsize=_FIGSIZE)
    left, right = _two_panels(figure, run.steps, run.path[0])
    RunArtists(left, right, figure=figure).show(run)
    return figure


class LearningRateFrames:
    """Renders ``draw_learning_rate_run``'s figure as PNG bytes, fast, for a slider.

    The figure is built and drawn once, without the parts that depend on the run; that
    background is kept. Each call then only runs gradient descent, restores the background,
    draws the path, the loss curve, the labels and the title on it (matplotlib's "blitting") and
    encodes the pixels. The picture is the one ``draw_learning_rate_run`` gives (in 256 colours).
    """

    def __init__(self, *, steps=DEFAULT_STEPS, start=DEFAULT_START):
        self.steps, self.start = steps, start
        # A bare Figure, not pyplot's: it is never shown and lives as long as the explorer.
        self.figure = Figure(figsize=_FIGSIZE, dpi=FRAME_DPI)
        FigureCanvasAgg(self.figure)
        left, right = _two_panels(self.figure, steps, start)
        self.run_artists = RunArtists(left, right, figure=self.figure, animated=True)
        self.figure.canvas.draw()
        self.background = self.figure.canvas.copy_from_bbox(self.figure.bbox)

    def __call__(self, lr):
        """The frame for learning rate ``lr`` as PNG bytes."""
        self.run_artists.show(learning_rate_run(lr, steps=self.steps, start=self.start))
        canvas = self.figure.canvas
        canvas.restore_region(self.background)
        for artist in self.run_artists.artists:
            self.figure.draw_artist(artist)
        return palette_png(canvas.buffer_rgba())


# ---------------------------------------------------------------- the explorer
def learning_rate_explorer(*, steps=DEFAULT_STEPS, grid=LEARNING_RATE_GRID, initial=0.3):
    """A log-scale learning-rate slider over ``grid`` that reruns gradient descent and redraws.

    Returns an ``introdl.widgets.Explorer``: displayed in a kernel it is a live slider; on the
    website its static twin switches between the frames precomputed for ``grid``.
    """
    frames = LearningRateFrames(steps=steps)

    def readout(lr):
        return describe_run(learning_rate_run(lr, steps=steps))

    def alt(lr):
        return (f"Gradient descent with learning rate η = {lr:.3g}: {readout(lr)}. First the path of "
                f"the weights on the contour lines of the loss, then the loss above its minimum, step by step.")

    # The two panels of the figure (fractions of its width and height, for the layout of
    # ``_two_panels``), without the title: the readout above says the same.
    panels = {"path of the weights": (0.0, 0.09, 0.366, 1.0), "loss per step": (0.366, 0.09, 1.0, 1.0)}
    return Explorer(frames, grid, description="learning rate η", initial=initial, readout=readout,
                    log_scale=True, alt=alt, panels=panels)
