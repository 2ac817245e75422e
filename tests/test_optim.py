"""introdl.optim against torch.optim: trajectories, defaults, errors, and no NaN from finite input."""
import inspect

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_parity import DEVICES, torch_dtype
from introdl import data, nn, optim
from introdl.gradcheck import relative_error
from introdl import NonFiniteError

NAMES = ["SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW"]

# ---------------------------------------------------------------------------------------------
# Parity: the same gradients fed to both, step after step, and the trajectories compared.
# ---------------------------------------------------------------------------------------------

SHAPES = [(3,), (2, 4), (5,)]
SIZE = sum(int(np.prod(shape)) for shape in SHAPES)
STEPS = 300
# Looser than torch_parity's one-operation tolerances: a trajectory compounds 300 steps of rounding.
# Measured: ~5e-16 in float64 on the CPU; ~4e-6 for torch in float32 (on the CPU) against float64.
TRAJECTORY_TOLERANCE = {"cpu": 1e-9, "cuda": 1e-4}
LR_CHANGE_AT = 150  # lr is halved here on both sides: a change between steps must take effect
SKIPPED = 2  # this parameter gets no gradient (grad = None) on some steps; both must skip it


def _problem():
    """A fixed, well-conditioned, non-quadratic objective with noisy gradients.

    f(x) = ½ xᵀAx − bᵀx + 0.1·Σ cos(x) over the 16 numbers of all parameters, A symmetric with
    eigenvalues in [0.5, 2]; each step adds fresh (seeded) noise to the gradient, so that the
    gradients keep changing and every piece of optimizer state matters.
    """
    rng = np.random.default_rng(6191)
    q, _ = np.linalg.qr(rng.normal(size=(SIZE, SIZE)))
    A = q @ np.diag(np.linspace(0.5, 2.0, SIZE)) @ q.T
    b = rng.normal(size=SIZE)
    noise = 0.3 * rng.normal(size=(STEPS, SIZE))
    start = rng.normal(size=SIZE)
    return A, b, noise, start


A, B, NOISE, START = _problem()


def _split(flat):
    arrays, offset = [], 0
    for shape in SHAPES:
        size = int(np.prod(shape))
        arrays.append(flat[offset:offset + size].reshape(shape))
        offset += size
    return arrays


def _gradients(arrays, step, sign):
    """∇f at the given parameter values (float64), with step's noise, times ``sign``."""
    x = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])
    grad = sign * (A @ x - B - 0.1 * np.sin(x) + NOISE[step])
    return _split(grad)


def run_parity(name, kwargs, device="cpu", dtype=torch.float64, steps=STEPS):
    """Run introdl.optim.<name> and torch.optim.<name> side by side; return the largest relative
    difference of the parameters over all steps, and both optimizers (for a look at the state)."""
    ours_params = [nn.Parameter(a.copy()) for a in _split(START)]
    torch_params = [torch.tensor(a, dtype=dtype, device=device, requires_grad=True)
                    for a in _split(START)]
    ours = getattr(optim, name)(ours_params, **kwargs)
    theirs = getattr(torch.optim, name)(torch_params, **kwargs)
    # With maximize, follow the gradient of −f, so that climbing it is descending f.
    sign = -1.0 if kwargs.get("maximize") else 1.0
    worst = 0.0
    for step in range(steps):
        if step == LR_CHANGE_AT:
            ours.param_groups[0]["lr"] /= 2
            theirs.param_groups[0]["lr"] /= 2
        torch_values = [p.detach().cpu().double().numpy() for p in torch_params]
        grads_ours = _gradients([p.data for p in ours_params], step, sign)
        grads_torch = _gradients(torch_values, step, sign)
        for i, (p, q) in enumerate(zip(ours_params, torch_params)):
            skip = i == SKIPPED and step % 7 == 3
            p.grad = None if skip else grads_ours[i]
            q.grad = None if skip else torch.tensor(grads_torch[i], dtype=dtype, device=device)
        ours.step()
        with torch.no_grad():
            theirs.step()
        torch_values = [p.detach().cpu().double().numpy() for p in torch_params]
        worst = max([worst] + [relative_error(p.data, q) for p, q in zip(ours_params, torch_values)])
    return worst, (ours, ours_params), (theirs, torch_params)


