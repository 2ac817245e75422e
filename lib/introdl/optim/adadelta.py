"""Adadelta: Adagrad with a forgetting running average, and steps measured in the units of θ."""
import numpy as np

from .._validation import check_number
from .optimizer import Optimizer, gradient


class Adadelta(Optimizer):
    """Adadelta, like ``torch.optim.Adadelta``.

    For each parameter θ with gradient ∇::

        g ← −∇ if maximize else ∇
        g ← g + λ·θ                             L2 weight decay
        v ← ρ·v + ((1 − ρ)·g)·g                 running average of squared gradients
        Δ ← √(u + ε) / √(v + ε) · g             the step, before the learning rate
        u ← ρ·u + ((1 − ρ)·Δ)·Δ                 running average of squared steps
        θ ← θ − η·Δ

    Instead of a learning rate in front of g/√v, Adadelta uses √u, the typical size of its own
    recent steps, so that Δ has the units of θ; torch keeps η as an extra factor (default 1).
    ε sits inside both square roots: it makes the very first step nonzero (u = 0 there) and keeps
    the division defined when v = 0.

    Args:
        params: the Parameters to update, usually ``model.parameters()``.
        lr (float): η, ≥ 0. Default 1.0.
        rho (float): ρ, in [0, 1]. Default 0.9.
        eps (float): ε, ≥ 0. Default 1e-6.
        weight_decay (float): λ, the L2 penalty, ≥ 0. Default 0.
        maximize (bool): climb the function instead of descending it. Default False.

    State per parameter: ``"step"`` (an int), ``"square_avg"`` v and ``"acc_delta"`` u, arrays of
    θ's shape starting at 0.

    Raises:
        ValueError: a hyperparameter out of its range.

    Source: M. D. Zeiler, "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701, 2012.
    The update order is torch's (https://pytorch.org/docs/stable/generated/torch.optim.Adadelta.html).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False):
        lr = check_number(lr, "lr", low=0)
        rho = check_number(rho, "rho", low=0, high=1)
        eps = check_number(eps, "eps", low=0)
        weight_decay = check_number(weight_decay, "weight_decay", low=0)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=bool(maximize)))

    def _initial_state(self, theta, group):
        return {"step": 0, "square_avg": np.zeros_like(theta), "acc_delta": np.zeros_like(theta)}

    def _update(self, theta, grad, state, *, lr, rho, eps, weight_decay, maximize):
        state["step"] += 1
        g = gradient(grad, theta, weight_decay, maximize)
        v = rho * state["square_avg"] + ((1 - rho) * g) * g
        delta = np.sqrt(state["acc_delta"] + eps) / np.sqrt(v + eps) * g
        u = rho * state["acc_delta"] + ((1 - rho) * delta) * delta
        state["square_avg"], state["acc_delta"] = v, u
        theta -= lr * delta
