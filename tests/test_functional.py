"""introdl.functional against PyTorch: values against torch's functions, derivatives against autograd.

The NumPy side runs in float64; torch runs on every device in DEVICES (see torch_parity.py).
"""
import contextlib
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from torch_parity import assert_close, relative_error, to_numpy, to_tensor, tolerance
from introdl import functional as F

SEEDS = [0, 1, 2]
ANY_SHAPES = [(1,), (7,), (3, 4), (2, 3, 5)]
LOGIT_SHAPES = [(1, 2), (5, 3), (16, 10)]

ACTIVATIONS = {
    "sigmoid": (F.sigmoid, F.sigmoid_derivative, torch.sigmoid),
    "tanh": (F.tanh, F.tanh_derivative, torch.tanh),
    "relu": (F.relu, F.relu_derivative, torch.relu),
}


@contextlib.contextmanager
def no_floating_point_trouble():
    """Fail on any warning and on overflow, division by zero or an invalid operation.

    Underflow is allowed: e^(−1000) rounding to 0 is the correctly rounded answer, not a fault
    (NumPy ignores underflow by default, so it never produces a warning either).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            yield


def random_activation_input(seed, shape):
    """Normal values with spread 3, and some exact zeros (the ReLU kink)."""
    z = np.random.default_rng(seed).normal(0.0, 3.0, shape)
    z.reshape(-1)[::3] = 0.0
    return z


def autograd_gradient(function, *arrays, device, wrt=0):
    """∂ sum(function(tensors)) / ∂ arrays[wrt], by torch autograd on ``device``."""
    tensors = [to_tensor(a, device) for a in arrays]
    tensors[wrt].requires_grad_(True)
    function(*tensors).sum().backward()
    return tensors[wrt].grad


def test_every_public_function_is_tested_here():
    """A function added to introdl.functional needs a parity test in this file too."""
    tested = {f for functions in ACTIVATIONS.values() for f in functions[:2]}
    tested |= {f for functions in LOSSES.values() for f in functions[:2]}
    tested |= {F.softmax, F.log_softmax, F.linear, F.linear_backward}
    public = {value for name, value in vars(F).items()
              if callable(value) and not name.startswith("_") and getattr(value, "__module__", None) == F.__name__}
    assert public == tested, f"untested: {sorted(f.__name__ for f in public - tested)}"


# ---------------------------------------------------------------- activations
@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("shape", ANY_SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_activation_matches_torch(name, shape, seed, device):
    function, _, torch_function = ACTIVATIONS[name]
    z = random_activation_input(seed, shape)
    out = function(z)
    assert out.shape == z.shape
    assert_close(out, torch_function(to_tensor(z, device)), device, what=name)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("shape", ANY_SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_activation_derivative_matches_autograd(name, shape, seed, device):
    """g'(z) elementwise equals autograd's ∂ Σ g(z) / ∂z (at z = 0, ReLU' is 0 in both)."""
    _, derivative, torch_function = ACTIVATIONS[name]
    z = random_activation_input(seed, shape)
    expected = autograd_gradient(torch_function, z, device=device)
    assert_close(derivative(z), expected, device, what=f"{name} derivative")


def test_relu_derivative_is_zero_at_zero_and_one_above():
    np.testing.assert_array_equal(F.relu_derivative(np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 1.0])


# ---------------------------------------------------------------- softmax
@pytest.mark.parametrize("shape", LOGIT_SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_and_log_softmax_match_torch(shape, seed, device):
    z = np.random.default_rng(seed).normal(0.0, 3.0, shape)
    zt = to_tensor(z, device)
    assert_close(F.softmax(z), torch.softmax(zt, dim=-1), device, what="softmax")
    assert_close(F.log_softmax(z), torch.log_softmax(zt, dim=-1), device, what="log_softmax")


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_along_any_axis_matches_torch(axis, device):
    z = np.random.default_rng(3).normal(0.0, 3.0, (3, 4, 5))
    zt = to_tensor(z, device)
    assert_close(F.softmax(z, axis=axis), torch.softmax(zt, dim=axis), device, what="softmax")
    assert_close(F.log_softmax(z, axis=axis), torch.log_softmax(zt, dim=axis), device, what="log_softmax")


# ---------------------------------------------------------------- losses
def random_loss_inputs(name, seed, shape):
    """(prediction, target) as each loss expects them."""
    rng = np.random.default_rng(seed)
    if name == "mse":
        return rng.normal(0.0, 2.0, shape), rng.normal(0.0, 2.0, shape)
    if name == "bce":  # probabilities away from 0 and 1, soft and hard targets mixed
        target = rng.uniform(0.0, 1.0, shape)
        target.reshape(-1)[::2] = rng.integers(0, 2, target.reshape(-1)[::2].shape)
        return rng.uniform(0.01, 0.99, shape), target
    if name == "bce_with_logits":
        return rng.normal(0.0, 3.0, shape), rng.uniform(0.0, 1.0, shape)
    if name == "cross_entropy":  # shape is (N, C)
        return rng.normal(0.0, 3.0, shape), rng.integers(0, shape[1], shape[0])
    raise ValueError(name)


LOSSES = {
    "mse": (F.mse_loss, F.mse_loss_grad, TF.mse_loss),
    "bce": (F.binary_cross_entropy, F.binary_cross_entropy_grad, TF.binary_cross_entropy),
    "bce_with_logits": (
        F.binary_cross_entropy_with_logits,
        F.binary_cross_entropy_with_logits_grad,
        TF.binary_cross_entropy_with_logits,
    ),
    "cross_entropy": (F.cross_entropy, F.cross_entropy_grad, TF.cross_entropy),
}
# Cross entropy takes logits (N, C); the other losses take any shape.
LOSS_CASES = [
    (name, shape)
    for name in LOSSES
    for shape in (LOGIT_SHAPES if name == "cross_entropy" else LOGIT_SHAPES + [(6,), (2, 3, 4)])
]


@pytest.mark.parametrize("name, shape", LOSS_CASES)
@pytest.mark.parametrize("seed", SEEDS)
def test_loss_matches_torch(name, shape, seed, device):
    loss, _, torch_loss = LOSSES[name]
    prediction, target = random_loss_inputs(name, seed, shape)
    value = loss(prediction, target)
    assert type(value) is float
    expected = torch_loss(to_tensor(prediction, device), to_tensor(target, device))
    assert_close(value, expected, device, what=name)


@pytest.mark.parametrize("name, shape", LOSS_CASES)
@pytest.mark.parametrize("seed", SEEDS)
def test_loss_gradient_matches_autograd(name, shape, seed, device):
    _, gradient, torch_loss = LOSSES[name]
    prediction, target = random_loss_inputs(name, seed, shape)
    grad = gradient(prediction, target)
    assert grad.shape == prediction.shape
    expected = autograd_gradient(torch_loss, prediction, target, device=device)
    assert_close(grad, expected, device, what=f"{name} gradient")


def test_cross_entropy_accepts_labels_as_a_list():
    logits = np.random.default_rng(0).normal(size=(3, 4))
    expected = TF.cross_entropy(torch.tensor(logits), torch.tensor([2, 0, 3])).item()
    assert_close(F.cross_entropy(logits, [2, 0, 3]), expected, "cpu")


def test_binary_cross_entropy_is_accurate_for_confident_predictions(device):
    """log(1 − p) for tiny p needs log1p: log(1 − 1e-10) carries a relative error of ~1e-7."""
    p = np.array([1e-12, 1e-10, 3e-9])
    y = np.zeros(3)
    expected = TF.binary_cross_entropy(to_tensor(p, device), to_tensor(y, device))
    assert_close(F.binary_cross_entropy(p, y), expected, device, what="BCE of confident predictions")


# ---------------------------------------------------------------- the dense layer
@pytest.mark.parametrize("n, n_in, n_out", [(1, 1, 1), (5, 3, 2), (16, 8, 4)])
@pytest.mark.parametrize("seed", SEEDS)
def test_linear_and_its_backward_match_torch(n, n_in, n_out, seed, device):
    rng = np.random.default_rng(seed)
    x, weight, bias = rng.normal(size=(n, n_in)), rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)
    grad_output = rng.normal(size=(n, n_out))

    xt, wt, bt = (to_tensor(a, device, requires_grad=True) for a in (x, weight, bias))
    out = TF.linear(xt, wt, bt)
    out.backward(to_tensor(grad_output, device))

    assert_close(F.linear(x, weight, bias), out, device, what="linear")
    grad_x, grad_w, grad_b = F.linear_backward(grad_output, x, weight)
    assert_close(grad_x, xt.grad, device, what="∂L/∂x")
    assert_close(grad_w, wt.grad, device, what="∂L/∂W")
    assert_close(grad_b, bt.grad, device, what="∂L/∂b")


# ---------------------------------------------------------------- numerical stability
# Around exp's limits in float64 (e^709 is near the largest double, e^-745 the smallest) and
# tiny values on both sides of ReLU's kink (1e-30 is still a normal number in float32).
EXTREME_ACTIVATION_INPUTS = np.array(
    [-1000.0, -745.0, -720.0, -709.0, -30.0, -1e-30, 0.0, 1e-30, 30.0, 709.0, 720.0, 1000.0]
)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_of_extreme_inputs_are_finite_and_quiet(name, device):
    function, derivative, torch_function = ACTIVATIONS[name]
    z = EXTREME_ACTIVATION_INPUTS
    with no_floating_point_trouble():
        value, slope = function(z), derivative(z)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(slope))
    assert_close(value, torch_function(to_tensor(z, device)), device, what=name)
    assert_close(slope, autograd_gradient(torch_function, z, device=device), device, what=f"{name}'")