CONFIGS = {
    "SGD": {
        "defaults": {},
        "lr": dict(lr=0.05),
        "momentum": dict(lr=0.05, momentum=0.9),
        "dampening": dict(lr=0.05, momentum=0.9, dampening=0.5),
        "nesterov": dict(lr=0.05, momentum=0.8, nesterov=True),
        "weight_decay": dict(lr=0.05, weight_decay=0.1),
        "maximize": dict(lr=0.05, maximize=True),
        "all": dict(lr=0.03, momentum=0.7, weight_decay=0.05, nesterov=True, maximize=True),
        "all_damped": dict(lr=0.03, momentum=0.7, dampening=0.2, weight_decay=0.05,
                           maximize=True),
    },
    "Adagrad": {
        "defaults": {},
        "lr": dict(lr=0.3),
        "lr_decay": dict(lr=0.3, lr_decay=0.05),
        "weight_decay": dict(lr=0.3, weight_decay=0.1),
        "initial_accumulator_value": dict(lr=0.3, initial_accumulator_value=0.5),
        "eps": dict(lr=0.3, eps=0.1),
        "maximize": dict(lr=0.3, maximize=True),
        "all": dict(lr=0.3, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.2,
                    eps=1e-3, maximize=True),
    },
    "Adadelta": {
        "defaults": {},  # lr = 1.0
        "lr_rho": dict(lr=0.5, rho=0.8),
        "eps": dict(eps=1e-3),
        "weight_decay": dict(weight_decay=0.1),
        "maximize": dict(maximize=True),
        "all": dict(lr=2.0, rho=0.95, eps=1e-4, weight_decay=0.05, maximize=True),
    },
    "RMSprop": {
        "defaults": {},
        "alpha": dict(alpha=0.9),
        "centered": dict(centered=True),
        "momentum": dict(lr=3e-3, momentum=0.9),
        "centered_momentum": dict(lr=3e-3, momentum=0.9, centered=True),
        "weight_decay": dict(weight_decay=0.1),
        "eps": dict(eps=1e-2),
        "maximize": dict(maximize=True),
        "all": dict(lr=3e-3, alpha=0.95, eps=1e-4, weight_decay=0.05, momentum=0.5,
                    centered=True, maximize=True),
    },
    "Adam": {
        "defaults": {},
        "lr": dict(lr=0.05),
        "betas": dict(lr=0.02, betas=(0.8, 0.99)),
        "small_beta1": dict(lr=0.02, betas=(0.3, 0.9)),  # the other branch of the running average
        "eps": dict(lr=0.02, eps=1e-3),
        "weight_decay": dict(lr=0.02, weight_decay=0.1),
        "amsgrad": dict(lr=0.02, amsgrad=True),
        "maximize": dict(lr=0.02, maximize=True),
        "decoupled": dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True),
        "all": dict(lr=0.02, betas=(0.85, 0.995), eps=1e-6, weight_decay=0.05, amsgrad=True,
                    maximize=True),
    },
    "AdamW": {
        "defaults": {},  # weight_decay = 0.01, decoupled
        "weight_decay": dict(lr=0.02, weight_decay=0.2),
        "amsgrad": dict(lr=0.02, amsgrad=True),
        "maximize": dict(lr=0.02, maximize=True),
        "all": dict(lr=0.02, betas=(0.85, 0.995), eps=1e-6, weight_decay=0.1, amsgrad=True,
                    maximize=True),
    },
}
CASES = [pytest.param(name, kwargs, id=f"{name}-{label}")
         for name, configs in CONFIGS.items() for label, kwargs in configs.items()]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name, kwargs", CASES)
def test_trajectory_matches_torch(name, kwargs, device):
    tolerance = TRAJECTORY_TOLERANCE[torch.device(device).type]
    worst, _, _ = run_parity(name, kwargs, device, torch_dtype(device))
    assert worst <= tolerance, f"{name}({kwargs}) left torch.optim.{name} by {worst:.2e}"


@pytest.mark.parametrize("name, kwargs", CASES)
def test_state_matches_torch(name, kwargs):
    """After a short run, the state has torch's names and values (step counts included)."""
    _, (ours, ours_params), (theirs, torch_params) = run_parity(name, kwargs, steps=20)
    for p, q in zip(ours_params, torch_params):
        state, torch_state = ours.state[p], theirs.state[q]
        assert set(state) == set(torch_state)
        for key, value in torch_state.items():
            expected = value.detach().cpu().double().numpy()
            np.testing.assert_allclose(state[key], expected, rtol=1e-9, atol=1e-12, err_msg=key)


