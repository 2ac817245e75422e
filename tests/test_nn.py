"""introdl.nn against torch.nn: the same weights (copied by introdl.torch_twin), forward and backward.

Every comparison is against torch itself: the module's twin, a torch.nn loss, and autograd.
"""
import numpy as np
import pytest
import torch

from torch_parity import assert_close, to_tensor, torch_dtype
from introdl import nn, torch_twin

SEEDS = [0, 1, 2]


def twin_of(model, device):
    return torch_twin.to_torch(model, on_device=device, dtype=torch_dtype(device))


def torch_forward_backward(twin, x, grad_output, device):
    """Run the twin forward and backward; return (output, ∂L/∂x, [∂L/∂p for each parameter])."""
    xt = to_tensor(x, device, requires_grad=True)
    out = twin(xt)
    out.backward(to_tensor(grad_output, device))
    return out, xt.grad, [p.grad for p in twin.parameters()]


def assert_same_gradients(model, twin, device):
    params, twin_params = model.parameters(), list(twin.parameters())
    assert len(params) == len(twin_params)
    for index, (p, tp) in enumerate(zip(params, twin_params)):
        assert p.grad is not None and tp.grad is not None, f"parameter {index} has no gradient"
        assert_close(p.grad, tp.grad, device, what=f"parameter {index} gradient")


# Each factory builds a module from a Generator; the input is (batch, 5) unless said otherwise.
MODULES = {
    "Linear": lambda rng: nn.Linear(5, 3, rng=rng),
    "Sigmoid": lambda rng: nn.Sigmoid(),
    "Tanh": lambda rng: nn.Tanh(),
    "ReLU": lambda rng: nn.ReLU(),
    "Dropout (eval)": lambda rng: nn.Dropout(0.3, rng=rng).eval(),
    "Sequential": lambda rng: nn.Sequential(nn.Linear(5, 4, rng=rng), nn.Tanh(), nn.Linear(4, 2, rng=rng)),
}


# ---------------------------------------------------------------- every module against its twin
@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("seed", SEEDS)
def test_module_forward_and_backward_match_torch(name, batch, seed, device):
    rng = np.random.default_rng(seed)
    model = MODULES[name](rng)
    x = rng.normal(0.0, 2.0, (batch, 5))
    x[0, 0] = 0.0  # a ReLU kink, where both take the derivative 0
    out = model(x)
    grad_output = rng.normal(size=out.shape)
    grad_input = model.backward(grad_output)

    twin = twin_of(model, device)
    expected_out, expected_grad_input, _ = torch_forward_backward(twin, x, grad_output, device)
    assert_close(out, expected_out, device, what=f"{name} forward")
    assert grad_input.shape == x.shape
    assert_close(grad_input, expected_grad_input, device, what=f"{name} ∂L/∂x")
    assert_same_gradients(model, twin, device)


@pytest.mark.parametrize("name", ["Sigmoid", "Tanh", "ReLU", "Dropout (eval)"])
@pytest.mark.parametrize("shape", [(4,), (2, 3, 4)])
def test_elementwise_modules_take_any_shape_like_torch(name, shape, device):
    rng = np.random.default_rng(4)
    model = MODULES[name](rng)
    x, grad_output = rng.normal(size=shape), rng.normal(size=shape)
    out, grad_input = model(x), model.backward(grad_output)
    expected_out, expected_grad_input, _ = torch_forward_backward(twin_of(model, device), x, grad_output, device)
    assert_close(out, expected_out, device)
    assert_close(grad_input, expected_grad_input, device)


