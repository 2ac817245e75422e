"""introdl.gradcheck: finite differences agree with gradients known in closed form, and catch wrong ones."""
import numpy as np
import pytest

from introdl import nn
from introdl.gradcheck import check_module_gradients, numerical_gradient, relative_error

SEEDS = [0, 1, 2]


# ---------------------------------------------------------------- numerical_gradient
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [1, 3, 8])
def test_numerical_gradient_of_a_quadratic_form(seed, n):
    """f(x) = ½ xᵀAx + bᵀx has ∇f = ½ (A + Aᵀ) x + b, for any square A."""
    rng = np.random.default_rng(seed)
    A, b, x = rng.normal(size=(n, n)), rng.normal(size=n), rng.normal(size=n)
    exact = 0.5 * (A + A.T) @ x + b
    numerical = numerical_gradient(lambda v: 0.5 * v @ A @ v + b @ v, x)
    assert relative_error(numerical, exact) < 1e-8


@pytest.mark.parametrize("seed", SEEDS)
def test_numerical_gradient_keeps_the_shape_of_a_matrix_argument(seed):
    """f(X) = trace(Xᵀ M X) has ∇f = (M + Mᵀ) X; X is (4, 3), and so is the gradient."""
    rng = np.random.default_rng(seed)
    M, X = rng.normal(size=(4, 4)), rng.normal(size=(4, 3))
    numerical = numerical_gradient(lambda V: np.trace(V.T @ M @ V), X)
    assert numerical.shape == X.shape
    assert relative_error(numerical, (M + M.T) @ X) < 1e-8


def test_numerical_gradient_error_shrinks_like_h_squared():
    """For sum(x³) the centred difference is off by exactly h² per entry: (x+h)³ − (x−h)³ = 6x²h + 2h³."""
    x = np.array([0.5, -1.0, 2.0])
    exact = 3.0 * x**2
    for h in (1e-2, 1e-3):
        error = np.max(np.abs(numerical_gradient(lambda v: np.sum(v**3), x, h=h) - exact))
        assert error == pytest.approx(h**2, rel=1e-3)


