"""Adam: momentum and RMSprop together, with the bias of their zero start corrected."""
import math

import numpy as np

from .._validation import check_number
from ._inplace import add_weighted_square_, lerp_
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), like ``torch.optim.Adam``.

    For each parameter θ with gradient ∇, at its t-th update (t = 1, 2, ...; η = ``lr``,
    (β₁, β₂) = ``betas``, ε = ``eps``, λ = ``weight_decay``)::

        g ← −∇ if maximize else ∇
        g ← g + λ·θ                             L2 weight decay (AdamW instead: θ ← θ·(1 − η·λ))
        m ← β₁·m + (1 − β₁)·g                   running average of the gradients (momentum)
        v ← β₂·v + (1 − β₂)·g²                  running average of their squares (RMSprop)
        if amsgrad:
            v_max ← max(v_max, v)               never let the denominator shrink
            v̂ = v_max
        else:
            v̂ = v
        θ ← θ − η/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)

    m and v start at 0, so early on they are too small by the factors 1 − β₁ᵗ and 1 − β₂ᵗ; the
    last line divides those out ("bias correction"): it is θ ← θ − η·m̂/(√v̂_c + ε) with
    m̂ = m/(1 − β₁ᵗ) and v̂_c = v̂/(1 − β₂ᵗ), written with ε where torch puts it.
    ε > 0 keeps the division defined when v = 0.

    ``decoupled_weight_decay=True`` (keyword only, as in torch) makes this AdamW: see ``AdamW``.

    State per parameter: ``"step"`` t (an int), ``"exp_avg"`` m, ``"exp_avg_sq"`` v and, with
    amsgrad, ``"max_exp_avg_sq"`` v_max: arrays of θ's shape starting at 0.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        lr = check_number(lr, "lr", low=0)
        betas = _check_betas(betas)
        eps = check_number(eps, "eps", low=0)
        weight_decay = check_number(weight_decay, "weight_decay", low=0)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=bool(amsgrad), maximize=bool(maximize),
                                      decoupled_weight_decay=bool(decoupled_weight_decay)))

    def _initial_state(self, data):
        state = {"step": 0, "exp_avg": np.zeros_like(data), "exp_avg_sq": np.zeros_like(data)}
        if self.amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(data)
        return state

    def _update(self, data, grad, state):
        state["step"] += 1
        t = state["step"]
        beta1, beta2 = self.betas
        if self.decoupled_weight_decay:
            # AdamW: shrink θ directly, outside the adaptive scaling.
            if self.weight_decay != 0:
                data *= 1 - self.lr * self.weight_decay
            g = self._gradient(data, grad, 0)
        else:
            g = self._gradient(data, grad, self.weight_decay)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]

        lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        add_weighted_square_(exp_avg_sq, g, 1 - beta2)
        if self.amsgrad:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            exp_avg_sq = state["max_exp_avg_sq"]

        bias_correction1 = 1 - beta1 ** t
        bias_correction2 = 1 - beta2 ** t
        # One new array, reused: first the denominator √v̂/√(1 − β₂ᵗ) + ε, then the step.
        step = np.sqrt(exp_avg_sq)
        step /= math.sqrt(bias_correction2)
        step += self.eps
        np.divide(exp_avg, step, out=step)
        step *= self.lr / bias_correction1
        data -= step


def _check_betas(betas):
    """``betas`` as a pair of floats in [0, 1), or a clear error."""
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
    return (check_number(beta1, "betas[0]", low=0, high=1, high_open=True),
            check_number(beta2, "betas[1]", low=0, high=1, high_open=True))
