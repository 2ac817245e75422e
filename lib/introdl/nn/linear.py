"""The dense (fully connected) layer: every output is a weighted sum of every input plus a bias."""
import numpy as np

from .. import functional as F
from .._validation import as_float_array, check_positive_int, check_rng
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """z = x Wᵀ + b, torch's layout, so weights copy to and from ``torch.nn.Linear`` unchanged.

    Args:
        in_features (int): the number of inputs m of each example.
        out_features (int): the number of outputs d (neurons).
        bias (bool, default True): whether to add a bias b; with False, ``self.bias`` is None
            and z = x Wᵀ.
        rng (numpy.random.Generator or None, default None): where the initial weights come from;
            None draws from a fresh, unseeded generator.
        dtype (numpy dtype, default numpy.float64): the dtype of the parameters.

    Shapes:
        x: (N, in_features) → z: (N, out_features);
        weight: (out_features, in_features); bias: (out_features,).

    Initialised as torch does: W and b uniform in ±1/√in_features.

    Raises:
        TypeError, ValueError: non-integer or non-positive sizes, an input that is not 2-D or
        has a number of features other than ``in_features``.

    Source: https://pytorch.org/docs/stable/generated/torch.nn.Linear.html
    """

    def __init__(self, in_features, out_features, bias=True, *, rng=None, dtype=np.float64):
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False, got {bias!r} ({type(bias).__name__})")
        rng = check_rng(rng)
        bound = 1.0 / np.sqrt(in_features)
        self.weight = Parameter(rng.uniform(-bound, bound, (out_features, in_features)).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, out_features).astype(dtype)) if bias else None

    def forward(self, x):
        x = as_float_array(x, "input to Linear", ndim=2, allow_empty=True)
        if x.shape[1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) expects input of shape "
                             f"(N, {self.in_features}), got {x.shape}")
        z = F.linear(x, self.weight.data, None if self.bias is None else self.bias.data)  # z = x Wᵀ + b
        self.save_for_backward(x, self.weight)  # the input and the weights z is made of
        return z

    def backward(self, grad_output):
        x, weight = self.saved_tensors()
        grad_x, grad_weight, grad_bias = F.linear_backward(grad_output, x, weight)
        self.weight.accumulate_grad(grad_weight)  # ∂L/∂W = δᵀ x
        if self.bias is not None:
            self.bias.accumulate_grad(grad_bias)  # ∂L/∂b = Σₙ δₙ
        return grad_x  # ∂L/∂x = δ W

    def __repr__(self):
        no_bias = "" if self.bias is not None else ", bias=False"
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}{no_bias})"
