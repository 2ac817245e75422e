"""introdl.torch_twin: the device, NumPy ↔ torch conversion of models, tensors and weights."""
import numpy as np
import pytest
import torch

from torch_parity import DEVICES, assert_close, to_tensor, torch_dtype
from introdl import nn, torch_twin


def small_model(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Linear(3, 8, rng=rng), nn.ReLU(),
        nn.Linear(8, 6, rng=rng), nn.Tanh(),
        nn.Dropout(0.2, rng=rng),
        nn.Linear(6, 2, rng=rng), nn.Sigmoid(),
    )


def weights(model):
    """Every parameter of an introdl or a torch model as a float64 NumPy array, in order."""
    return [p.detach().cpu().to(torch.float64).numpy() if isinstance(p, torch.Tensor) else p.data
            for p in model.parameters()]


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert len(wa) == len(wb)
    for index, (x, y) in enumerate(zip(wa, wb)):
        np.testing.assert_array_equal(x, y, err_msg=f"parameter {index}")


# ---------------------------------------------------------------- device and dtypes
@pytest.mark.parametrize("available", [True, False])
def test_device_is_cuda_exactly_when_cuda_is_available(available, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    assert torch_twin.device() == torch.device("cuda" if available else "cpu")


def test_device_matches_this_machine():
    assert torch_twin.device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_default_dtype_is_float64_on_cpu_and_float32_on_cuda():
    assert torch_twin.default_dtype("cpu") == torch.float64
    assert torch_twin.default_dtype("cuda") == torch.float32
    assert torch_twin.default_dtype() == torch_dtype(torch_twin.device())


def test_tensor_puts_floats_on_the_device_in_its_dtype_and_keeps_integers(device):
    floats = torch_twin.tensor(np.array([1.5, 2.5]), on_device=device, requires_grad=True)
    assert floats.device.type == device and floats.dtype == torch_dtype(device) and floats.requires_grad
    integers = torch_twin.tensor(np.array([2, 0, 1]), on_device=device)
    assert integers.dtype == torch.int64 and integers.device.type == device


def test_tensor_and_numpy_copy_rather_than_share_memory():
    """An in-place update on one side must never show up on the other."""
    array = np.array([1.0, 2.0, 3.0])
    t = torch_twin.tensor(array, on_device="cpu", dtype=torch.float64)
    t.add_(1.0)
    np.testing.assert_array_equal(array, [1.0, 2.0, 3.0])

    for source in (torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([1, 2])):
        back = torch_twin.to_numpy(source)
        back += 1
        assert source.tolist() == [1, 2]


def test_to_numpy_returns_float64_from_any_float_tensor(device):
    t = torch.tensor([0.5, 0.25], dtype=torch.float32, device=device)
    array = torch_twin.to_numpy(t)
    assert isinstance(array, np.ndarray) and array.dtype == np.float64
    np.testing.assert_array_equal(array, [0.5, 0.25])


# ---------------------------------------------------------------- to_torch / from_torch
@pytest.mark.parametrize("on_device", DEVICES)
def test_to_torch_places_the_twin_on_the_requested_device(on_device):
    twin = torch_twin.to_torch(small_model(), on_device=on_device)
    for p in twin.parameters():
        assert p.device.type == on_device
        assert p.dtype == torch_dtype(on_device)


def test_to_torch_defaults_to_the_machines_device():
    twin = torch_twin.to_torch(small_model())
    assert all(p.device.type == torch_twin.device().type for p in twin.parameters())


def test_to_torch_gives_the_same_layers_with_the_same_weights():
    model = small_model().eval()
    twin = torch_twin.to_torch(model, on_device="cpu")
    assert [type(m) for m in twin] == [
        torch.nn.Linear, torch.nn.ReLU, torch.nn.Linear, torch.nn.Tanh,
        torch.nn.Dropout, torch.nn.Linear, torch.nn.Sigmoid,
    ]
    assert twin[4].p == model[4].p
    assert_same_weights(model, twin)


def test_to_torch_gives_identical_outputs(device):
    model = small_model(1).eval()
    x = np.random.default_rng(2).normal(size=(10, 3))
    twin = torch_twin.to_torch(model, on_device=device)
    with torch.no_grad():
        out = twin(to_tensor(x, device))
    assert_close(model(x), out, device)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_to_torch_and_from_torch_keep_every_modules_mode(mode):
    model = getattr(small_model(), mode)()
    twin = torch_twin.to_torch(model, on_device="cpu")
    assert all(m.training == (mode == "train") for m in twin.modules())
    back = torch_twin.from_torch(twin)
    assert back.training == (mode == "train")
    assert all(layer.training == (mode == "train") for layer in back)


def test_a_twin_in_training_mode_drops_units():
    twin = torch_twin.to_torch(nn.Dropout(0.5, rng=np.random.default_rng(0)).train(), on_device="cpu")
    with torch.random.fork_rng(devices=[]):  # torch's dropout draws from its global generator
        torch.manual_seed(0)
        out = twin(torch.ones(200, dtype=torch.float64))
    assert set(out.tolist()) == {0.0, 2.0}


def test_from_torch_of_to_torch_round_trips_weights_exactly(device):
    """With float64 on the device, the weights survive the journey bit for bit."""
    model = small_model(3)
    back = torch_twin.from_torch(torch_twin.to_torch(model, on_device=device, dtype=torch.float64))
    assert isinstance(back, nn.Sequential)
    assert [type(layer) for layer in back] == [type(layer) for layer in model]
    assert back[4].p == model[4].p
    assert_same_weights(model, back)


def test_from_torch_converts_a_model_written_in_torch(device):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(4)
        twin = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    twin = twin.to(device=device, dtype=torch_dtype(device))
    model = torch_twin.from_torch(twin)
    assert all(p.data.dtype == np.float64 for p in model.parameters())
    assert_same_weights(model, twin)  # float32 → float64 is exact
    x = np.random.default_rng(5).normal(size=(6, 4))
    with torch.no_grad():
        assert_close(model(x), twin(to_tensor(x, device)), device)


def test_linear_without_bias_converts_both_ways_like_torch(device):
    """torch.nn.Linear(bias=False) has bias None and one parameter; so has its introdl twin."""
    torch.manual_seed(0)
    twin = torch.nn.Linear(4, 3, bias=False).to(device=device, dtype=torch_dtype(device))
    model = torch_twin.from_torch(twin)
    assert model.bias is None and [name for name, _ in model.named_parameters()] == ["weight"]
    back = torch_twin.to_torch(model, on_device=device)
    assert back.bias is None and len(list(back.parameters())) == 1
    x = np.random.default_rng(0).normal(size=(5, 4))
    with torch.no_grad():
        assert_close(model(x), twin(to_tensor(x, device)), device)
        assert_close(model(x), back(to_tensor(x, device)), device)


# ---------------------------------------------------------------- copy_weights
def test_copy_weights_from_introdl_to_torch(device):
    source = small_model(6)
    twin = torch_twin.to_torch(small_model(7), on_device=device, dtype=torch.float64)
    torch_twin.copy_weights(source, twin)
    assert_same_weights(source, twin)
    assert all(p.device.type == device for p in twin.parameters())


def test_copy_weights_from_torch_to_introdl(device):
    twin = torch_twin.to_torch(small_model(8), on_device=device, dtype=torch.float64)
    destination = small_model(9)
    torch_twin.copy_weights(twin, destination)
    assert_same_weights(twin, destination)


def test_copy_weights_between_introdl_models_copies_values_not_arrays():
    source, destination = small_model(10), small_model(11)
    torch_twin.copy_weights(source, destination)
    assert_same_weights(source, destination)
    source.parameters()[0].data[...] = 0.0
    assert not np.all(destination.parameters()[0].data == 0.0)


def test_copy_weights_rejects_models_of_different_size():
    rng = np.random.default_rng(12)
    with pytest.raises(ValueError, match=r"6 parameters against 4"):
        torch_twin.copy_weights(small_model(), nn.Sequential(nn.Linear(3, 8, rng=rng), nn.Linear(8, 2, rng=rng)))
    different_shapes = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.Linear(4, 6, rng=rng), nn.Linear(6, 2, rng=rng))
    with pytest.raises(ValueError, match=r"parameter shapes differ: \(8, 3\) against \(4, 3\)"):
        torch_twin.copy_weights(small_model(), different_shapes)