def test_deep_network_end_to_end_matches_torch(device):
    """Four hidden layers, mixed activations, a dropout layer in eval mode and a loss on top."""
    rng = np.random.default_rng(7)
    model = nn.Sequential(
        nn.Linear(6, 16, rng=rng), nn.Tanh(),
        nn.Linear(16, 16, rng=rng), nn.ReLU(),
        nn.Dropout(0.5, rng=rng),
        nn.Linear(16, 12, rng=rng), nn.Sigmoid(),
        nn.Linear(12, 8, rng=rng), nn.ReLU(),
        nn.Linear(8, 4, rng=rng),
    ).eval()
    x, labels = rng.normal(size=(32, 6)), rng.integers(0, 4, 32)
    loss_fn = nn.CrossEntropyLoss()
    loss = loss_fn(model(x), labels)
    grad_input = model.backward(loss_fn.backward())

    twin = twin_of(model, device)
    xt = to_tensor(x, device, requires_grad=True)
    expected_loss = torch.nn.CrossEntropyLoss()(twin(xt), to_tensor(labels, device))
    expected_loss.backward()
    assert_close(loss, expected_loss, device, what="loss")
    assert_close(grad_input, xt.grad, device, what="∂L/∂x")
    assert_same_gradients(model, twin, device)


# ---------------------------------------------------------------- losses against torch.nn losses
def loss_inputs(name, rng, shape=(6, 3)):
    if name == "MSELoss":
        return rng.normal(size=shape), rng.normal(size=shape)
    if name == "BCELoss":
        return rng.uniform(0.01, 0.99, shape), rng.integers(0, 2, shape).astype(float)
    if name == "BCEWithLogitsLoss":
        return rng.normal(0.0, 3.0, shape), rng.uniform(0.0, 1.0, shape)
    return rng.normal(0.0, 3.0, shape), rng.integers(0, shape[1], shape[0])  # CrossEntropyLoss


LOSSES = ["MSELoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss"]


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("shape", [(1, 2), (6, 3), (20, 10)])
@pytest.mark.parametrize("seed", SEEDS)
def test_loss_module_value_and_backward_match_torch(name, shape, seed, device):
    prediction, target = loss_inputs(name, np.random.default_rng(seed), shape)
    loss_fn = getattr(nn, name)()
    loss = loss_fn(prediction, target)
    assert type(loss) is float
    grad = loss_fn.backward()
    assert grad.shape == prediction.shape

    pt = to_tensor(prediction, device, requires_grad=True)
    expected = getattr(torch.nn, name)()(pt, to_tensor(target, device))
    expected.backward()
    assert_close(loss, expected, device, what=f"{name} value")
    assert_close(grad, pt.grad, device, what=f"{name} gradient")


def test_loss_backward_uses_the_latest_call():
    rng = np.random.default_rng(0)
    loss_fn = nn.MSELoss()
    a, b, target = rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    loss_fn(a, target)
    loss_fn(b, target)
    expected = nn.MSELoss()
    expected(b, target)
    np.testing.assert_array_equal(loss_fn.backward(), expected.backward())


# ---------------------------------------------------------------- parameters and their gradients
def test_parameters_come_in_the_torch_twins_order():
    rng = np.random.default_rng(1)
    model = nn.Sequential(
        nn.Linear(3, 5, rng=rng), nn.ReLU(),
        nn.Sequential(nn.Linear(5, 4, rng=rng), nn.Tanh(), nn.Linear(4, 4, rng=rng)),
        nn.Linear(4, 2, rng=rng),
    )
    twin = torch_twin.to_torch(model, on_device="cpu", dtype=torch.float64)
    ours, theirs = model.parameters(), list(twin.parameters())
    assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs]
    for p, tp in zip(ours, theirs):
        np.testing.assert_array_equal(p.data, tp.detach().numpy())
    assert model.num_parameters() == sum(p.numel() for p in theirs)


def test_linear_parameters_are_weight_then_bias_with_torchs_shapes():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    torch_layer = torch.nn.Linear(3, 2, device="meta")  # shapes only, no initialisation
    assert [p.shape for p in layer.parameters()] == [tuple(p.shape) for p in torch_layer.parameters()]
    assert layer.parameters() == [layer.weight, layer.bias]