# ---------------------------------------------------------------------------------------------
# Constructor: defaults, and errors for bad hyperparameters and bad parameter lists.
# ---------------------------------------------------------------------------------------------

TORCH_ONLY = {"foreach", "capturable", "differentiable", "fused"}  # torch's engineering switches


@pytest.mark.parametrize("name", NAMES)
def test_signature_and_defaults_match_torch(name):
    ours = inspect.signature(getattr(optim, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    assert set(theirs) - set(ours) <= TORCH_ONLY
    for arg, parameter in ours.items():
        assert arg in theirs, f"{name} has {arg!r}, torch.optim.{name} has not"
        assert parameter.default == theirs[arg].default, arg

    # Positional arguments mean the same in both: ours are the start of torch's list.
    def positional(params):
        return [a for a, p in params.items() if a not in TORCH_ONLY
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert positional(theirs)[:len(positional(ours))] == positional(ours)


def _one_parameter():
    return [nn.Parameter(np.ones(3))]


BAD = [
    # (optimizer, kwargs, the argument the message must name, the value it must show, torch also raises)
    ("SGD", dict(lr=-0.1), "lr", "-0.1", True),
    ("SGD", dict(momentum=-0.5), "momentum", "-0.5", True),
    ("SGD", dict(weight_decay=-1e-3), "weight_decay", "-0.001", True),
    ("SGD", dict(nesterov=True), "nesterov", "momentum=0.0", True),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "nesterov", "dampening=0.1", True),
    ("Adagrad", dict(lr=-1.0), "lr", "-1.0", True),
    ("Adagrad", dict(lr_decay=-0.01), "lr_decay", "-0.01", True),
    ("Adagrad", dict(weight_decay=-0.1), "weight_decay", "-0.1", True),
    ("Adagrad", dict(initial_accumulator_value=-0.5), "initial_accumulator_value", "-0.5", True),
    ("Adagrad", dict(eps=-1e-10), "eps", "-1e-10", True),
    ("Adadelta", dict(lr=-1.0), "lr", "-1.0", True),
    ("Adadelta", dict(rho=1.5), "rho", "1.5", True),
    ("Adadelta", dict(rho=-0.1), "rho", "-0.1", True),
    ("Adadelta", dict(eps=-1e-6), "eps", "-1e-06", True),
    ("Adadelta", dict(weight_decay=-0.1), "weight_decay", "-0.1", True),
    ("RMSprop", dict(lr=-0.01), "lr", "-0.01", True),
    ("RMSprop", dict(alpha=-0.1), "alpha", "-0.1", True),
    ("RMSprop", dict(alpha=1.5), "alpha", "1.5", False),  # torch accepts it, then makes NaN
    ("RMSprop", dict(eps=-1e-8), "eps", "-1e-08", True),
    ("RMSprop", dict(weight_decay=-0.1), "weight_decay", "-0.1", True),
    ("RMSprop", dict(momentum=-0.9), "momentum", "-0.9", True),
    ("Adam", dict(lr=-1e-3), "lr", "-0.001", True),
    ("Adam", dict(betas=(1.0, 0.999)), "betas[0]", "1.0", True),
    ("Adam", dict(betas=(-0.1, 0.999)), "betas[0]", "-0.1", True),
    ("Adam", dict(betas=(0.9, 1.0)), "betas[1]", "1.0", True),
    ("Adam", dict(eps=-1e-8), "eps", "-1e-08", True),
    ("Adam", dict(weight_decay=-0.1), "weight_decay", "-0.1", True),
    ("AdamW", dict(lr=-1e-3), "lr", "-0.001", True),
    ("AdamW", dict(betas=(0.9, 1.5)), "betas[1]", "1.5", True),
    ("AdamW", dict(weight_decay=-0.01), "weight_decay", "-0.01", True),
]


@pytest.mark.parametrize("name, kwargs, arg, shown, torch_raises", [
    pytest.param(*case, id=f"{case[0]}-" + "-".join(f"{k}={v}" for k, v in case[1].items()))
    for case in BAD])
def test_bad_hyperparameter_raises(name, kwargs, arg, shown, torch_raises):
    with pytest.raises(ValueError) as error:
        getattr(optim, name)(_one_parameter(), **kwargs)
    assert arg in str(error.value) and shown in str(error.value), str(error.value)
    if torch_raises:
        with pytest.raises(ValueError):
            getattr(torch.optim, name)([torch.ones(3, requires_grad=True)], **kwargs)


def test_betas_must_be_a_pair():
    with pytest.raises(ValueError, match="betas must be a pair"):
        optim.Adam(_one_parameter(), betas=0.9)


def test_lr_must_be_a_number():
    with pytest.raises(TypeError, match="lr must be a real number"):
        optim.SGD(_one_parameter(), lr="0.1")


@pytest.mark.parametrize("params, error, message", [
    pytest.param([], ValueError, "params is empty", id="empty"),
    pytest.param([np.ones(3)], TypeError, r"params\[0\] must be an introdl.nn.Parameter, got ndarray",
                 id="ndarray-item"),
    pytest.param(nn.Parameter(np.ones(3)), TypeError, "got Parameter", id="single-parameter"),
    pytest.param(nn.Linear(2, 1, rng=np.random.default_rng(0)), TypeError, r"model.parameters\(\)",
                 id="module"),
    pytest.param(5, TypeError, "got int", id="number"),
])
def test_bad_parameter_list_raises(params, error, message):
    with pytest.raises(error, match=message):
        optim.SGD(params, lr=0.1)


def test_repeated_parameter_raises():
    p = nn.Parameter(np.ones(3))
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p], lr=0.1)


