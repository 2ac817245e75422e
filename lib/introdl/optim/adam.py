"""Adam: momentum and RMSprop together, with the bias of their zero start corrected."""
import numpy as np

from .._validation import check_number
from .optimizer import Optimizer, gradient


class Adam(Optimizer):
    """Adam, like ``torch.optim.Adam``.

    For each parameter θ with gradient ∇, at its t-th update (t = 1, 2, ...)::

        g ← −∇ if maximize else ∇
        g ← g + λ·θ                             L2 weight decay (AdamW instead: θ ← θ·(1 − η·λ))
        m ← β₁·m + (1 − β₁)·g                   running average of the gradients (momentum)
        v ← β₂·v + ((1 − β₂)·g)·g               running average of their squares (RMSprop)
        if amsgrad:
            v_max ← max(v_max, v)               never let the denominator shrink
            v ← v_max                           (for this step's update only)
        m̂ = m / (1 − β₁ᵗ)                       bias correction
        √v̂ = √v / √(1 − β₂ᵗ)
        θ ← θ − η · m̂ / (√v̂ + ε)

    m and v start at 0, so early on they are too small by the factors 1 − β₁ᵗ and 1 − β₂ᵗ;
    m̂ and v̂ divide those out ("bias correction"). ε > 0 keeps the division defined when v = 0.

    Args:
        params: the Parameters to update, usually ``model.parameters()``.
        lr (float): η, ≥ 0. Default 1e-3.
        betas (tuple): (β₁, β₂), each in [0, 1). Default (0.9, 0.999).
        eps (float): ε, ≥ 0. Default 1e-8.
        weight_decay (float): λ, ≥ 0. Default 0.
        amsgrad (bool): use v_max, the largest v so far. Default False.
        maximize (bool): climb the function instead of descending it. Default False.
        decoupled_weight_decay (bool): keyword only, as in torch; True makes this
            :class:`AdamW`. Default False.

    State per parameter: ``"step"`` t (an int), ``"exp_avg"`` m, ``"exp_avg_sq"`` v and, with
    amsgrad, ``"max_exp_avg_sq"`` v_max: arrays of θ's shape starting at 0.

    Raises:
        ValueError: a hyperparameter out of its range, or betas that are not a pair.

    Source: D. P. Kingma & J. Ba, "Adam: A Method for Stochastic Optimization",
    arXiv:1412.6980, ICLR 2015; amsgrad: S. J. Reddi, S. Kale & S. Kumar, "On the Convergence of
    Adam and Beyond", ICLR 2018. The update order is torch's
    (https://pytorch.org/docs/stable/generated/torch.optim.Adam.html).
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

    def _initial_state(self, theta, group):
        state = {"step": 0, "exp_avg": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(theta)
        return state

    def _update(self, theta, grad, state, *, lr, betas, eps, weight_decay, amsgrad, maximize,
                decoupled_weight_decay):
        state["step"] += 1
        t = state["step"]
        beta1, beta2 = betas
        if decoupled_weight_decay:  # AdamW: shrink θ directly, outside the adaptive scaling
            theta *= 1 - lr * weight_decay
            g = gradient(grad, theta, 0, maximize)
        else:
            g = gradient(grad, theta, weight_decay, maximize)
        m = beta1 * state["exp_avg"] + (1 - beta1) * g
        v = beta2 * state["exp_avg_sq"] + ((1 - beta2) * g) * g
        state["exp_avg"], state["exp_avg_sq"] = m, v
        if amsgrad:
            v = state["max_exp_avg_sq"] = np.maximum(state["max_exp_avg_sq"], v)
        m_hat = m / (1 - beta1**t)
        sqrt_v_hat = np.sqrt(v) / np.sqrt(1 - beta2**t)  # √v̂, without forming v̂ (which may overflow)
        theta -= lr * m_hat / (sqrt_v_hat + eps)


def _check_betas(betas):
    """``betas`` as a pair of floats in [0, 1), or a clear error."""
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
    return (check_number(beta1, "betas[0]", low=0, high=1, high_open=True),
            check_number(beta2, "betas[1]", low=0, high=1, high_open=True))
