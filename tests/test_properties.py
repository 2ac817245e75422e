"""Properties that hold for every input, checked on inputs that hypothesis draws.

* Stability: over extreme finite values (±1e300 for activations, ±1e4 for logits) the activations,
  the losses and their gradients stay finite and raise no floating-point warning.
* Correctness: gradients of the losses and of small networks equal centred finite differences.
* Shapes: ``backward`` always returns an array of the input's shape.
"""
import warnings

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from introdl import functional as F
from introdl import nn
from introdl.gradcheck import module_gradients, numerical_gradient, relative_error

FAST = settings(max_examples=60, deadline=None)


def finite_arrays(bound, shape=None, *, min_dims=1, max_dims=3):
    """float64 arrays with every entry finite and in [−bound, bound]."""
    shape = array_shapes(min_dims=min_dims, max_dims=max_dims, max_side=6) if shape is None else shape
    return arrays(np.float64, shape, elements=st.floats(-bound, bound, allow_nan=False, allow_infinity=False))


@st.composite
def logits_and_labels(draw, bound):
    logits = draw(finite_arrays(bound, array_shapes(min_dims=2, max_dims=2, max_side=6)))
    labels = draw(arrays(np.int64, logits.shape[0], elements=st.integers(0, logits.shape[1] - 1)))
    return logits, labels


@st.composite
def same_shape_pair(draw, first, second):
    """Two arrays of one drawn shape; ``first`` and ``second`` map a shape to a strategy."""
    shape = draw(array_shapes(min_dims=1, max_dims=2, max_side=6))
    return draw(first(shape)), draw(second(shape))


def unit_interval(shape, low=0.0, high=1.0):
    return arrays(np.float64, shape, elements=st.floats(low, high))