def test_parameters_may_come_from_a_generator_and_a_model():
    model = nn.Sequential(nn.Linear(2, 3, rng=np.random.default_rng(0)), nn.ReLU(),
                          nn.Linear(3, 1, rng=np.random.default_rng(1)))
    assert len(optim.Adam(p for p in model.parameters()).param_groups[0]["params"]) == 4
    assert len(optim.Adam(model.parameters()).param_groups[0]["params"]) == 4


# ---------------------------------------------------------------------------------------------
# step and zero_grad
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_zero_grad_sets_every_grad_to_none(name):
    params = [nn.Parameter(np.ones(3)), nn.Parameter(np.ones((2, 2)))]
    for p in params:
        p.grad = np.ones_like(p.data)
    getattr(optim, name)(params).zero_grad()
    assert all(p.grad is None for p in params)


@pytest.mark.parametrize("name", NAMES)
def test_parameter_without_gradient_is_skipped(name):
    with_grad, without = nn.Parameter(np.ones(3)), nn.Parameter(np.ones(2))
    optimizer = getattr(optim, name)([with_grad, without])
    with_grad.grad = np.array([1.0, -2.0, 3.0])
    optimizer.step()
    optimizer.step()
    assert not np.array_equal(with_grad.data, np.ones(3))
    np.testing.assert_array_equal(without.data, np.ones(2))
    assert optimizer.state[without] == {}
    if "step" in optimizer.state[with_grad]:
        assert optimizer.state[with_grad]["step"] == 2


@pytest.mark.parametrize("name", NAMES)
def test_lr_can_change_between_steps(name):
    p = nn.Parameter(np.ones(3))
    optimizer = getattr(optim, name)([p])
    p.grad = np.array([1.0, -2.0, 3.0])
    optimizer.param_groups[0]["lr"] = 0.0  # as torch's schedulers and users do it
    optimizer.step()
    np.testing.assert_array_equal(p.data, np.ones(3))  # no step at all with η = 0
    optimizer.param_groups[0]["lr"] = 0.1
    optimizer.step()
    assert not np.array_equal(p.data, np.ones(3))
    before = p.data.copy()
    optimizer.param_groups[0]["lr"] = -0.1
    with pytest.raises(ValueError, match=r'param_groups\[0\]\["lr"\] must be in \[0, inf\], got -0.1'):
        optimizer.step()
    np.testing.assert_array_equal(p.data, before)


def test_step_returns_what_the_closure_returns():
    p = nn.Parameter(np.ones(3))
    optimizer = optim.SGD([p], lr=0.1)

    def closure():
        p.grad = 2 * p.data
        return float(np.sum(p.data ** 2))

    assert optimizer.step(closure) == 3.0
    np.testing.assert_allclose(p.data, 0.8 * np.ones(3))
    assert optimizer.step() is None


