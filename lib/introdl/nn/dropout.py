"""Dropout: in training, zero each unit with probability p and scale the survivors by 1/(1 − p)."""
import numpy as np

from .._validation import as_float_array, check_number, check_rng
from .module import Module


class Dropout(Module):
    """Inverted dropout, like ``torch.nn.Dropout``.

    Training: y = x · m / (1 − p), with m_i ~ Bernoulli(1 − p), so E[y] = x.
    Evaluation (``eval()``): y = x, deterministic.
    Backward uses the same mask: ∂L/∂x = ∂L/∂y · m / (1 − p).
    x: any shape; returns the same shape.
    """

    def __init__(self, p=0.5, *, rng=None):
        self.p = check_number(p, "dropout rate p", low=0.0, high=1.0, high_open=True)
        self.rng = check_rng(rng)
        self._scaled_mask = None
        self._input_shape = None  # set by forward; backward before forward is an error

    def forward(self, x):
        x = as_float_array(x, "input to Dropout")
        self._input_shape = x.shape
        if not self.training or self.p == 0.0:
            self._scaled_mask = None
            return x
        keep = self.rng.random(x.shape) >= self.p
        self._scaled_mask = keep.astype(x.dtype) / (1.0 - self.p)
        return x * self._scaled_mask

    def backward(self, grad_output):
        if self._input_shape is None:
            raise RuntimeError("Dropout.backward called before forward")
        grad_output = as_float_array(grad_output, "grad_output")
        if grad_output.shape != self._input_shape:
            raise ValueError(f"grad_output must have the input's shape {self._input_shape}, got {grad_output.shape}")
        if self._scaled_mask is None:  # eval mode or p = 0: the identity
            return grad_output
        return grad_output * self._scaled_mask

    def __repr__(self):
        return f"Dropout(p={self.p})"