def test_sigmoid_saturates_to_exactly_zero_and_one():
    with no_floating_point_trouble():
        s = F.sigmoid(np.array([-1000.0, 1000.0]))
    np.testing.assert_array_equal(s, [0.0, 1.0])


HUGE_LOGITS = np.array(
    [[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4], [-1e4, 5.0, 1e4]]
)


def test_softmax_of_huge_logits_is_finite_and_quiet(device):
    zt = to_tensor(HUGE_LOGITS, device)
    with no_floating_point_trouble():
        probabilities, log_probabilities = F.softmax(HUGE_LOGITS), F.log_softmax(HUGE_LOGITS)
    assert np.all(np.isfinite(probabilities)) and np.all(np.isfinite(log_probabilities))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-15)
    assert_close(probabilities, torch.softmax(zt, dim=1), device, what="softmax")
    assert_close(log_probabilities, torch.log_softmax(zt, dim=1), device, what="log_softmax")


def test_cross_entropy_of_huge_logits_is_finite_and_quiet(device):
    labels = np.array([1, 0, 2, 2])  # wrong by 2e4, tied, wrong by 2e4, right
    with no_floating_point_trouble():
        value = F.cross_entropy(HUGE_LOGITS, labels)
        grad = F.cross_entropy_grad(HUGE_LOGITS, labels)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert_close(value, TF.cross_entropy(to_tensor(HUGE_LOGITS, device), to_tensor(labels, device)), device)
    expected_grad = autograd_gradient(TF.cross_entropy, HUGE_LOGITS, labels, device=device)
    assert_close(grad, expected_grad, device, what="cross entropy gradient")


