"""Dropout: in training, zero each unit with probability p and scale the survivors by 1/(1 − p)."""
import numpy as np

from .._validation import as_float_array, check_number, check_rng
from .module import Module


class Dropout(Module):
    """Inverted dropout, like ``torch.nn.Dropout``.

    Training: y = x · m / (1 − p), with m_i ~ Bernoulli(1 − p), so E[y] = x.
    Evaluation (``eval()``) or p = 0: y = x, deterministic.
    Backward uses the same mask: ∂L/∂x = ∂L/∂y · m / (1 − p).

    Args:
        p (float, default 0.5): the probability of dropping a unit, in [0, 1).
        rng (numpy.random.Generator or None, default None): where the masks come from.

    Shapes: x of any shape; y and ``grad_output`` of the same shape.

    Raises:
        ValueError: p outside [0, 1). TypeError: rng not a numpy Generator.

    Source: Srivastava et al. 2014, "Dropout: a simple way to prevent neural networks from
    overfitting", JMLR 15; https://pytorch.org/docs/stable/generated/torch.nn.Dropout.html
    """

    def __init__(self, p=0.5, *, rng=None):
        self.p = check_number(p, "dropout rate p", low=0.0, high=1.0, high_open=True)
        self.rng = check_rng(rng)

    def forward(self, x):
        x = as_float_array(x, "input to Dropout", allow_empty=True)
        if self.training and self.p > 0.0:
            m = self.rng.random(x.shape) >= self.p  # keep each unit with probability 1 − p
            scaled_mask = m.astype(x.dtype) / (1.0 - self.p)  # m / (1 − p)
        else:
            scaled_mask = np.ones_like(x)  # the identity
        self.save_for_backward(scaled_mask)
        return x * scaled_mask  # y = x · m / (1 − p)

    def backward(self, grad_output):
        (scaled_mask,) = self.saved_tensors()
        grad_output = self._check_grad_output(grad_output, scaled_mask.shape)
        return grad_output * scaled_mask  # ∂L/∂x = ∂L/∂y · m / (1 − p)

    def __repr__(self):
        return f"Dropout(p={self.p})"