@pytest.mark.parametrize("name", NAMES)
def test_float32_parameters_stay_float32(name):
    p = nn.Parameter(np.ones(3, dtype=np.float32))
    optimizer = getattr(optim, name)([p])
    for _ in range(3):
        p.grad = np.array([1.0, -2.0, 3.0], dtype=np.float32)
        optimizer.step()
    assert p.data.dtype == np.float32
    assert all(v.dtype == np.float32 for v in optimizer.state[p].values() if isinstance(v, np.ndarray))


def test_step_does_not_touch_the_gradient():
    """The optimizers read p.grad and never write into it (it may be shared with the caller)."""
    for name in NAMES:
        for kwargs in CONFIGS[name].values():
            p = nn.Parameter(np.ones(4))
            grad = np.array([1.0, -2.0, 0.5, 0.0])
            p.grad = grad
            optimizer = getattr(optim, name)([p], **kwargs)
            for _ in range(3):
                optimizer.step()
            np.testing.assert_array_equal(grad, [1.0, -2.0, 0.5, 0.0], err_msg=f"{name}{kwargs}")


# ---------------------------------------------------------------------------------------------
# Non-finite gradients in, and no NaN out of finite ones.
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", NAMES)
def test_non_finite_gradient_raises_before_any_update(name, bad):
    first, second = nn.Parameter(np.ones(3)), nn.Parameter(np.ones(2))
    optimizer = getattr(optim, name)([first, second])
    first.grad = np.array([1.0, 2.0, 3.0])
    second.grad = np.array([1.0, bad])
    with pytest.raises(NonFiniteError, match="parameter 1"):
        optimizer.step()
    np.testing.assert_array_equal(first.data, np.ones(3))  # nothing was changed
    assert all(optimizer.state[p] == {} for p in (first, second))


def test_huge_finite_gradient_is_not_mistaken_for_infinite():
    p = nn.Parameter(np.zeros(2))
    p.grad = np.array([1.5e308, 1.5e308])  # its sum overflows; the gradient itself is finite
    optim.SGD([p], lr=1e-3).step()
    assert np.all(np.isfinite(p.data))


def test_gradient_of_the_wrong_shape_raises():
    p = nn.Parameter(np.zeros(3))
    p.grad = np.ones(4)
    with pytest.raises(ValueError, match=r"parameter 0 must have the parameter's shape \(3,\), got \(4,\)"):
        optim.Adam([p]).step()


def test_centered_rmsprop_gives_no_nan_when_rounding_makes_the_variance_negative():
    """v − ḡ² is a variance, ≥ 0 in exact arithmetic; with a constant gradient it tends to 0 and
    rounding puts some entries a hair below 0. torch.optim.RMSprop takes the square root of that
    and returns NaN weights here (torch 2.13); the max(·, 0) keeps ours finite."""
    grads = np.random.default_rng(1).uniform(0.1, 10.0, size=200)
    p = nn.Parameter(np.zeros(200))
    optimizer = optim.RMSprop([p], alpha=0.5, centered=True)
    went_negative = False
    for _ in range(100):
        p.grad = grads
        optimizer.step()
        state = optimizer.state[p]
        went_negative |= bool(np.any(state["square_avg"] - state["grad_avg"] ** 2 < 0))
        assert np.all(np.isfinite(p.data))
    assert went_negative, "the test no longer reaches a negative rounded variance"


# Magnitudes from 1e-300 to 1e150, either sign, or exactly 0.
_extreme = st.one_of(
    st.just(0.0),
    st.builds(lambda sign, mantissa, exponent: sign * mantissa * 10.0 ** exponent,
              st.sampled_from([-1.0, 1.0]), st.floats(1.0, 9.99), st.integers(-300, 149)),
)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_finite_gradients_never_give_nan(name, data):
    size = data.draw(st.integers(1, 4), label="size")
    grads = data.draw(st.lists(st.lists(_extreme, min_size=size, max_size=size),
                               min_size=1, max_size=20), label="gradients")
    p = nn.Parameter(np.linspace(-1.0, 1.0, size))
    optimizer = getattr(optim, name)([p])
    for grad in grads:
        p.grad = np.array(grad)
        optimizer.step()
        assert np.all(np.isfinite(p.data)), (name, p.data)


# ---------------------------------------------------------------------------------------------
# torch's layout: state keyed by Parameter, param_groups, state_dict; checkpoints that resume exactly.
# ---------------------------------------------------------------------------------------------

TORCH_SWITCHES = TORCH_ONLY | {"initial_lr"}


def _torch_value(value):
    return value.item() if isinstance(value, torch.Tensor) and value.ndim == 0 else value