def test_two_backward_passes_accumulate_like_torch(device):
    """Without zero_grad, gradients add up: the same as torch's .grad after two backward calls."""
    rng = np.random.default_rng(2)
    model = nn.Sequential(nn.Linear(4, 6, rng=rng), nn.Sigmoid(), nn.Linear(6, 2, rng=rng))
    twin = twin_of(model, device)
    for _ in range(2):
        x, grad_output = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
        model(x)
        model.backward(grad_output)
        twin(to_tensor(x, device)).backward(to_tensor(grad_output, device))
    assert_same_gradients(model, twin, device)


def test_first_gradient_is_a_copy_not_a_view():
    """Accumulating into .grad must not write into the array that the first backward passed in."""
    parameter = nn.Parameter(np.zeros(2))
    gradient = np.ones(2)
    parameter.accumulate_grad(gradient)
    parameter.accumulate_grad(gradient)
    np.testing.assert_array_equal(gradient, [1.0, 1.0])
    np.testing.assert_array_equal(parameter.grad, [2.0, 2.0])


def test_zero_grad_sets_every_gradient_to_none():
    rng = np.random.default_rng(4)
    model = nn.Sequential(nn.Linear(3, 3, rng=rng), nn.ReLU(), nn.Sequential(nn.Linear(3, 1, rng=rng)))
    model(rng.normal(size=(2, 3)))
    model.backward(np.ones((2, 1)))
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_parameter_keeps_float_dtypes_and_turns_integers_into_float64():
    assert nn.Parameter(np.zeros(2, dtype=np.float32)).data.dtype == np.float32
    assert nn.Parameter([1, 2]).data.dtype == np.float64
    source = np.zeros(2)
    parameter = nn.Parameter(source)
    parameter.data += 1.0
    np.testing.assert_array_equal(source, [0.0, 0.0])  # the Parameter holds its own copy


# ---------------------------------------------------------------- train / eval
def test_train_and_eval_reach_nested_modules():
    rng = np.random.default_rng(5)
    inner = nn.Sequential(nn.Linear(4, 4, rng=rng), nn.Dropout(0.5, rng=rng))
    model = nn.Sequential(nn.Linear(4, 4, rng=rng), inner, nn.ReLU(), nn.Dropout(0.5, rng=rng))
    everything = [model, *model, *inner]

    assert model.eval() is model
    assert not any(m.training for m in everything)
    x = rng.normal(size=(8, 4))
    np.testing.assert_array_equal(model(x), model(x))  # no dropout anywhere: deterministic

    assert model.train() is model
    assert all(m.training for m in everything)
    assert not np.array_equal(model(x), model(x))  # dropout active again


def test_dropout_in_eval_mode_is_the_identity_both_ways():
    rng = np.random.default_rng(6)
    dropout = nn.Dropout(0.9, rng=rng).eval()
    x, grad_output = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    np.testing.assert_array_equal(dropout(x), x)
    np.testing.assert_array_equal(dropout.backward(grad_output), grad_output)


def test_dropout_in_training_uses_one_mask_forward_and_backward():
    """Kept units are scaled by 1/(1 − p), dropped ones are 0, and backward applies the same mask."""
    p = 0.25
    rng = np.random.default_rng(7)
    dropout = nn.Dropout(p, rng=np.random.default_rng(8))
    x = rng.uniform(1.0, 2.0, (50, 40))  # no zeros, so the mask can be read off the output
    out = dropout(x)
    kept = out != 0.0
    assert 0 < kept.sum() < kept.size
    np.testing.assert_allclose(out[kept], x[kept] / (1.0 - p), rtol=1e-15)
    grad_output = rng.uniform(1.0, 2.0, x.shape)
    grad_input = dropout.backward(grad_output)
    np.testing.assert_array_equal(grad_input != 0.0, kept)
    np.testing.assert_allclose(grad_input[kept], grad_output[kept] / (1.0 - p), rtol=1e-15)


def test_dropout_with_the_same_seed_drops_the_same_units():
    x = np.ones((6, 6))
    first = nn.Dropout(0.5, rng=np.random.default_rng(9))(x)
    second = nn.Dropout(0.5, rng=np.random.default_rng(9))(x)
    np.testing.assert_array_equal(first, second)