def test_binary_cross_entropy_of_exact_zero_and_one_is_finite_and_quiet(device):
    """log 0 is clamped at −100 as torch does, so a confident wrong answer costs 100, not ∞.

    The gradient's denominator p (1 − p) is floored at 1e-12, which torch keeps as a float32
    constant (9.99999996e-13) in every dtype; so does introdl, so the gradients agree to 1e-12.
    """
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    with no_floating_point_trouble():
        value = F.binary_cross_entropy(p, y)
        grad = F.binary_cross_entropy_grad(p, y)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert_close(value, TF.binary_cross_entropy(to_tensor(p, device), to_tensor(y, device)), device)
    expected_grad = autograd_gradient(TF.binary_cross_entropy, p, y, device=device)
    assert_close(grad, expected_grad, device, what="BCE gradient")
    n = p.size
    epsilon = float(np.float32(1e-12))
    np.testing.assert_array_equal(grad[:4], [0.0, 0.0, -1.0 / epsilon / n, 1.0 / epsilon / n])


def test_binary_cross_entropy_of_a_certain_wrong_answer_costs_the_clamp():
    assert F.binary_cross_entropy(np.array([0.0]), np.array([1.0])) == pytest.approx(-F.BCE_LOG_CLAMP)
    assert F.binary_cross_entropy(np.array([1.0]), np.array([0.0])) == pytest.approx(-F.BCE_LOG_CLAMP)