# ---------------------------------------------------------------- unsupported layers
class Square(nn.Module):
    def forward(self, x):
        return x * x


@pytest.mark.parametrize("model", [Square(), nn.Sequential(nn.ReLU(), Square())], ids=["alone", "nested"])
def test_to_torch_rejects_an_unknown_layer_by_name(model):
    with pytest.raises(TypeError, match=r"no torch equivalent for Square"):
        torch_twin.to_torch(model, on_device="cpu")


def test_to_torch_rejects_a_loss_by_name():
    with pytest.raises(TypeError, match=r"no torch equivalent for MSELoss"):
        torch_twin.to_torch(nn.MSELoss(), on_device="cpu")


@pytest.mark.parametrize(
    "module, name",
    [
        (torch.nn.Conv1d(1, 1, 3, device="meta"), "Conv1d"),
        (torch.nn.Sequential(torch.nn.ReLU(), torch.nn.GELU()), "GELU"),
        (torch.nn.LeakyReLU(), "LeakyReLU"),
    ],
)
def test_from_torch_rejects_an_unknown_layer_by_name(module, name):
    with pytest.raises(TypeError, match=rf"no introdl equivalent for {name}"):
        torch_twin.from_torch(module)


def test_to_numpy_is_the_one_name():
    t = torch.tensor([1.5, 2.5], dtype=torch.float32)
    assert not hasattr(torch_twin, "numpy")
    array = torch_twin.to_numpy(t)
    assert array.dtype == np.float64 and array.tolist() == [1.5, 2.5]


def test_tolerance_is_1e_12_in_float64_on_the_cpu_and_float32s_on_cuda():
    assert torch_twin.tolerance("cpu") == 1e-12
    assert torch_twin.tolerance(torch.device("cuda")) == 1e-5
    assert torch_twin.tolerance() == torch_twin.tolerance(torch_twin.device())


def test_a_torch_module_used_at_two_places_is_refused_not_unshared():
    square, act = torch.nn.Linear(3, 3), torch.nn.Tanh()
    with pytest.raises(ValueError, match="one Linear object at two places"):
        torch_twin.from_torch(torch.nn.Sequential(square, act, square))


def test_from_torch_state_dict_loads_a_torch_checkpoint():
    torch.manual_seed(3)
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).double()
    rng = np.random.default_rng(3)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.ReLU(), nn.Linear(4, 2, rng=rng))
    state = torch_twin.from_torch_state_dict(twin.state_dict())
    assert all(type(v) is np.ndarray and v.dtype == np.float64 for v in state.values())
    model.load_state_dict(state)
    for (name, p), (torch_name, q) in zip(model.named_parameters(), twin.named_parameters()):
        assert name == torch_name
        np.testing.assert_array_equal(p.data, torch_twin.to_numpy(q))