# ---------------------------------------------------------------- Linear's initialisation
@pytest.mark.parametrize("in_features", [1, 4, 300])
def test_linear_init_is_uniform_within_one_over_sqrt_in_features(in_features):
    layer = nn.Linear(in_features, 200, rng=np.random.default_rng(10))
    bound = 1.0 / np.sqrt(in_features)
    for parameter in (layer.weight, layer.bias):
        values = parameter.data
        assert np.all(np.abs(values) <= bound)
        # 200+ uniform draws: the extremes come near both ends and the mean near 0.
        assert values.max() > 0.9 * bound and values.min() < -0.9 * bound
        assert abs(values.mean()) < 0.25 * bound
    with torch.random.fork_rng(devices=[]):  # torch's own default init has the same bound
        torch.manual_seed(0)
        torch_layer = torch.nn.Linear(in_features, 200)
    assert torch_layer.weight.abs().max().item() <= bound and torch_layer.bias.abs().max().item() <= bound


def test_linear_init_is_reproducible_from_the_seed():
    a = nn.Linear(5, 3, rng=np.random.default_rng(11))
    b = nn.Linear(5, 3, rng=np.random.default_rng(11))
    c = nn.Linear(5, 3, rng=np.random.default_rng(12))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, c.weight.data)


def test_layers_drawn_from_one_generator_differ():
    rng = np.random.default_rng(13)
    first, second = nn.Linear(5, 3, rng=rng), nn.Linear(5, 3, rng=rng)
    assert not np.array_equal(first.weight.data, second.weight.data)


def test_linear_in_float32_keeps_float32():
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0), dtype=np.float32)
    assert layer.weight.data.dtype == np.float32 and layer.bias.data.dtype == np.float32
    out = layer(np.ones((4, 3), dtype=np.float32))
    assert out.dtype == np.float32
    layer.backward(np.ones((4, 2), dtype=np.float32))
    assert layer.weight.grad.dtype == np.float32


# ---------------------------------------------------------------- Sequential as a container
def test_sequential_indexes_iterates_and_counts_like_a_list():
    layers = [nn.Linear(2, 3, rng=np.random.default_rng(0)), nn.ReLU(), nn.Linear(3, 1, rng=np.random.default_rng(1))]
    model = nn.Sequential(*layers)
    assert len(model) == 3
    assert list(model) == layers
    assert model[1] is layers[1]


def test_empty_sequential_is_the_identity():
    x = np.random.default_rng(0).normal(size=(3, 2))
    model = nn.Sequential()
    np.testing.assert_array_equal(model(x), x)
    np.testing.assert_array_equal(model.backward(x), x)
    assert model.parameters() == []


# ---------------------------------------------------------------- the forward/backward contract
def small_network(rng):
    return nn.Sequential(nn.Linear(4, 3, rng=rng), nn.Tanh(), nn.Linear(3, 2, rng=rng))


def test_forward_called_directly_works_as_a_call_does(device):
    """lin.forward(x) then lin.backward(g): torch's forward may be called directly, so may ours."""
    rng = np.random.default_rng(40)
    model = nn.Linear(4, 2, rng=rng)
    twin = twin_of(model, device)
    x, grad_output = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    out = model.forward(x)
    grad_input = model.backward(grad_output)
    expected_out, expected_grad_input, _ = torch_forward_backward(twin, x, grad_output, device)
    assert_close(out, expected_out, device, what="forward")
    assert_close(grad_input, expected_grad_input, device, what="∂L/∂x")
    assert_same_gradients(model, twin, device)