def test_binary_cross_entropy_with_logits_of_huge_logits_is_finite_and_quiet(device):
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0, 800.0, -800.0])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.3, 0.7])
    with no_floating_point_trouble():
        value = F.binary_cross_entropy_with_logits(z, y)
        grad = F.binary_cross_entropy_with_logits_grad(z, y)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    expected = TF.binary_cross_entropy_with_logits(to_tensor(z, device), to_tensor(y, device))
    assert_close(value, expected, device)
    expected_grad = autograd_gradient(TF.binary_cross_entropy_with_logits, z, y, device=device)
    assert_close(grad, expected_grad, device, what="BCE-with-logits gradient")


def test_stability_tests_would_notice_a_naive_sigmoid():
    """The guard in these tests is real: the textbook formula 1 / (1 + e^(−z)) overflows at −1000."""
    with pytest.raises(FloatingPointError, match="overflow"):
        with no_floating_point_trouble():
            1.0 / (1.0 + np.exp(-np.array([-1000.0])))
    assert to_numpy(torch.sigmoid(torch.tensor([-1000.0], dtype=torch.float64)))[0] == 0.0


# ---------------------------------------------------------------- every dtype, at the extremes
# Each clamp, epsilon and stability trick, compared with torch computing in the same dtype.
# Tolerances: a few units of the dtype's rounding (eps: 1e-3 for float16, 1.2e-7 for float32).
DTYPE_TOLERANCES = {np.float16: 4e-3, np.float32: 5e-7, np.float64: 1e-12}


def extremes(dtype):
    values = [0.0, -0.0, 1e-3, -1e-3, 1.0, -1.0, 5.0, -5.0, 20.0, -20.0, 88.0, -88.0, 1e3, -1e3, 1e4, -1e4]
    return np.array(values, dtype=dtype)


def in_torch(array):
    return torch.tensor(np.asarray(array))  # the same dtype, on the CPU (float16 runs there too)


@pytest.mark.parametrize("dtype", list(DTYPE_TOLERANCES))
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_match_torch_in_every_dtype(name, dtype):
    function, derivative, torch_function = ACTIVATIONS[name]
    z = extremes(dtype)
    zt = in_torch(z).requires_grad_(True)
    torch_function(zt).sum().backward()
    assert function(z).dtype == dtype and derivative(z).dtype == dtype
    assert relative_error(function(z), to_numpy(torch_function(zt))) <= DTYPE_TOLERANCES[dtype]
    assert relative_error(derivative(z), to_numpy(zt.grad)) <= DTYPE_TOLERANCES[dtype]


