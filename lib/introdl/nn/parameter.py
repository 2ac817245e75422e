"""A trainable array and the gradient that backward accumulates into it."""
import numpy as np


class Parameter:
    """A trainable array, like ``torch.nn.Parameter``.

    ``data``: the values (an ndarray, updated in place by the optimizers).
    ``grad``: ``None`` until a backward pass; then an array of ``data``'s shape that each later
    backward *adds* to, as torch does, until ``zero_grad()`` resets it to ``None``.
    """

    def __init__(self, data):
        array = np.array(data, copy=True)  # a copy: the optimizer updates it in place
        if not np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float64)
        self.data = array
        self.grad = None

    @property
    def shape(self):
        return self.data.shape

    def accumulate_grad(self, gradient):
        """Add ``gradient`` (same shape as ``data``) to ``grad``."""
        if gradient.shape != self.data.shape:
            raise ValueError(f"gradient must have the parameter's shape {self.data.shape}, got {gradient.shape}")
        if self.grad is None:
            self.grad = np.array(gradient, dtype=self.data.dtype, copy=True)
        else:
            self.grad += gradient

    def zero_grad(self):
        """Forget the accumulated gradient (torch's default ``set_to_none=True``)."""
        self.grad = None

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
