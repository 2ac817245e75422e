"""Adagrad: a learning rate per weight that shrinks as that weight's squared gradients add up."""
import numpy as np

from .._validation import check_number
from ._inplace import add_weighted_square_
from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer, 2011), like ``torch.optim.Adagrad``.

    For each parameter θ with gradient ∇, at its t-th update (t = 1, 2, ...; η = ``lr``,
    λ = ``weight_decay``, ε = ``eps``)::

        g   ← −∇ if maximize else ∇
        g   ← g + λ·θ                         L2 weight decay
        η_t = η / (1 + (t − 1)·lr_decay)       a learning rate that decays with the step count
        s   ← s + g²                          every squared gradient so far, element by element
        θ   ← θ − η_t · g / (√s + ε)

    A weight whose gradients have been large takes small steps and one whose gradients have been
    small takes large ones. Because s only grows, the steps shrink for good: fine for convex
    problems, often too early a stop for deep networks (what RMSprop and Adadelta fix).
    ε > 0 keeps the division defined when s = 0.

    State per parameter: ``"step"`` t (an int) and ``"sum"`` s, an array of θ's shape that starts
    at ``initial_accumulator_value``.
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

    def _initial_state(self, data):
        return {"step": 0, "sum": np.full_like(data, self.initial_accumulator_value)}

    def _update(self, data, grad, state):
        state["step"] += 1
        g = self._gradient(data, grad, self.weight_decay)
        step_lr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        squared_sum = state["sum"]
        add_weighted_square_(squared_sum, g, 1)
        # One new array, reused: first √s + ε, then the step η_t·g/(√s + ε).
        step = np.sqrt(squared_sum)
        step += self.eps
        np.divide(g, step, out=step)
        step *= step_lr
        data -= step
