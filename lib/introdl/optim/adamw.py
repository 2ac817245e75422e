"""AdamW: Adam with the weight decay taken out of the gradient and applied to the weights."""
from .adam import Adam


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019), like ``torch.optim.AdamW``: Adam with decoupled
    weight decay, and ``weight_decay`` λ = 0.01 by default.

    One line of Adam changes (η = ``lr``)::

        Adam:   g ← g + λ·θ          the decay joins the gradient, so √v̂ then rescales it
        AdamW:  θ ← θ·(1 − η·λ)      the decay shrinks θ directly, before the Adam step

    In Adam, a weight with large gradients has a large √v̂ and so is barely decayed at all;
    in AdamW every weight shrinks by the same factor 1 − η·λ per step. The rest of the step is
    Adam's, with g = −∇ if maximize else ∇ (see ``Adam``); the state is Adam's too.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
