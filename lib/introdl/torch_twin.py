"""The PyTorch twin of a NumPy model: the same layers, the same weights, on torch's device.

    twin = to_torch(model)           # introdl.nn  →  torch.nn, weights copied
    back = from_torch(twin)          # torch.nn    →  introdl.nn, weights copied

Only the layers the book uses are mapped: Linear, Sigmoid, Tanh, ReLU, Dropout, Sequential.
"""
import numpy as np

from . import nn


def _torch():
    import torch  # imported lazily so that `import introdl` stays fast and torch-free

    return torch


def device():
    """torch.device("cuda") when a GPU is visible, else torch.device("cpu")."""
    torch = _torch()
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_dtype(on_device=None):
    """float64 on the CPU (exact parity), float32 on a GPU (what GPUs are fast at)."""
    torch = _torch()
    on_device = device() if on_device is None else torch.device(on_device)
    return torch.float64 if on_device.type == "cpu" else torch.float32


def tensor(array, *, on_device=None, dtype=None, requires_grad=False):
    """A copy of a NumPy array as a torch tensor on ``on_device`` (default: ``device()``).

    Always a copy, on every device: a tensor that shared memory with ``array`` on the CPU only
    would let an in-place torch update (an optimizer step) change the NumPy array too.
    """
    torch = _torch()
    on_device = device() if on_device is None else torch.device(on_device)
    array = np.asarray(array)
    if dtype is None and np.issubdtype(array.dtype, np.floating):
        dtype = default_dtype(on_device)
    result = torch.tensor(array, dtype=dtype, device=on_device)
    return result.requires_grad_(requires_grad) if requires_grad else result


def numpy(t):
    """A copy of a torch tensor as a float64 (or integer) NumPy array, wherever the tensor lives."""
    array = t.detach().cpu().numpy()
    return array.astype(np.float64) if np.issubdtype(array.dtype, np.floating) else array.copy()


def to_torch(model, *, on_device=None, dtype=None):
    """The ``torch.nn`` module equivalent to the introdl ``model``, with the same weights."""
    torch = _torch()
    on_device = device() if on_device is None else torch.device(on_device)
    dtype = default_dtype(on_device) if dtype is None else dtype
    return _convert_to_torch(model, torch).to(device=on_device, dtype=dtype)


def from_torch(module, *, rng=None, dtype=np.float64):
    """The introdl model equivalent to the ``torch.nn`` ``module``, with the same weights and modes."""
    converted = _convert_from_torch(module, _torch(), rng, dtype)
    converted.training = module.training  # each module keeps its own train/eval mode
    return converted


def _convert_from_torch(module, torch, rng, dtype):
    if isinstance(module, torch.nn.Sequential):
        return nn.Sequential(*(from_torch(child, rng=rng, dtype=dtype) for child in module))
    if isinstance(module, torch.nn.Linear):
        if module.bias is None:
            raise ValueError("introdl.nn.Linear always has a bias; got torch.nn.Linear(bias=False)")
        layer = nn.Linear(module.in_features, module.out_features, rng=np.random.default_rng(0), dtype=dtype)
        layer.weight.data[...] = numpy(module.weight)
        layer.bias.data[...] = numpy(module.bias)
        return layer
    if isinstance(module, torch.nn.Dropout):
        return nn.Dropout(module.p, rng=rng)
    simple = {torch.nn.Sigmoid: nn.Sigmoid, torch.nn.Tanh: nn.Tanh, torch.nn.ReLU: nn.ReLU}
    if type(module) in simple:
        return simple[type(module)]()
    raise TypeError(f"no introdl equivalent for {type(module).__name__}; expected Sequential, "
                    "Linear, Sigmoid, Tanh, ReLU or Dropout")


def copy_weights(source, destination):
    """Copy parameters between an introdl model and a torch model (either direction), in order."""
    torch = _torch()
    src = list(source.parameters())
    dst = list(destination.parameters())
    if len(src) != len(dst):
        raise ValueError(f"models differ: {len(src)} parameters against {len(dst)}")
    for s, d in zip(src, dst):
        values = numpy(s) if isinstance(s, torch.Tensor) else s.data
        if tuple(values.shape) != tuple(d.shape):
            raise ValueError(f"parameter shapes differ: {tuple(values.shape)} against {tuple(d.shape)}")
        if isinstance(d, torch.Tensor):
            with torch.no_grad():
                d.copy_(torch.as_tensor(values, dtype=d.dtype, device=d.device))
        else:
            d.data[...] = values


def _convert_to_torch(model, torch):
    converted = _torch_layer(model, torch)
    converted.training = model.training  # each module keeps its own train/eval mode
    return converted


def _torch_layer(model, torch):
    if isinstance(model, nn.Sequential):
        return torch.nn.Sequential(*(_convert_to_torch(layer, torch) for layer in model))
    if isinstance(model, nn.Linear):
        layer = torch.nn.Linear(model.in_features, model.out_features, dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(model.weight.data))
            layer.bias.copy_(torch.as_tensor(model.bias.data))
        return layer
    if isinstance(model, nn.Dropout):
        return torch.nn.Dropout(model.p)
    simple = {nn.Sigmoid: torch.nn.Sigmoid, nn.Tanh: torch.nn.Tanh, nn.ReLU: torch.nn.ReLU}
    if type(model) in simple:
        return simple[type(model)]()
    raise TypeError(f"no torch equivalent for {type(model).__name__}; expected Sequential, "
                    "Linear, Sigmoid, Tanh, ReLU or Dropout")
