"""Activation layers: a non-linearity applied elementwise, and its derivative for backward."""
from .. import functional as F
from .._validation import as_float_array
from .module import Module


class _Elementwise(Module):
    """g(z) elementwise; backward multiplies ∂L/∂g by g'(z) (the chain rule, one factor)."""

    function = staticmethod(lambda z: z)
    derivative = staticmethod(lambda z: 1.0)

    def __init__(self):
        self._input = None

    def forward(self, z):
        self._input = as_float_array(z, f"input to {type(self).__name__}")
        return self.function(self._input)

    def backward(self, grad_output):
        if self._input is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        grad_output = as_float_array(grad_output, "grad_output")
        if grad_output.shape != self._input.shape:
            raise ValueError(f"grad_output must have the input's shape {self._input.shape}, got {grad_output.shape}")
        return grad_output * self.derivative(self._input)


class Sigmoid(_Elementwise):
    """σ(z) = 1 / (1 + e^(−z)); σ'(z) = σ(z)(1 − σ(z)). Any shape in, the same shape out."""

    function = staticmethod(F.sigmoid)
    derivative = staticmethod(F.sigmoid_derivative)


class Tanh(_Elementwise):
    """tanh(z); tanh'(z) = 1 − tanh(z)². Any shape in, the same shape out."""

    function = staticmethod(F.tanh)
    derivative = staticmethod(F.tanh_derivative)


class ReLU(_Elementwise):
    """max(0, z); derivative 1 for z > 0 and 0 otherwise. Any shape in, the same shape out."""

    function = staticmethod(F.relu)
    derivative = staticmethod(F.relu_derivative)