@pytest.mark.parametrize("dtype", list(DTYPE_TOLERANCES))
def test_softmax_and_cross_entropy_match_torch_in_every_dtype(dtype):
    z = np.stack([extremes(dtype), extremes(dtype)[::-1]])
    labels = np.array([0, 3])
    zt = in_torch(z).requires_grad_(True)
    loss = TF.cross_entropy(zt, torch.tensor(labels))
    loss.backward()
    tol = DTYPE_TOLERANCES[dtype]
    assert relative_error(F.softmax(z), to_numpy(torch.softmax(in_torch(z), -1))) <= tol
    assert relative_error(F.log_softmax(z), to_numpy(torch.log_softmax(in_torch(z), -1))) <= tol
    assert relative_error(F.cross_entropy(z, labels), loss.item()) <= tol
    assert relative_error(F.cross_entropy_grad(z, labels), to_numpy(zt.grad)) <= tol


@pytest.mark.parametrize("dtype", list(DTYPE_TOLERANCES))
def test_binary_cross_entropy_clamps_like_torch_in_every_dtype(dtype):
    """p = 0 with y = 1 costs exactly 100 in every dtype (torch's clamp of log at -100)."""
    p = np.array([0.0, 1.0, 0.5, 1e-4, 1 - 1e-3, 0.0, 1.0, 0.3], dtype=dtype)
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.5], dtype=dtype)
    assert F.binary_cross_entropy(p[:1], y[:1]) == TF.binary_cross_entropy(in_torch(p[:1]), in_torch(y[:1])).item() == 100.0
    pt = in_torch(p).requires_grad_(True)
    loss = TF.binary_cross_entropy(pt, in_torch(y))
    loss.backward()
    tol = DTYPE_TOLERANCES[dtype]
    assert relative_error(F.binary_cross_entropy(p, y), loss.item()) <= tol
    grad = F.binary_cross_entropy_grad(p, y)  # in float16 the 1e-12 floor is 0: ±inf and NaN, as torch
    assert grad.dtype == dtype and relative_error(grad, to_numpy(pt.grad)) <= tol


@pytest.mark.parametrize("dtype", list(DTYPE_TOLERANCES))
def test_binary_cross_entropy_with_logits_and_mse_match_torch_in_every_dtype(dtype):
    z = extremes(dtype)
    y = (np.arange(z.size) % 2).astype(dtype)
    zt = in_torch(z).requires_grad_(True)
    loss = TF.binary_cross_entropy_with_logits(zt, in_torch(y))
    loss.backward()
    tol = DTYPE_TOLERANCES[dtype]
    assert relative_error(F.binary_cross_entropy_with_logits(z, y), loss.item()) <= tol
    assert relative_error(F.binary_cross_entropy_with_logits_grad(z, y), to_numpy(zt.grad)) <= tol
    huge = np.array([-0.6, 0.6], dtype=dtype) * np.finfo(dtype).max
    # past the dtype's range the mean squared error is inf in both, with no warning
    assert F.mse_loss(huge, -huge) == TF.mse_loss(in_torch(huge), in_torch(-huge)).item()


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch_with_and_without_bias(bias, device):
    rng = np.random.default_rng(40)
    x, weight, b = rng.normal(size=(5, 4)), rng.normal(size=(3, 4)), rng.normal(size=3)
    expected = TF.linear(to_tensor(x, device), to_tensor(weight, device), to_tensor(b, device) if bias else None)
    assert_close(F.linear(x, weight, b if bias else None), expected, device)


def test_linear_of_an_empty_batch_is_empty_as_in_torch():
    weight, bias = np.ones((3, 4)), np.zeros(3)
    expected = TF.linear(torch.zeros(0, 4, dtype=torch.float64), torch.as_tensor(weight), torch.as_tensor(bias))
    assert F.linear(np.zeros((0, 4)), weight, bias).shape == tuple(expected.shape) == (0, 3)


def test_the_dense_layer_has_one_name():
    assert not hasattr(F, "dense_forward") and not hasattr(F, "dense_backward")
