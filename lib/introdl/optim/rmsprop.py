"""RMSprop: divide each gradient by a running root-mean-square of its recent values."""
import numpy as np

from .._validation import check_number
from ._inplace import add_weighted_square_, lerp_
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop (Hinton, lecture notes, 2012), like ``torch.optim.RMSprop``.

    For each parameter θ with gradient ∇ (α = ``alpha``, ε = ``eps``, η = ``lr``,
    μ = ``momentum``, λ = ``weight_decay``)::

        g ← −∇ if maximize else ∇
        g ← g + λ·θ                             L2 weight decay
        v ← α·v + (1 − α)·g²                    running average of squared gradients
        if centered:
            ḡ ← α·ḡ + (1 − α)·g                 running average of the gradients
            d = √max(v − ḡ², 0) + ε             ≈ their standard deviation
        else:
            d = √v + ε                          their root mean square
        if μ > 0:
            b ← μ·b + g/d                       momentum on the normalised gradient
            θ ← θ − η·b
        else:
            θ ← θ − η·g/d

    Like Adagrad, each weight gets a step size scaled by its own gradients, but v forgets old
    gradients at the rate α, so the steps do not shrink for good. ε > 0 keeps the division
    defined when v = 0. The max(·, 0) is not in torch: v − ḡ² is a variance, never negative in
    exact arithmetic, but rounding can make it a hair below 0, where torch's square root gives NaN.

    State per parameter: ``"step"`` (an int), ``"square_avg"`` v, and, when needed,
    ``"grad_avg"`` ḡ (centered) and ``"momentum_buffer"`` b (μ > 0): arrays of θ's shape starting
    at 0.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        lr = check_number(lr, "lr", low=0)
        # torch only asks alpha >= 0; above 1 the "average" v can turn negative (then √v is NaN).
        alpha = check_number(alpha, "alpha", low=0, high=1)
        eps = check_number(eps, "eps", low=0)
        weight_decay = check_number(weight_decay, "weight_decay", low=0)
        momentum = check_number(momentum, "momentum", low=0)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=bool(centered),
                                      maximize=bool(maximize)))

    def _initial_state(self, data):
        state = {"step": 0, "square_avg": np.zeros_like(data)}
        if self.centered:
            state["grad_avg"] = np.zeros_like(data)
        if self.momentum > 0:
            state["momentum_buffer"] = np.zeros_like(data)
        return state

    def _update(self, data, grad, state):
        state["step"] += 1
        alpha = self.alpha
        g = self._gradient(data, grad, self.weight_decay)
        square_avg = state["square_avg"]

        square_avg *= alpha
        add_weighted_square_(square_avg, g, 1 - alpha)

        # d, the denominator, in one new array.
        if self.centered:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, g, 1 - alpha)
            variance = np.multiply(grad_avg, grad_avg)
            np.subtract(square_avg, variance, out=variance)  # v − ḡ²
            np.maximum(variance, 0, out=variance)
            denominator = np.sqrt(variance, out=variance)
        else:
            denominator = np.sqrt(square_avg)
        denominator += self.eps

        if self.momentum > 0:
            buffer = state["momentum_buffer"]
            buffer *= self.momentum
            buffer += np.divide(g, denominator, out=denominator)
            data -= self.lr * buffer
        else:
            step = np.divide(g, denominator, out=denominator)
            step *= self.lr
            data -= step
