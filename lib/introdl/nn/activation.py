"""Activation layers: a non-linearity g applied elementwise, and its derivative g' for backward."""
from .. import functional as F
from .._validation import as_float_array
from .module import Module


class _Elementwise(Module):
    """a = g(z) elementwise; backward multiplies ∂L/∂a by g'(z) (the chain rule, one factor).

    A subclass names its ``function`` g and its ``derivative`` g' from ``introdl.functional``.
    Any shape in, the same shape out; ``grad_output`` must have that shape too.
    """

    def forward(self, z):
        z = as_float_array(z, f"input to {type(self).__name__}", allow_empty=True)
        self.save_for_backward(z)
        return self.function(z)  # a = g(z)

    def backward(self, grad_output):
        (z,) = self.saved_tensors()
        grad_output = self._check_grad_output(grad_output, z.shape)
        return grad_output * self.derivative(z)  # ∂L/∂z = ∂L/∂a · g'(z)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Sigmoid(_Elementwise):
    """σ(z) = 1 / (1 + e^(−z)); σ'(z) = σ(z)(1 − σ(z)).

    Source: https://pytorch.org/docs/stable/generated/torch.nn.Sigmoid.html
    """

    function = staticmethod(F.sigmoid)
    derivative = staticmethod(F.sigmoid_derivative)


class Tanh(_Elementwise):
    """tanh(z); tanh'(z) = 1 − tanh(z)².

    Source: https://pytorch.org/docs/stable/generated/torch.nn.Tanh.html
    """

    function = staticmethod(F.tanh)
    derivative = staticmethod(F.tanh_derivative)


class ReLU(_Elementwise):
    """max(0, z); derivative 1 for z > 0 and 0 otherwise (0 at z = 0, as torch).

    Source: https://pytorch.org/docs/stable/generated/torch.nn.ReLU.html
    """

    function = staticmethod(F.relu)
    derivative = staticmethod(F.relu_derivative)
