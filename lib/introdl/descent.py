"""Gradient descent on a two-weight loss, one learning rate at a time (chapter 7).

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

``gradient_descent`` is the algorithm for any loss, ``learning_rate_run`` runs it on the
chapter's surface and ``describe_run`` gives its verdict. Drawing lives in
``introdl.widgets.learning_rate``. Source: Goodfellow, Bengio and Courville, *Deep Learning*
(2016), section 4.3 (gradient descent) and 8.2 (ill-conditioning); the step is the one of
``torch.optim.SGD`` without momentum.
"""
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import data
from ._validation import as_float_array, check_number, check_positive_int

DEFAULT_STEPS = 100
DEFAULT_START = (-2.5, 0.0)
# The loss starts near 7. Above 1e8 the weights are thousands of times farther from the minimum
# than where they started; on a quadratic that only happens when every step multiplies the
# error, so we call it divergence and stop, long before the numbers would overflow to inf.
LOSS_BOUND = 1e8

__all__ = ["DEFAULT_START", "DEFAULT_STEPS", "LOSS_BOUND", "LossSurface", "DescentRun", "gradient_descent",
           "learning_rate_surface", "learning_rate_run", "describe_run"]


# ---------------------------------------------------------------- the loss surface
class LossSurface:
    """J(w) = mean((A w − y)²): the loss of a line ŷ = w0 + w1·x on the data (x, y).

    x, y: (N,). A: (N, 2) with rows [1, x_i], so w0 is the bias and w1 the slope.
    hessian: (2, 2) = (2/N) AᵀA, the same everywhere because J is quadratic.
    minimum: (2,) the least-squares weights w*; minimum_loss: J(w*).
    extent: (w0_min, w0_max, w1_min, w1_max), the window that is drawn;
    grid_w0, grid_w1, grid_loss: (resolution, resolution), J on that window, computed once here
    so that drawing a run never recomputes it.
    Raises ValueError when x or y is not 1-D or finite, or their lengths differ.
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
    lr: η ≥ 0; steps: how many steps to take at most (a positive integer).
    Stops at the first step k whose weights are not finite or whose loss is not finite or
    exceeds ``bound``, and records k as ``diverged_at``. Returns a ``DescentRun``.
    Raises ValueError for a negative or non-finite lr, steps < 1, a start that is not a finite
    1-D array, or a loss at the start that is not finite or exceeds ``bound``.
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
