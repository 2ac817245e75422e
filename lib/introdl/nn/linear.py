"""The dense (fully connected) layer: every output is a weighted sum of every input plus a bias."""
import numpy as np

from .. import functional as F
from .._validation import as_float_array, check_positive_int, check_rng
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """z = x Wᵀ + b, torch's layout, so weights copy to and from ``torch.nn.Linear`` unchanged.

    x: (N, in_features) → z: (N, out_features).
    weight: (out_features, in_features); bias: (out_features,).
    Initialised as torch does: W and b uniform in ±1/√in_features.
    """

    def __init__(self, in_features, out_features, *, rng=None, dtype=np.float64):
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        rng = check_rng(rng)
        bound = 1.0 / np.sqrt(in_features)
        self.weight = Parameter(rng.uniform(-bound, bound, (out_features, in_features)).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, out_features).astype(dtype))
        self._input = None

    def forward(self, x):
        x = as_float_array(x, "input to Linear", ndim=2)
        if x.shape[1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}) expects input of shape "
                f"(N, {self.in_features}), got {x.shape}"
            )
        self._input = x
        return F._dense_forward(x, self.weight.data, self.bias.data)  # x Wᵀ + b

    def backward(self, grad_output):
        if self._input is None:
            raise RuntimeError("Linear.backward called before forward")
        # Only grad_output is new here: forward checked the input, and the weights are the layer's own.
        grad_output = as_float_array(grad_output, "grad_output", ndim=2)
        grad_input, grad_weight, grad_bias = F._dense_backward(grad_output, self._input, self.weight.data)
        self.weight.accumulate_grad(grad_weight)
        self.bias.accumulate_grad(grad_bias)
        return grad_input

    def __repr__(self):
        return f"Linear(in_features={self.in_features}, out_features={self.out_features})"
