"""The dense (fully connected) layer: every output is a weighted sum of every input plus a bias.

Introduced in chapter 3; its backward pass in chapter 6.
"""
import numpy as np

from .._validation import check_positive_int, check_rng
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

    Introduced in chapter 3 (forward) and chapter 6 (backward).
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
        self.save_for_backward(x)
        W_T = self.weight.data.T.copy()  # Wᵀ as an array of its own (see F.linear for why)
        z = x @ W_T  # z = x Wᵀ        (N, in) @ (in, out) → (N, out)
        if self.bias is not None:
            z = z + self.bias.data  # z = x Wᵀ + b    b is added to every row
        return z

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        delta = grad_output  # δ = ∂L/∂z, (N, out)
        self.weight.accumulate_grad(delta.T @ x)  # ∂L/∂W = δᵀ x       (out, in)
        if self.bias is not None:
            self.bias.accumulate_grad(delta.sum(axis=0))  # ∂L/∂b = Σₙ δₙ    (out,)
        return delta @ self.weight.data  # ∂L/∂x = δ W       (N, in)

    def check_input(self, x):
        if x.ndim != 2:
            raise ValueError(f"input to Linear must be 2-D, got {x.ndim}-D with shape {x.shape}")
        if x.shape[1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) expects input of shape "
                             f"(N, {self.in_features}), got {x.shape}")

    def __repr__(self):
        no_bias = "" if self.bias is not None else ", bias=False"
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}{no_bias})"
