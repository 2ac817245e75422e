"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""
import numpy as np

from .._validation import check_number
from .optimizer import Optimizer, gradient


class SGD(Optimizer):
    """Stochastic gradient descent, like ``torch.optim.SGD`` (same arguments, defaults and order).

    For each parameter θ with gradient ∇, one ``step()`` does::

        g ← −∇ if maximize else ∇
        g ← g + λ·θ                       L2 weight decay: the gradient of ½λ‖θ‖²
        if μ ≠ 0:
            b ← g                         at the first step (no dampening)
            b ← μ·b + (1 − τ)·g           at every later step
            g ← g + μ·b  if nesterov,  else  g ← b
        θ ← θ − η·g

    With μ = 0 this is plain gradient descent, θ ← θ − η·∇. Momentum keeps a decaying sum b
    of past gradients (a velocity), so that steps build up along directions where the gradients
    agree and cancel where they flip sign; Nesterov's variant looks one velocity step ahead.

    Args:
        params: the Parameters to update, usually ``model.parameters()``.
        lr (float): η, the learning rate, ≥ 0. Default 1e-3.
        momentum (float): μ, ≥ 0. Default 0 (no momentum).
        dampening (float): τ, the share of the new gradient left out of the velocity. Default 0.
        weight_decay (float): λ, the L2 penalty, ≥ 0. Default 0.
        nesterov (bool): Nesterov momentum; needs μ > 0 and τ = 0. Default False.
        maximize (bool): climb the function instead of descending it. Default False.

    State per parameter: ``"momentum_buffer"`` b, an array of θ's shape, from the first step
    with μ ≠ 0 on (none without momentum).

    Raises:
        ValueError: a hyperparameter out of its range, or nesterov without momentum.

    Sources: momentum, B. T. Polyak, "Some methods of speeding up the convergence of iteration
    methods", USSR Computational Mathematics and Mathematical Physics 4(5), 1964; Nesterov
    momentum, Y. Nesterov, "A method for solving the convex programming problem with convergence
    rate O(1/k²)", Soviet Mathematics Doklady 27, 1983, in the form of I. Sutskever, J. Martens,
    G. Dahl & G. Hinton, "On the importance of initialization and momentum in deep learning",
    ICML 2013. The update order is torch's (https://pytorch.org/docs/stable/generated/torch.optim.SGD.html).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False):
        lr = check_number(lr, "lr", low=0)
        momentum = check_number(momentum, "momentum", low=0)
        dampening = check_number(dampening, "dampening")
        weight_decay = check_number(weight_decay, "weight_decay", low=0)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "nesterov=True needs momentum > 0 and dampening = 0, "
                f"got momentum={momentum!r} and dampening={dampening!r}"
            )
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=bool(nesterov),
                                      maximize=bool(maximize)))

    def _initial_state(self, theta, group):
        return {}  # the momentum buffer is made from the first gradient, in _update

    def _update(self, theta, grad, state, *, lr, momentum, dampening, weight_decay, nesterov, maximize):
        g = gradient(grad, theta, weight_decay, maximize)
        if momentum != 0:
            if "momentum_buffer" not in state:
                b = np.array(g)  # the velocity starts as the first gradient itself (a copy)
            else:
                b = momentum * state["momentum_buffer"] + (1 - dampening) * g
            state["momentum_buffer"] = b
            g = g + momentum * b if nesterov else b
        theta -= lr * g
