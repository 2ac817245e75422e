"""Centred finite differences: the slow, obviously-correct gradient that checks the fast one.

    ∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / (2h)

The error of this estimate shrinks like h², against h for the one-sided difference.
"""
import numpy as np

from ._validation import as_float_array, check_number


def numerical_gradient(f, x, h=1e-6):
    """The gradient of the scalar function ``f`` at ``x`` by centred differences.

    f: takes an array of x's shape and returns a number. x: any shape, float64 recommended.
    Returns an array of x's shape. ``x`` itself is left unchanged.
    """
    x = np.array(as_float_array(x, "x"), dtype=np.float64, copy=True)
    h = check_number(h, "h", low=0.0, low_open=True)
    grad = np.zeros_like(x)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        original = flat_x[i]
        flat_x[i] = original + h
        f_plus = float(f(x))
        flat_x[i] = original - h
        f_minus = float(f(x))
        flat_x[i] = original
        flat_grad[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


def relative_error(a, b):
    """max |a − b| / max(|a|, |b|, 1e-12): 0 for equal arrays, ~1e-8 or less for a correct gradient."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"arrays to compare must have the same shape, got {a.shape} and {b.shape}")
    scale = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0), 1e-12)
    return float(np.max(np.abs(a - b), initial=0.0) / scale)


def module_gradients(module, loss_fn, x, target, h=1e-6):
    """The gradients from ``module.backward`` next to their finite-difference estimates.

    module: an ``introdl.nn`` module in float64; loss_fn: an ``introdl.nn`` loss;
    x: (N, ...) input; target: what ``loss_fn`` expects.
    Returns {"input": (backward, numerical), "parameter 0": (backward, numerical), ...}, each
    pair of arrays with the shape of what it is the gradient of.
    """
    x = np.array(as_float_array(x, "x"), dtype=np.float64)

    def loss_at(inputs):
        return loss_fn(module(inputs), target)

    module.zero_grad()
    loss_at(x)
    grad_input = module.backward(loss_fn.backward())
    pairs = {"input": (grad_input, numerical_gradient(loss_at, x, h))}
    for index, parameter in enumerate(module.parameters()):
        def loss_at_parameter(values, parameter=parameter):
            saved = parameter.data.copy()
            parameter.data[...] = values
            try:
                return loss_at(x)
            finally:
                parameter.data[...] = saved
        pairs[f"parameter {index}"] = (parameter.grad, numerical_gradient(loss_at_parameter, parameter.data, h))
    return pairs


def check_module_gradients(module, loss_fn, x, target, h=1e-6):
    """Compare ``module.backward`` with finite differences for the input and every parameter.

    module: an ``introdl.nn`` module in float64; loss_fn: an ``introdl.nn`` loss;
    x: (N, ...) input; target: what ``loss_fn`` expects.
    Returns {"input": error, "parameter 0": error, ...}, each a ``relative_error``.
    """
    return {name: relative_error(backward, numerical)
            for name, (backward, numerical) in module_gradients(module, loss_fn, x, target, h).items()}