@pytest.mark.parametrize("name, kwargs", [pytest.param(n, c["all"], id=n) for n, c in CONFIGS.items()])
def test_state_is_keyed_by_parameter_and_state_dict_has_torchs_layout(name, kwargs):
    _, (ours, ours_params), (theirs, torch_params) = run_parity(name, kwargs, steps=20)
    # optimizer.state[p], and the i-th parameter's state under the key i in state_dict().
    for i, (p, q) in enumerate(zip(ours_params, torch_params)):
        assert set(ours.state[p]) == set(theirs.state[q])
    mine, torchs = ours.state_dict(), theirs.state_dict()
    assert set(mine) == set(torchs) == {"state", "param_groups"}
    assert set(mine["state"]) == set(torchs["state"]) == {0, 1, 2}
    for i, entry in torchs["state"].items():
        assert set(mine["state"][i]) == set(entry)
        for key, value in entry.items():
            np.testing.assert_allclose(mine["state"][i][key], value.double().numpy(), rtol=1e-9, atol=1e-12)
    (group,), (torch_group,) = mine["param_groups"], torchs["param_groups"]
    assert group["params"] == torch_group["params"] == [0, 1, 2]
    assert set(group) == set(torch_group) - TORCH_SWITCHES
    for key in set(group) - {"params"}:
        assert _torch_value(torch_group[key]) == pytest.approx(group[key]), key
    assert ours.param_groups[0]["params"] == ours_params


def test_the_learning_rate_has_one_name_as_in_torch():
    optimizer = optim.SGD([nn.Parameter(np.ones(3))], lr=0.1)
    assert optimizer.param_groups[0]["lr"] == 0.1
    assert not hasattr(optimizer, "lr") and not hasattr(torch.optim.SGD([torch.ones(1)], lr=0.1), "lr")


def test_state_rejects_a_parameter_of_another_optimizer():
    optimizer = optim.SGD([nn.Parameter(np.ones(3))], lr=0.1)
    with pytest.raises(KeyError, match="keyed by the optimizer's Parameters"):
        optimizer.state[nn.Parameter(np.ones(3))]
    with pytest.raises(KeyError, match="keyed by the optimizer's Parameters, got int 0"):
        optimizer.state[0]  # torch's state is keyed by the parameter only; state_dict() numbers them


def _digits_run(make_optimizer, steps, start=None):
    """A 64 → 16 → 10 network on the digits; ``steps`` mini-batch steps. Returns (model, optimizer)."""
    X, y = data.digits()
    model = nn.Sequential(nn.Linear(64, 16, rng=np.random.default_rng(0)), nn.Tanh(),
                          nn.Linear(16, 10, rng=np.random.default_rng(1)))
    optimizer = make_optimizer(model.parameters())
    if start is not None:
        start(model, optimizer)
    return model, optimizer, X, y


def _train_steps(model, optimizer, X, y, first, last):
    loss_fn = nn.CrossEntropyLoss()
    for step in range(first, last):
        rows = np.random.default_rng(step).choice(len(X), size=32, replace=False)
        optimizer.zero_grad()
        loss_fn(model(X[rows]), y[rows])
        model.backward(loss_fn.backward())
        optimizer.step()


@pytest.mark.parametrize("make", [
    pytest.param(lambda p: optim.Adam(p, lr=1e-2, amsgrad=True), id="Adam"),
    pytest.param(lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True), id="SGD-momentum"),
    pytest.param(lambda p: optim.RMSprop(p, lr=1e-3, centered=True, momentum=0.5), id="RMSprop"),
])
def test_a_checkpoint_saved_with_savez_resumes_the_run_bit_for_bit(make, tmp_path):
    model, optimizer, X, y = _digits_run(make, 0)
    _train_steps(model, optimizer, X, y, 0, 30)  # 30 steps straight through
    through = model.state_dict()

    model, optimizer, X, y = _digits_run(make, 0)
    _train_steps(model, optimizer, X, y, 0, 15)
    np.savez(tmp_path / "checkpoint.npz", model=model.state_dict(), optimizer=optimizer.state_dict())
    _train_steps(model, optimizer, X, y, 15, 20)  # the saved copy must not follow later steps

    resumed_model, resumed, X, y = _digits_run(make, 0)  # fresh objects, as in a new session
    checkpoint = np.load(tmp_path / "checkpoint.npz", allow_pickle=True)
    resumed_model.load_state_dict(checkpoint["model"].item())
    resumed.load_state_dict(checkpoint["optimizer"].item())
    _train_steps(resumed_model, resumed, X, y, 15, 30)
    for name, value in resumed_model.state_dict().items():
        np.testing.assert_array_equal(value, through[name], err_msg=name)


