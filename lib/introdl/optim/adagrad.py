"""Adagrad: a learning rate per weight that shrinks as that weight's squared gradients add up."""
import numpy as np

from .._validation import check_number
from .optimizer import Optimizer, gradient


class Adagrad(Optimizer):
    """Adagrad, like ``torch.optim.Adagrad``.

    For each parameter θ with gradient ∇, at its t-th update (t = 1, 2, ...)::

        g   ← −∇ if maximize else ∇
        g   ← g + λ·θ                         L2 weight decay
        η_t = η / (1 + (t − 1)·lr_decay)       a learning rate that decays with the step count
        s   ← s + g·g                         every squared gradient so far, element by element
        θ   ← θ − η_t · g / (√s + ε)

    A weight whose gradients have been large takes small steps and one whose gradients have been
    small takes large ones. Because s only grows, the steps shrink for good: fine for convex
    problems, often too early a stop for deep networks (what RMSprop and Adadelta fix).
    ε > 0 keeps the division defined when s = 0.

    Args:
        params: the Parameters to update, usually ``model.parameters()``.
        lr (float): η, ≥ 0. Default 1e-2.
        lr_decay (float): how fast η_t decays with t, ≥ 0. Default 0.
        weight_decay (float): λ, the L2 penalty, ≥ 0. Default 0.
        initial_accumulator_value (float): where s starts, ≥ 0. Default 0.
        eps (float): ε, ≥ 0. Default 1e-10.
        maximize (bool): climb the function instead of descending it. Default False.

    State per parameter: ``"step"`` t (an int) and ``"sum"`` s, an array of θ's shape that starts
    at ``initial_accumulator_value``.

    Raises:
        ValueError: a hyperparameter out of its range.

    Source: J. Duchi, E. Hazan & Y. Singer, "Adaptive Subgradient Methods for Online Learning
    and Stochastic Optimization", Journal of Machine Learning Research 12, 2011. The update
    order is torch's (https://pytorch.org/docs/stable/generated/torch.optim.Adagrad.html).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, maximize=False):
        lr = check_number(lr, "lr", low=0)
        lr_decay = check_number(lr_decay, "lr_decay", low=0)
        weight_decay = check_number(weight_decay, "weight_decay", low=0)
        initial_accumulator_value = check_number(initial_accumulator_value,
                                                 "initial_accumulator_value", low=0)
        eps = check_number(eps, "eps", low=0)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=bool(maximize)))

    def _initial_state(self, theta, group):
        return {"step": 0, "sum": np.full_like(theta, group["initial_accumulator_value"])}

    def _update(self, theta, grad, state, *, lr, lr_decay, weight_decay, initial_accumulator_value,
                eps, maximize):
        state["step"] += 1
        t = state["step"]
        g = gradient(grad, theta, weight_decay, maximize)
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s = state["sum"] + g * g
        state["sum"] = s
        theta -= lr_t * g / (np.sqrt(s) + eps)