def test_backward_twice_is_refused_as_torch_refuses_it():
    rng = np.random.default_rng(41)
    model = small_network(rng)
    twin = twin_of(model, "cpu")
    x, grad_output = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    out = twin(to_tensor(x, "cpu"))
    out.backward(to_tensor(grad_output, "cpu"))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.backward(to_tensor(grad_output, "cpu"))
    model(x)
    model.backward(grad_output)
    once = [p.grad.copy() for p in model.parameters()]
    with pytest.raises(RuntimeError, match=r"Sequential.backward needs a forward call before it"):
        model.backward(grad_output)
    with pytest.raises(RuntimeError, match=r"Linear.backward needs a forward call before it"):
        model[2].backward(grad_output)  # a layer on its own too
    for p, g in zip(model.parameters(), once):
        np.testing.assert_array_equal(p.grad, g)  # not doubled


@pytest.mark.parametrize("name", MODULES)
def test_backward_with_no_forward_is_refused(name):
    model = MODULES[name](np.random.default_rng(42))
    with pytest.raises(RuntimeError, match=r"backward needs a forward call before it"):
        model.backward(np.ones((2, 3)))


def test_a_weight_changed_in_place_between_forward_and_backward_is_refused_as_in_torch():
    """pytorch#39141: torch raises "modified by an inplace operation"; the gradient would be off."""
    rng = np.random.default_rng(43)
    model = small_network(rng)
    twin = twin_of(model, "cpu")
    x, grad_output = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    out = twin(to_tensor(x, "cpu"))
    with torch.no_grad():
        twin[2].weight += 1.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward(to_tensor(grad_output, "cpu"))
    model(x)
    model[2].weight.data += 1.0
    with pytest.raises(RuntimeError, match=r"Linear.backward: a weight that forward multiplied by was "
                                           r"changed since"):
        model.backward(grad_output)
    assert all(p.grad is None for p in model.parameters())
    model(x)  # a new forward with the new weights: fine again
    model.backward(grad_output)


def test_an_input_changed_in_place_after_forward_leaves_the_gradient_that_forward_defined(device):
    """torch raises here; backward uses the copy of the input that forward kept, so it is right either way."""
    rng = np.random.default_rng(44)
    model = small_network(rng)
    twin = twin_of(model, device)
    x, grad_output = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    expected_out, expected_grad_input, _ = torch_forward_backward(twin, x, grad_output, device)
    model(x)
    x += 1.0
    assert_close(model.backward(grad_output), expected_grad_input, device, what="∂L/∂x")
    assert_same_gradients(model, twin, device)


def test_a_sequential_holding_one_module_object_twice_is_refused_at_construction():
    act = nn.Tanh()
    with pytest.raises(ValueError, match=r"the same Tanh object is at position 1 and at position 3"):
        nn.Sequential(nn.Linear(2, 2), act, nn.Linear(2, 2), act)
    inner = nn.Linear(2, 2)
    with pytest.raises(ValueError, match=r"the same Linear object is at position 0 and at position 1"):
        nn.Sequential(nn.Sequential(inner, nn.ReLU()), inner)


class TwiceThrough(nn.Module):
    """A custom Module that sends its input through the same layer and activation twice."""

    def __init__(self, rng):
        self.hidden = nn.Linear(3, 3, rng=rng)
        self.act = nn.Tanh()
        self.out = nn.Linear(3, 2, rng=rng)

    def forward(self, x):
        h = self.act(self.hidden(x))
        h = self.act(self.hidden(h))  # the same objects a second time
        return self.out(h)

    def backward(self, grad_output):
        g = self.out.backward(grad_output)
        g = self.hidden.backward(self.act.backward(g))  # the second use first: reverse order
        return self.hidden.backward(self.act.backward(g))


def test_a_custom_module_calling_a_submodule_twice_is_refused_not_a_wrong_gradient():
    """Each object keeps its latest forward only, so the first use's backward is refused."""
    rng = np.random.default_rng(45)
    model = TwiceThrough(rng)
    model(rng.normal(size=(5, 3)))
    with pytest.raises(RuntimeError, match=r"Tanh.backward needs a forward call before it.*separate module "
                                           r"object at each place"):
        model.backward(rng.normal(size=(5, 2)))