def test_numerical_gradient_leaves_its_argument_unchanged():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    before = x.copy()
    numerical_gradient(lambda v: np.sum(v**2), x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("h", [0.0, -1e-6])
def test_numerical_gradient_rejects_a_step_that_is_not_positive(h):
    with pytest.raises(ValueError, match=r"h must be in \(0, inf\]"):
        numerical_gradient(np.sum, np.ones(2), h=h)


def test_relative_error_is_zero_for_equal_arrays_and_scale_free():
    a = np.array([1.0, -2.0, 3.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(a, 1.1 * a) == pytest.approx(relative_error(1e6 * a, 1.1e6 * a))
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match=r"same shape, got \(3,\) and \(2,\)"):
        relative_error(a, a[:2])


# ---------------------------------------------------------------- check_module_gradients
def smooth_network(rng):
    return nn.Sequential(nn.Linear(4, 6, rng=rng), nn.Tanh(), nn.Linear(6, 5, rng=rng), nn.Sigmoid(),
                         nn.Linear(5, 3, rng=rng))


CASES = {
    # name: (module factory, loss, input factory, target factory); inputs are (5, 4)
    "Linear + MSE": (
        lambda rng: nn.Linear(4, 3, rng=rng), nn.MSELoss(),
        lambda rng: rng.normal(size=(5, 4)), lambda rng: rng.normal(size=(5, 3)),
    ),
    "deep net + MSE": (
        smooth_network, nn.MSELoss(),
        lambda rng: rng.normal(size=(5, 4)), lambda rng: rng.normal(size=(5, 3)),
    ),
    "net with sigmoid + BCE": (
        lambda rng: nn.Sequential(smooth_network(rng), nn.Sigmoid()), nn.BCELoss(),
        lambda rng: rng.normal(size=(5, 4)), lambda rng: rng.integers(0, 2, (5, 3)).astype(float),
    ),
    "deep net + BCE with logits": (
        smooth_network, nn.BCEWithLogitsLoss(),
        lambda rng: rng.normal(size=(5, 4)), lambda rng: rng.uniform(size=(5, 3)),
    ),
    "deep net + cross entropy": (
        smooth_network, nn.CrossEntropyLoss(),
        lambda rng: rng.normal(size=(5, 4)), lambda rng: rng.integers(0, 3, 5),
    ),
    "ReLU away from its kink": (
        lambda rng: nn.ReLU(), nn.MSELoss(),
        lambda rng: rng.choice([-1.0, 1.0], (5, 4)) * rng.uniform(0.1, 2.0, (5, 4)),
        lambda rng: rng.normal(size=(5, 4)),
    ),
    "Dropout in eval mode": (
        lambda rng: nn.Dropout(0.5, rng=rng).eval(), nn.MSELoss(),
        lambda rng: rng.normal(size=(5, 4)), lambda rng: rng.normal(size=(5, 4)),
    ),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", SEEDS)
def test_check_module_gradients_passes_for_correct_modules(case, seed):
    make_module, loss_fn, make_input, make_target = CASES[case]
    rng = np.random.default_rng(seed)
    module = make_module(rng)
    x, target = make_input(rng), make_target(rng)
    before = [p.data.copy() for p in module.parameters()]

    errors = check_module_gradients(module, loss_fn, x, target)

    assert list(errors) == ["input"] + [name for name, _ in module.named_parameters()]
    assert max(errors.values()) < 1e-6, errors
    for p, saved in zip(module.parameters(), before):  # the check puts every weight back
        np.testing.assert_array_equal(p.data, saved)


@pytest.mark.parametrize("loss_name", ["MSELoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss"])
def test_check_module_gradients_checks_a_loss_on_its_own(loss_name):
    """An empty Sequential is the identity, so the only gradient checked is the loss's own."""
    rng = np.random.default_rng(5)
    if loss_name == "BCELoss":
        prediction, target = rng.uniform(0.05, 0.95, (6, 2)), rng.uniform(size=(6, 2))
    elif loss_name == "CrossEntropyLoss":
        prediction, target = rng.normal(size=(6, 4)), rng.integers(0, 4, 6)
    else:
        prediction, target = rng.normal(size=(6, 2)), rng.uniform(size=(6, 2))
    errors = check_module_gradients(nn.Sequential(), getattr(nn, loss_name)(), prediction, target)
    assert list(errors) == ["input"]
    assert errors["input"] < 1e-6


class LinearWithWrongBackward(nn.Linear):
    """A deliberate slip: backward scales the incoming gradient by 1.1 before using it."""

    def backward(self, grad_output):
        return super().backward(1.1 * grad_output)


def test_check_module_gradients_catches_a_wrong_backward():
    rng = np.random.default_rng(6)
    module = LinearWithWrongBackward(4, 3, rng=rng)
    errors = check_module_gradients(module, nn.MSELoss(), rng.normal(size=(5, 4)), rng.normal(size=(5, 3)))
    # Every gradient is 1.1 times the true one, so each relative error is 0.1 / 1.1.
    for name, error in errors.items():
        assert error == pytest.approx(0.1 / 1.1, rel=1e-4), name


def test_check_module_gradients_catches_a_wrong_layer_inside_a_network():
    rng = np.random.default_rng(7)
    module = nn.Sequential(nn.Linear(4, 5, rng=rng), nn.Tanh(), LinearWithWrongBackward(5, 2, rng=rng))
    errors = check_module_gradients(module, nn.MSELoss(), rng.normal(size=(5, 4)), rng.normal(size=(5, 2)))
    assert min(errors.values()) > 0.05, errors


# ---------------------------------------------------------------- float64 only
def test_check_module_gradients_refuses_a_float32_network_and_says_why():
    """In float32 a correct network shows relative errors near 1e-2: refused, not a false alarm."""
    rng = np.random.default_rng(8)
    module = nn.Sequential(nn.Linear(4, 5, rng=rng, dtype=np.float32), nn.Tanh(),
                           nn.Linear(5, 2, rng=rng, dtype=np.float32))
    x = rng.normal(size=(3, 4))
    with pytest.raises(ValueError, match=r"parameter 0.weight is float32; finite differences need float64"):
        check_module_gradients(module, nn.MSELoss(), x, rng.normal(size=(3, 2)))
    with pytest.raises(ValueError, match=r"x is float32; finite differences need float64"):
        check_module_gradients(nn.Tanh(), nn.MSELoss(), x.astype(np.float32), rng.normal(size=(3, 4)))


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_numerical_gradient_refuses_less_than_float64(dtype):
    with pytest.raises(ValueError, match=rf"x is {np.dtype(dtype)}; finite differences need float64"):
        numerical_gradient(np.sum, np.ones(3, dtype=dtype))
    with pytest.raises(ValueError, match=rf"the value of f is {np.dtype(dtype)}"):
        numerical_gradient(lambda v: np.sum(v.astype(dtype)), np.ones(3))


def test_numerical_gradient_wants_f_to_return_one_number():
    with pytest.raises(TypeError, match=r"f must return one number, got ndarray of shape \(3,\)"):
        numerical_gradient(lambda v: v**2, np.ones(3))


def test_the_report_names_parameters_as_torch_does():
    rng = np.random.default_rng(9)
    module = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.ReLU(), nn.Linear(4, 2, bias=False, rng=rng))
    errors = check_module_gradients(module, nn.MSELoss(), rng.normal(size=(5, 3)), rng.normal(size=(5, 2)))
    assert list(errors) == ["input", "0.weight", "0.bias", "2.weight"]


def test_relative_error_puts_non_finite_entries_aside_only_where_both_agree():
    assert relative_error([1.0, np.inf, np.nan], [1.0, np.inf, np.nan]) == 0.0
    assert relative_error([1.0, np.inf], [1.0, -np.inf]) == np.inf
    assert relative_error([1.0, 2.0], [1.0, np.nan]) == np.inf
    assert relative_error(np.float32(1.5), 1.5) == 0.0