def quietly(function, *args):
    """Call ``function``; any warning, overflow, division by zero or invalid operation is an error.

    Underflow is allowed: e^(−1e300) rounding to 0 is the correctly rounded answer.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            return function(*args)


def assert_all_finite(*values):
    for value in values:
        assert np.all(np.isfinite(value)), value


def assert_gradients_agree(analytic, numerical, what):
    """Relative agreement (the library's ``relative_error``) to 1e-5, or absolute agreement to 1e-8.

    Centred differences with h = 1e-6 carry an absolute error of about ε·|f|/h ≈ 1e-9, so a
    gradient whose entries are all near 0 can only be compared absolutely (here: to 1e-8).
    """
    error = relative_error(analytic, numerical)
    absolute = float(np.max(np.abs(analytic - numerical)))
    assert error < 1e-5 or absolute < 1e-8, f"{what}: relative error {error:.2e}, absolute {absolute:.2e}"


# ---------------------------------------------------------------- stability
@FAST
@given(z=finite_arrays(1e300))
def test_activations_and_their_derivatives_stay_finite_and_quiet(z):
    for function in (F.sigmoid, F.sigmoid_derivative, F.tanh, F.tanh_derivative, F.relu, F.relu_derivative):
        value = quietly(function, z)
        assert value.shape == z.shape
        assert_all_finite(value)
    s = F.sigmoid(z)
    assert np.all((0.0 <= s) & (s <= 1.0))


@FAST
@given(z=finite_arrays(1e300))
def test_activation_modules_forward_and_backward_stay_finite_and_quiet(z):
    for module in (nn.Sigmoid(), nn.Tanh(), nn.ReLU()):
        out = quietly(module, z)
        grad = quietly(module.backward, np.ones_like(z))
        assert_all_finite(out, grad)


@FAST
@given(z=finite_arrays(1e4, array_shapes(min_dims=2, max_dims=2, max_side=6)))
def test_softmax_stays_finite_and_quiet_and_sums_to_one(z):
    probabilities, log_probabilities = quietly(F.softmax, z), quietly(F.log_softmax, z)
    assert_all_finite(probabilities, log_probabilities)
    assert np.all(log_probabilities <= 0.0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)


@FAST
@given(pair=logits_and_labels(1e4))
def test_cross_entropy_stays_finite_and_quiet(pair):
    logits, labels = pair
    value = quietly(F.cross_entropy, logits, labels)
    grad = quietly(F.cross_entropy_grad, logits, labels)
    assert_all_finite(value, grad)
    assert value >= 0.0
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)  # softmax − one-hot sums to 0


@FAST
@given(pair=same_shape_pair(lambda s: finite_arrays(1e4, s), unit_interval))
def test_bce_with_logits_stays_finite_and_quiet(pair):
    logits, target = pair
    value = quietly(F.binary_cross_entropy_with_logits, logits, target)
    grad = quietly(F.binary_cross_entropy_with_logits_grad, logits, target)
    assert_all_finite(value, grad)
    assert value >= 0.0


@FAST
@given(pair=same_shape_pair(unit_interval, unit_interval))
def test_bce_stays_finite_and_quiet_for_any_probability_even_0_and_1(pair):
    probability, target = pair
    value = quietly(F.binary_cross_entropy, probability, target)
    grad = quietly(F.binary_cross_entropy_grad, probability, target)
    assert_all_finite(value, grad)
    assert 0.0 <= value <= -F.BCE_LOG_CLAMP


@FAST
@given(pair=same_shape_pair(lambda s: finite_arrays(1e4, s), lambda s: finite_arrays(1e4, s)))
def test_mse_stays_finite_and_quiet(pair):
    prediction, target = pair
    assert_all_finite(quietly(F.mse_loss, prediction, target), quietly(F.mse_loss_grad, prediction, target))


# ---------------------------------------------------------------- gradients against finite differences
@FAST
@given(pair=same_shape_pair(lambda s: finite_arrays(5.0, s), lambda s: finite_arrays(5.0, s)))
def test_mse_gradient_matches_finite_differences(pair):
    prediction, target = pair
    numerical = numerical_gradient(lambda p: F.mse_loss(p, target), prediction)
    assert_gradients_agree(F.mse_loss_grad(prediction, target), numerical, "MSE")


@FAST
@given(pair=same_shape_pair(lambda s: unit_interval(s, 0.05, 0.95), unit_interval))
def test_bce_gradient_matches_finite_differences(pair):
    probability, target = pair
    numerical = numerical_gradient(lambda p: F.binary_cross_entropy(p, target), probability)
    assert_gradients_agree(F.binary_cross_entropy_grad(probability, target), numerical, "BCE")


@FAST
@given(pair=same_shape_pair(lambda s: finite_arrays(5.0, s), unit_interval))
def test_bce_with_logits_gradient_matches_finite_differences(pair):
    logits, target = pair
    numerical = numerical_gradient(lambda z: F.binary_cross_entropy_with_logits(z, target), logits)
    assert_gradients_agree(F.binary_cross_entropy_with_logits_grad(logits, target), numerical, "BCE with logits")


@FAST
@given(pair=same_shape_pair(lambda s: finite_arrays(5.0, s), unit_interval))
def test_bce_with_logits_is_bce_of_the_sigmoid(pair):
    logits, target = pair
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(logits, target),
        F.binary_cross_entropy(F.sigmoid(logits), target),
        rtol=1e-12, atol=1e-15,
    )


@FAST
@given(pair=logits_and_labels(5.0))
def test_cross_entropy_gradient_matches_finite_differences(pair):
    logits, labels = pair
    numerical = numerical_gradient(lambda z: F.cross_entropy(z, labels), logits)
    assert_gradients_agree(F.cross_entropy_grad(logits, labels), numerical, "cross entropy")


ACTIVATIONS = {"Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid, "ReLU": nn.ReLU}


@st.composite
def small_networks(draw):
    """(model, loss, x, target): Linear → activation → Linear, random sizes, a loss that fits."""
    n, n_in = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    n_hidden, n_out = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    activation = draw(st.sampled_from(sorted(ACTIVATIONS)))
    loss_name = draw(st.sampled_from(["MSELoss", "BCEWithLogitsLoss", "CrossEntropyLoss"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    model = nn.Sequential(
        nn.Linear(n_in, n_hidden, rng=rng), ACTIVATIONS[activation](), nn.Linear(n_hidden, n_out, rng=rng)
    )
    x = draw(finite_arrays(5.0, (n, n_in)))
    if loss_name == "MSELoss":
        target = rng.normal(size=(n, n_out))
    elif loss_name == "BCEWithLogitsLoss":
        target = rng.uniform(size=(n, n_out))
    else:
        target = rng.integers(0, n_out, n)
    return model, getattr(nn, loss_name)(), x, target


@FAST
@given(case=small_networks())
def test_small_network_gradients_match_finite_differences(case):
    model, loss_fn, x, target = case
    if isinstance(model[1], nn.ReLU):
        # A finite difference across the kink measures neither side's slope: keep every hidden
        # pre-activation at least 1e-4 from 0 (a step of h = 1e-6 moves it by at most ~1e-5).
        assume(np.min(np.abs(model[0](x))) > 1e-4)

    for name, (backward, numerical) in module_gradients(model, loss_fn, x, target).items():
        assert_gradients_agree(backward, numerical, name)


# ---------------------------------------------------------------- shapes
@FAST
@given(x=finite_arrays(10.0, max_dims=4), p=st.floats(0.0, 0.9), training=st.booleans(), seed=st.integers(0, 100))
def test_elementwise_backward_returns_the_input_shape(x, p, training, seed):
    modules = [nn.Sigmoid(), nn.Tanh(), nn.ReLU(), nn.Dropout(p, rng=np.random.default_rng(seed)).train(training)]
    for module in modules:
        out = module(x)
        assert out.shape == x.shape
        assert module.backward(np.ones_like(out)).shape == x.shape


@FAST
@given(
    n=st.integers(1, 8), sizes=st.lists(st.integers(1, 6), min_size=2, max_size=5), seed=st.integers(0, 100),
)
def test_linear_and_sequential_backward_return_the_input_shape(n, sizes, seed):
    rng = np.random.default_rng(seed)
    layers = [nn.Linear(a, b, rng=rng) for a, b in zip(sizes, sizes[1:])]
    model = nn.Sequential(*(m for layer in layers for m in (layer, nn.Tanh())))
    x = rng.normal(size=(n, sizes[0]))
    for module in [*layers[:1], model]:
        out = module(x)
        assert out.shape == (n, module.out_features if module is layers[0] else sizes[-1])
        grad_input = module.backward(rng.normal(size=out.shape))
        assert grad_input.shape == x.shape
        assert all(p.grad.shape == p.data.shape for p in module.parameters())
