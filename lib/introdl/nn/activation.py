"""Activation layers: a non-linearity g applied elementwise, and its derivative g' for backward.

Introduced in chapter 2; their backward pass in chapter 6.
"""
import numpy as np

from .. import functional as F
from .module import Module


class _Elementwise(Module):
    """a = g(z) elementwise; backward multiplies ∂L/∂a by g'(z) (the chain rule, one factor).

    A subclass names its ``function`` g and its ``derivative`` g'. Any shape in, the same shape out.
    """

    function = staticmethod(lambda z: z)
    derivative = staticmethod(lambda z: 1.0)

    def forward(self, z):
        self.save_for_backward(z)
        return self.function(z)  # a = g(z)

    def backward(self, grad_output):
        (z,) = self.saved_tensors
        return grad_output * self.derivative(z)  # ∂L/∂z = ∂L/∂a · g'(z)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Sigmoid(_Elementwise):
    """σ(z) = 1 / (1 + e^(−z)); σ'(z) = σ(z)(1 − σ(z)). Any shape in, the same shape out.

    Introduced in chapter 1. Source: https://pytorch.org/docs/stable/generated/torch.nn.Sigmoid.html
    """

    function = staticmethod(F.sigmoid)
    derivative = staticmethod(F.sigmoid_derivative)


class Tanh(_Elementwise):
    """tanh(z); tanh'(z) = 1 − tanh(z)². Any shape in, the same shape out.

    Introduced in chapter 2. Source: https://pytorch.org/docs/stable/generated/torch.nn.Tanh.html
    """

    function = staticmethod(np.tanh)
    derivative = staticmethod(lambda z: 1.0 - np.tanh(z) ** 2)  # tanh'(z) = 1 − tanh(z)²


class ReLU(_Elementwise):
    """max(0, z); derivative 1 for z > 0 and 0 otherwise (0 at z = 0, as torch). Any shape.

    Introduced in chapter 2. Source: https://pytorch.org/docs/stable/generated/torch.nn.ReLU.html
    """

    function = staticmethod(lambda z: np.maximum(z, 0.0))  # max(0, z)
    derivative = staticmethod(lambda z: (z > 0).astype(z.dtype))  # 1 where z > 0, else 0
