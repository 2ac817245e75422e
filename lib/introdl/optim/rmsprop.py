"""RMSprop: divide each gradient by a running root-mean-square of its recent values."""
import numpy as np

from .._validation import check_number
from .optimizer import Optimizer, gradient


class RMSprop(Optimizer):
    """RMSprop, like ``torch.optim.RMSprop``.

    For each parameter θ with gradient ∇::

        g ← −∇ if maximize else ∇
        g ← g + λ·θ                             L2 weight decay
        v ← α·v + ((1 − α)·g)·g                 running average of squared gradients
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

    Args:
        params: the Parameters to update, usually ``model.parameters()``.
        lr (float): η, ≥ 0. Default 1e-2.
        alpha (float): α, the smoothing constant, in [0, 1]. Default 0.99.
        eps (float): ε, ≥ 0. Default 1e-8.
        weight_decay (float): λ, the L2 penalty, ≥ 0. Default 0.
        momentum (float): μ, ≥ 0. Default 0.
        centered (bool): divide by the standard deviation instead of the root mean square.
            Default False.
        maximize (bool): climb the function instead of descending it. Default False.

    State per parameter: ``"step"`` (an int), ``"square_avg"`` v, and, when needed,
    ``"grad_avg"`` ḡ (centered) and ``"momentum_buffer"`` b (μ > 0): arrays of θ's shape starting
    at 0.

    Raises:
        ValueError: a hyperparameter out of its range.

    Source: G. Hinton, N. Srivastava & K. Swersky, "Neural Networks for Machine Learning",
    lecture 6e, 2012 (unpublished slides). The update order is torch's
    (https://pytorch.org/docs/stable/generated/torch.optim.RMSprop.html).
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

    def _initial_state(self, theta, group):
        state = {"step": 0, "square_avg": np.zeros_like(theta)}
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(theta)
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(theta)
        return state

    def _update(self, theta, grad, state, *, lr, alpha, eps, weight_decay, momentum, centered, maximize):
        state["step"] += 1
        g = gradient(grad, theta, weight_decay, maximize)
        v = alpha * state["square_avg"] + ((1 - alpha) * g) * g
        state["square_avg"] = v
        if centered:
            g_avg = alpha * state["grad_avg"] + (1 - alpha) * g
            state["grad_avg"] = g_avg
            d = np.sqrt(np.maximum(v - g_avg * g_avg, 0)) + eps
        else:
            d = np.sqrt(v) + eps
        if momentum > 0:
            b = momentum * state["momentum_buffer"] + g / d
            state["momentum_buffer"] = b
            theta -= lr * b
        else:
            theta -= lr * g / d
