"""Adadelta: Adagrad with a forgetting running average, and steps measured in the units of θ."""
import numpy as np

from .._validation import check_number
from ._inplace import add_weighted_square_
from .optimizer import Optimizer


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), like ``torch.optim.Adadelta``.

    For each parameter θ with gradient ∇ (ρ = ``rho``, ε = ``eps``, η = ``lr``,
    λ = ``weight_decay``)::

        g ← −∇ if maximize else ∇
        g ← g + λ·θ                             L2 weight decay
        v ← ρ·v + (1 − ρ)·g²                    running average of squared gradients
        Δ ← √(u + ε) / √(v + ε) · g             the step, before the learning rate
        u ← ρ·u + (1 − ρ)·Δ²                    running average of squared steps
        θ ← θ − η·Δ

    Instead of a learning rate in front of g/√v, Adadelta uses √u, the typical size of its own
    recent steps, so that Δ has the units of θ; torch keeps η as an extra factor (default 1).
    ε sits inside both square roots: it makes the very first step nonzero (u = 0 there) and keeps
    the division defined when v = 0.

    State per parameter: ``"step"`` (an int), ``"square_avg"`` v and ``"acc_delta"`` u, arrays of
    θ's shape starting at 0.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False):
        lr = check_number(lr, "lr", low=0)
        rho = check_number(rho, "rho", low=0, high=1)
        eps = check_number(eps, "eps", low=0)
        weight_decay = check_number(weight_decay, "weight_decay", low=0)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=bool(maximize)))

    def _initial_state(self, data):
        return {"step": 0, "square_avg": np.zeros_like(data), "acc_delta": np.zeros_like(data)}

    def _update(self, data, grad, state):
        state["step"] += 1
        rho, eps = self.rho, self.eps
        g = self._gradient(data, grad, self.weight_decay)
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]

        square_avg *= rho
        add_weighted_square_(square_avg, g, 1 - rho)

        # Δ = √(u + ε) / √(v + ε) · g, built in one new array.
        delta = np.add(acc_delta, eps)
        np.sqrt(delta, out=delta)
        delta /= np.sqrt(square_avg + eps)
        delta *= g

        acc_delta *= rho
        add_weighted_square_(acc_delta, delta, 1 - rho)

        delta *= self.lr
        data -= delta
