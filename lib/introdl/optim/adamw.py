"""AdamW: Adam with the weight decay taken out of the gradient and applied to the weights."""
from .adam import Adam


class AdamW(Adam):
    """AdamW, like ``torch.optim.AdamW``: Adam with decoupled weight decay, and
    ``weight_decay`` λ = 0.01 by default.

    One line of :class:`Adam` changes (η = ``lr``)::

        Adam:   g ← g + λ·θ          the decay joins the gradient, so √v̂ then rescales it
        AdamW:  θ ← θ·(1 − η·λ)      the decay shrinks θ directly, before the Adam step

    In Adam, a weight with large gradients has a large √v̂ and so is barely decayed at all;
    in AdamW every weight shrinks by the same factor 1 − η·λ per step. The rest of the step is
    Adam's, and so is the state.

    Args:
        params: the Parameters to update, usually ``model.parameters()``.
        lr (float): η, ≥ 0. Default 1e-3.
        betas (tuple): (β₁, β₂), each in [0, 1). Default (0.9, 0.999).
        eps (float): ε, ≥ 0. Default 1e-8.
        weight_decay (float): λ, ≥ 0. Default 1e-2.
        amsgrad (bool): use the largest v so far. Default False.
        maximize (bool): climb the function instead of descending it. Default False.

    Raises:
        ValueError: a hyperparameter out of its range, or betas that are not a pair.

    Source: I. Loshchilov & F. Hutter, "Decoupled Weight Decay Regularization",
    arXiv:1711.05101, ICLR 2019. The update order is torch's
    (https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