def test_a_forward_that_fails_half_way_leaves_nothing_to_mix_with_the_previous_one():
    rng = np.random.default_rng(46)
    model = small_network(rng)
    model(rng.normal(size=(5, 4)))  # a forward never backpropagated (an evaluation)
    model[2].weight.data = np.ones((2, 4))  # a wrong shape: the next forward fails at layer 2
    with pytest.raises(ValueError, match="dense layer shapes do not fit"):
        model(rng.normal(size=(5, 4)))  # layer 0 saw the new input, layer 2 still holds the old one
    model[2].weight.data = np.ones((2, 3))
    with pytest.raises(RuntimeError, match=r"layer 0 \(Linear\) no longer holds the values of this "
                                           r"Sequential's last forward pass"):
        model.backward(np.ones((5, 2)))
    assert all(p.grad is None for p in model.parameters())


def test_a_layer_shared_by_two_networks_is_refused_not_a_wrong_gradient():
    """torch follows each graph; here the shared layer holds only its latest forward, so A's backward is refused."""
    rng = np.random.default_rng(48)
    shared = nn.Linear(3, 3, rng=rng)
    a, b = nn.Sequential(shared, nn.Tanh()), nn.Sequential(shared, nn.ReLU())
    a(rng.normal(size=(4, 3)))
    b(rng.normal(size=(4, 3)))  # same shapes: nothing else would notice
    with pytest.raises(RuntimeError, match=r"layer 0 \(Linear\) no longer holds the values"):
        a.backward(np.ones((4, 3)))
    assert shared.weight.grad is None


def test_a_grad_output_of_the_wrong_shape_is_refused():
    rng = np.random.default_rng(47)
    for model, grad_output in ((nn.Tanh(), np.ones((1, 3))), (nn.Linear(4, 3, rng=rng), np.ones((5, 2))),
                               (nn.Dropout(0.5, rng=rng), np.ones((5,)))):
        model(np.ones((5, 4)) if isinstance(model, nn.Linear) else np.ones((5, 3)))
        with pytest.raises(ValueError, match="grad_output"):
            model.backward(grad_output)


def test_evaluation_calls_keep_no_memory():
    """Only the latest call's values are kept: many forward calls without backward cost nothing."""
    import tracemalloc

    rng = np.random.default_rng(27)
    model = small_network(rng)
    x = rng.normal(size=(2000, 4))
    model(x)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(50):
        model(x)  # each call saves about 0.3 MB of inputs and their copies
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 2_000_000, f"{grown} bytes kept after 50 evaluation calls"


# ---------------------------------------------------------------- names, state_dict, bias=False
def test_named_parameters_and_state_dict_use_torchs_names():
    rng = np.random.default_rng(30)
    inner = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.ReLU())
    model = nn.Sequential(inner, nn.Dropout(0.2, rng=rng), nn.Linear(4, 2, bias=False, rng=rng))
    twin = twin_of(model, "cpu")
    names = [name for name, _ in model.named_parameters()]
    assert names == [name for name, _ in twin.named_parameters()] == ["0.0.weight", "0.0.bias", "2.weight"]
    assert [p for _, p in model.named_parameters()] == model.parameters()
    state = model.state_dict()
    expected = torch_twin.from_torch_state_dict(twin.state_dict())
    assert list(state) == list(expected)
    for name in state:
        np.testing.assert_array_equal(state[name], expected[name])
    state["0.0.weight"][...] = 0.0  # a copy: changing it leaves the model alone
    assert not np.all(model[0][0].weight.data == 0.0)


def test_loading_a_torch_state_dict_gives_the_same_model(device):
    torch.manual_seed(31)
    twin = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3, bias=False))
    twin = twin.to(device=device, dtype=torch_dtype(device))
    rng = np.random.default_rng(31)
    model = nn.Sequential(nn.Linear(4, 6, rng=rng), nn.Tanh(), nn.Linear(6, 3, bias=False, rng=rng))
    model.load_state_dict(torch_twin.from_torch_state_dict(twin.state_dict()))
    x = rng.normal(size=(5, 4))
    with torch.no_grad():
        assert_close(model(x), twin(to_tensor(x, device)), device)