def test_load_state_dict_continues_like_torch_from_torchs_own_state():
    """A state_dict converted from torch.optim.Adam's (tensors → arrays) drives our Adam on as torch goes on."""
    _, (ours, ours_params), (theirs, torch_params) = run_parity("Adam", CONFIGS["Adam"]["all"], steps=10)
    saved = theirs.state_dict()
    converted = {"state": {i: {k: (v.item() if v.ndim == 0 else v.numpy().copy()) for k, v in entry.items()}
                           for i, entry in saved["state"].items()},
                 "param_groups": [{k: v for k, v in group.items() if k not in TORCH_SWITCHES}
                                  for group in saved["param_groups"]]}
    fresh_params = [nn.Parameter(q.detach().numpy().copy()) for q in torch_params]
    fresh = optim.Adam(fresh_params)
    fresh.load_state_dict(converted)
    assert fresh.param_groups[0]["betas"] == (0.85, 0.995) and fresh.param_groups[0]["amsgrad"]
    for step in range(10, 15):
        grads = _gradients([q.detach().numpy() for q in torch_params], step, -1.0)
        for p, q, g in zip(fresh_params, torch_params, grads):
            p.grad, q.grad = g, torch.tensor(g)
        fresh.step()
        with torch.no_grad():
            theirs.step()
    for p, q in zip(fresh_params, torch_params):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("change, match", [
    (lambda d: d.pop("state"), 'keys "state" and "param_groups"'),
    (lambda d: d["param_groups"][0]["params"].pop(), "is for 1 parameters, this optimizer has 2"),
    (lambda d: d["param_groups"][0].pop("momentum"), r"lacks the hyperparameter\(s\) \['momentum'\] of SGD"),
    (lambda d: d["state"][0].update(momentum_buffer=np.ones(4)),
     r'state_dict\["state"\]\[0\]\["momentum_buffer"\] has shape \(4,\), parameter 0 has shape \(3,\)'),
    (lambda d: d["state"].update({5: {}}), "state for parameter 5, this optimizer has 2 parameters"),
])
def test_load_state_dict_rejects_a_state_dict_that_does_not_fit(change, match):
    params = [nn.Parameter(np.ones(3)), nn.Parameter(np.ones(2))]
    optimizer = optim.SGD(params, lr=0.1, momentum=0.9)
    for p in params:
        p.grad = np.ones_like(p.data)
    optimizer.step()
    state_dict = optimizer.state_dict()
    change(state_dict)
    with pytest.raises(ValueError, match=match):
        optim.SGD([nn.Parameter(np.ones(3)), nn.Parameter(np.ones(2))], lr=0.1, momentum=0.9).load_state_dict(state_dict)


# ---------------------------------------------------------------------------------------------
# Non-finite numbers: computed as torch computes them where torch stays finite, refused otherwise.
# ---------------------------------------------------------------------------------------------

NON_FINITE_CONFIGS = {
    "SGD-momentum": ("SGD", dict(lr=0.1, momentum=0.9)), "Adagrad": ("Adagrad", {}),
    "Adadelta": ("Adadelta", {}), "RMSprop": ("RMSprop", {}), "RMSprop-centered": ("RMSprop", dict(centered=True)),
    "Adam": ("Adam", {}), "Adam-amsgrad": ("Adam", dict(amsgrad=True)), "AdamW": ("AdamW", {}),
}


def _torch_steps(name, kwargs, start, grads):
    """torch.optim's parameter and state after one step per gradient, as float64 arrays."""
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = getattr(torch.optim, name)([p], **kwargs)
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
    state = {key: value.numpy() for key, value in optimizer.state[p].items() if value.ndim > 0}
    return p.detach().numpy(), state


