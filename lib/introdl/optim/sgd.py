"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""
from .._validation import check_number
from .optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent, like ``torch.optim.SGD`` (same arguments, defaults and order).

    For each parameter θ with gradient ∇ (η = ``lr``, μ = ``momentum``, τ = ``dampening``,
    λ = ``weight_decay``), one ``step()`` does::

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

    State per parameter: ``"momentum_buffer"`` b, an array of θ's shape, from the first step
    with μ ≠ 0 on (none without momentum).
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

    def _initial_state(self, data):
        return {}  # the momentum buffer is made from the first gradient, in _update

    def _update(self, data, grad, state):
        g = self._gradient(data, grad, self.weight_decay)
        if self.momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                # The velocity starts as the first gradient itself, undamped (torch does the same).
                buffer = state["momentum_buffer"] = g.copy()
            else:
                buffer *= self.momentum
                # (1 − τ)·g; with τ = 0 that is g itself, so no scaled copy is needed.
                buffer += g if self.dampening == 0 else (1 - self.dampening) * g
            if self.nesterov:
                g = g + self.momentum * buffer
            else:
                g = buffer
        data -= self.lr * g
