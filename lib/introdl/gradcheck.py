"""Centred finite differences: the slow, obviously-correct gradient that checks the fast one.

    ∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / (2h)

The error of this estimate shrinks like h² (against h for the one-sided difference), but
rounding adds an error of about ε·|f| / h, with ε the dtype's machine epsilon. In float64
(ε ≈ 2e-16) and h = 1e-6 that is ~1e-10: far below what a wrong backward pass shows. In float32
(ε ≈ 1e-7) it is ~0.1 relative: a correct network then looks wrong. So these tools work in
float64 only and refuse anything less precise.

Source: the same check as ``torch.autograd.gradcheck``, which also asks for float64:
https://pytorch.org/docs/stable/generated/torch.autograd.gradcheck.html
"""
import numbers

import numpy as np

from ._validation import as_float_array, check_number

_WHY_FLOAT64 = ("finite differences need float64: in {dtype} rounding alone makes the estimate off by "
                "about eps/h = {error:.0e} relative (eps = {eps:.1e}, h = {h:g}), so a correct gradient "
                "would look wrong. {fix}")


def numerical_gradient(f, x, h=1e-6):
    """The gradient of the scalar function ``f`` at ``x`` by centred differences.

    Args:
        f: takes an array of x's shape and returns a number (a float or a 0-d / size-1 array).
        x: any shape, float64 (integers are converted). ``x`` itself is left unchanged.
        h (float, default 1e-6): the step, > 0.

    Returns:
        An array of x's shape, float64.

    Raises:
        ValueError: x is float32 or float16, or f returns a float32/float16 number (see the
            module's docstring: the estimate would be meaningless); h not positive.
        TypeError: f returns something that is not one number.
    """
    x = as_float_array(x, "x")
    h = check_number(h, "h", low=0.0, low_open=True)
    _require_float64(x.dtype, "x", h, "Pass x.astype(np.float64).")
    x = np.array(x, dtype=np.float64, copy=True)
    grad = np.zeros_like(x)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        original = flat_x[i]
        flat_x[i] = original + h
        f_plus = _number(f(x), h)
        flat_x[i] = original - h
        f_minus = _number(f(x), h)
        flat_x[i] = original
        flat_grad[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


def relative_error(a, b):
    """max |a − b| / max(|a|, |b|, 1e-12), the one relative error of the library, its tests and the book.

    The denominator is the largest magnitude in either array (floored at 1e-12 so that two
    all-zero arrays give 0): an entry that is tiny next to the others cannot dominate through
    rounding alone. 0 for equal arrays; for a correct gradient against finite differences in
    float64, ~1e-8 or less; for two float64 implementations of the same formula, ~1e-15.
    NaN and infinite entries must sit at the same places with the same values in both arrays
    (then they are left out); otherwise the error is inf.

    Args:
        a, b: arrays (or numbers) of the same shape; torch tensors: convert them first with
            ``introdl.torch_twin.to_numpy``.

    Returns:
        A Python float ≥ 0.

    Raises:
        ValueError: the shapes differ. TypeError: not arrays of numbers.
    """
    a = as_float_array(a, "a", allow_empty=True, finite=False).astype(np.float64)
    b = as_float_array(b, "b", allow_empty=True, finite=False).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"arrays to compare must have the same shape, got {a.shape} and {b.shape}")
    finite = np.isfinite(a) & np.isfinite(b)
    if not np.array_equal(a[~finite], b[~finite], equal_nan=True):
        return float("inf")  # a NaN or inf in one array that the other does not have there
    a, b = a[finite], b[finite]
    scale = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0), 1e-12)
    return float(np.max(np.abs(a - b), initial=0.0) / scale)


def module_gradients(module, loss_fn, x, target, h=1e-6):
    """The gradients from ``module.backward`` next to their finite-difference estimates.

    Args:
        module: an ``introdl.nn`` module whose parameters are float64.
        loss_fn: an ``introdl.nn`` loss.
        x: (N, ...) float64 input; target: what ``loss_fn`` expects.
        h (float, default 1e-6): the finite-difference step.

    Returns:
        {"input": (backward, numerical), "0.weight": (backward, numerical), ...}: one pair of
        arrays per parameter, named as ``module.named_parameters()`` names it.

    Raises:
        ValueError: x or a parameter is not float64 (see the module's docstring).
    """
    x = as_float_array(x, "x")
    _require_float64(x.dtype, "x", h, "Pass x.astype(np.float64).")
    for name, parameter in module.named_parameters():
        _require_float64(parameter.data.dtype, f"parameter {name}", h,
                         "Build the module with dtype=np.float64 (the default) to check its gradients.")
    x = np.array(x, dtype=np.float64)

    def loss_at(inputs):
        return loss_fn(module(inputs), target)

    module.zero_grad()
    loss_at(x)
    grad_input = module.backward(loss_fn.backward())
    pairs = {"input": (grad_input, numerical_gradient(loss_at, x, h))}
    for name, parameter in module.named_parameters():
        def loss_at_parameter(values, parameter=parameter):
            saved = parameter.data.copy()
            parameter.data[...] = values
            try:
                return loss_at(x)
            finally:
                parameter.data[...] = saved
        pairs[name] = (parameter.grad, numerical_gradient(loss_at_parameter, parameter.data, h))
    return pairs


def check_module_gradients(module, loss_fn, x, target, h=1e-6):
    """Compare ``module.backward`` with finite differences for the input and every parameter.

    Args: as ``module_gradients``.

    Returns:
        {"input": error, "0.weight": error, ...}, each a ``relative_error``: below ~1e-6 for a
        correct backward pass, 1e-2 or more for a wrong one.

    Raises:
        ValueError: x or a parameter is not float64.
    """
    return {name: relative_error(backward, numerical)
            for name, (backward, numerical) in module_gradients(module, loss_fn, x, target, h).items()}


def _require_float64(dtype, name, h, fix):
    if dtype != np.float64:
        eps = float(np.finfo(dtype).eps)
        raise ValueError(f"{name} is {dtype}; " + _WHY_FLOAT64.format(
            dtype=dtype, error=eps / h, eps=eps, h=h, fix=fix))


def _number(value, h):
    """f's value as a Python float, after checking it is one float64 (or Python) number."""
    if isinstance(value, numbers.Real) and not isinstance(value, np.generic):
        return float(value)
    array = np.asarray(value)
    if array.size != 1 or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"f must return one number, got {type(value).__name__} of shape {array.shape}")
    if np.issubdtype(array.dtype, np.floating):
        _require_float64(array.dtype, "the value of f", h, "Compute f in float64.")
    return float(array.reshape(()))