@pytest.mark.parametrize("magnitude", [1e150, 1e155, 1e157, 1e158, 1e200])
@pytest.mark.parametrize("config", NON_FINITE_CONFIGS)
def test_a_huge_gradient_steps_as_torch_does_or_is_refused_where_torch_goes_non_finite(config, magnitude):
    """Adam at |g| = 1e155 takes torch's normal step: (1 - β₂)·g is formed before squaring.
    Where torch's parameter or state becomes infinite (g² overflows even after scaling), the step is refused."""
    name, kwargs = NON_FINITE_CONFIGS[config]
    start, grads = np.array([1.0, -2.0, 0.5]), [np.array([magnitude, -magnitude, 1.0])] * 2
    expected, expected_state = _torch_steps(name, kwargs, start, grads)
    p = nn.Parameter(start)
    optimizer = getattr(optim, name)([p], **kwargs)
    torch_finite = np.isfinite(expected).all() and all(np.isfinite(v).all() for v in expected_state.values())
    if torch_finite:
        for g in grads:
            p.grad = g
            optimizer.step()
        assert relative_error(p.data, expected) <= 1e-12
        for key, value in expected_state.items():
            assert relative_error(optimizer.state[p][key], value) <= 1e-12, key
    else:
        p.grad = grads[0]
        with pytest.raises(NonFiniteError, match=r"too large to square|the step overflows"):
            for g in grads:
                p.grad = g
                optimizer.step()
        assert np.isfinite(p.data).all() and all(np.isfinite(v).all() for v in optimizer.state[p].values()
                                                 if isinstance(v, np.ndarray))


def test_adam_at_1e155_takes_torchs_step_and_centred_rmsprop_at_1e158_is_refused():
    """The two cases of the issue, named: torch stays finite for the first, its state overflows for the second."""
    g = np.array([1e155, -1e155])
    expected, _ = _torch_steps("Adam", {}, np.array([1.0, -2.0]), [g])
    p = nn.Parameter(np.array([1.0, -2.0]))
    p.grad = g
    optim.Adam([p]).step()
    assert relative_error(p.data, expected) <= 1e-12 and not np.allclose(p.data, [1.0, -2.0])
    _, torch_state = _torch_steps("RMSprop", dict(centered=True), np.array([1.0, -2.0]), [g * 1000])
    assert np.isinf(torch_state["square_avg"]).all()
    p.grad = g * 1000
    with pytest.raises(NonFiniteError, match=r'state\["square_avg"\].*too large to square: its largest \|g\| is 1e\+158'):
        optim.RMSprop([p], centered=True).step()


@pytest.mark.parametrize("name", ["Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW"])
def test_eps_0_with_a_zero_second_moment_is_refused_where_torch_gives_nan(name):
    start = np.array([1.0, -2.0])
    grads = [np.array([0.0, 1.0])]
    expected, _ = _torch_steps(name, dict(eps=0.0), start, grads)
    assert np.isnan(expected[0])  # torch: 0 / 0
    p = nn.Parameter(start)
    p.grad = grads[0]
    optimizer = getattr(optim, name)([p], eps=0.0)
    with pytest.raises(NonFiniteError, match=rf"{name}.step\(\) would make the values.*eps = 0 and a running "
                                             r"average of squared gradients that is 0"):
        optimizer.step()
    np.testing.assert_array_equal(p.data, start)
    assert optimizer.state[p] == {}


def test_sgd_whose_step_overflows_is_refused_where_torch_gives_inf():
    start, g = np.array([1.0, -2.0]), np.array([1e10, 1.0])
    expected, _ = _torch_steps("SGD", dict(lr=1e300), start, [g])
    assert np.isinf(expected[0])
    p = nn.Parameter(start)
    p.grad = g
    with pytest.raises(NonFiniteError, match=r"SGD.step\(\) would make the values of parameter 0 NaN or "
                                             r"infinite: the step overflows \(lr = 1e\+300"):
        optim.SGD([p], lr=1e300).step()
    np.testing.assert_array_equal(p.data, start)


def test_a_refused_step_changes_no_parameter_at_all():
    first, second = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    optimizer = optim.Adam([first, second], eps=0.0)
    first.grad, second.grad = np.ones(2), np.zeros(2)  # the second parameter's update is 0 / 0
    with pytest.raises(NonFiniteError, match="parameter 1"):
        optimizer.step()
    np.testing.assert_array_equal(first.data, np.ones(2))
    assert optimizer.state[first] == {} and optimizer.steps_taken == 0


def test_non_finite_error_is_public():
    import introdl
    assert introdl.NonFiniteError is optim.NonFiniteError is NonFiniteError
    assert issubclass(NonFiniteError, ValueError)