def test_a_state_dict_saved_with_savez_restores_the_model(tmp_path):
    rng = np.random.default_rng(32)
    model = nn.Sequential(nn.Linear(3, 5, rng=rng), nn.ReLU(), nn.Linear(5, 2, rng=rng))
    np.savez(tmp_path / "checkpoint.npz", **model.state_dict())
    fresh = nn.Sequential(nn.Linear(3, 5, rng=rng), nn.ReLU(), nn.Linear(5, 2, rng=rng))
    with np.load(tmp_path / "checkpoint.npz") as checkpoint:
        fresh.load_state_dict(checkpoint)
    x = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(fresh(x), model(x))


@pytest.mark.parametrize("change, error, message", [
    (lambda d: d.pop("2.bias"), KeyError, r"missing \['2.bias'\], unexpected \[\]"),
    (lambda d: d.update({"2.gain": np.ones(2)}), KeyError, r"missing \[\], unexpected \['2.gain'\]"),
    (lambda d: d.update({"0.weight": np.ones((3, 5))}), ValueError,
     r"state_dict\['0.weight'\] has shape \(3, 5\), but the parameter 0.weight has shape \(5, 3\)"),
])
def test_load_state_dict_refuses_a_checkpoint_that_does_not_fit_and_copies_nothing(change, error, message):
    rng = np.random.default_rng(33)
    model = nn.Sequential(nn.Linear(3, 5, rng=rng), nn.ReLU(), nn.Linear(5, 2, rng=rng))
    before = model.state_dict()
    state = {name: np.zeros_like(value) for name, value in before.items()}
    change(state)
    with pytest.raises(error, match=message):
        model.load_state_dict(state)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_linear_without_bias_matches_torch(device):
    rng = np.random.default_rng(34)
    layer = nn.Linear(5, 3, bias=False, rng=rng)
    assert layer.bias is None and layer.parameters() == [layer.weight]
    x, grad_output = rng.normal(size=(4, 5)), rng.normal(size=(4, 3))
    out, grad_input = layer(x), layer.backward(grad_output)
    twin = twin_of(layer, device)
    assert twin.bias is None
    expected_out, expected_grad_input, _ = torch_forward_backward(twin, x, grad_output, device)
    assert_close(out, expected_out, device)
    assert_close(grad_input, expected_grad_input, device)
    assert_same_gradients(layer, twin, device)


def test_linear_without_bias_draws_the_same_weight_as_with_one():
    """The weight is drawn first, as torch does, so bias=False changes only the bias."""
    with_bias = nn.Linear(4, 2, rng=np.random.default_rng(35))
    without = nn.Linear(4, 2, bias=False, rng=np.random.default_rng(35))
    np.testing.assert_array_equal(with_bias.weight.data, without.weight.data)


def test_a_copy_of_a_model_carries_no_saved_forward_pass():
    """copy.deepcopy and pickle copy the model, not the values saved by its last forward call."""
    import copy
    import pickle

    rng = np.random.default_rng(36)
    model = small_network(rng)
    x = rng.normal(size=(4, 4))
    model(x)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        with pytest.raises(RuntimeError, match=r"backward needs a forward call before it"):
            clone.backward(np.ones((4, 2)))
        clone(x)
        clone.backward(np.ones((4, 2)))
        model.zero_grad()
        model(x)
        model.backward(np.ones((4, 2)))
        for p, q in zip(model.parameters(), clone.parameters()):
            np.testing.assert_array_equal(p.grad, q.grad)


def test_cross_entropy_loss_module_gives_exactly_the_functions_numbers():
    from introdl import functional as F

    rng = np.random.default_rng(37)
    logits, labels = rng.normal(0.0, 4.0, (7, 5)), rng.integers(0, 5, 7)
    loss_fn = nn.CrossEntropyLoss()
    assert loss_fn(logits, labels) == F.cross_entropy(logits, labels)
    np.testing.assert_array_equal(loss_fn.backward(), F.cross_entropy_grad(logits, labels))
