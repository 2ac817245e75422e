"""The PyTorch twin of a NumPy model: the same layers, the same weights, on torch's device.

    twin = to_torch(model)           # introdl.nn  →  torch.nn, weights copied
    back = from_torch(twin)          # torch.nn    →  introdl.nn, weights copied
    model.load_state_dict(from_torch_state_dict(twin.state_dict()))   # a torch checkpoint

Only the layers the book uses are mapped: Linear, Sigmoid, Tanh, ReLU, Dropout, Sequential.
Every chapter's check against PyTorch uses it.
"""
import numpy as np

from . import nn


def _torch():
    import torch  # imported lazily so that `import introdl` stays fast and torch-free

    return torch


def _device(on_device, torch):
    """``on_device`` as a torch.device (None: ``device()``), or a clear error."""
    if on_device is None:
        return device()
    try:
        return torch.device(on_device)
    except (RuntimeError, TypeError):
        raise ValueError(f"on_device must be a device such as 'cpu' or 'cuda', got {on_device!r}") from None


def device():
    """torch.device("cuda") when a GPU is visible, else torch.device("cpu")."""
    torch = _torch()
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_dtype(on_device=None):
    """float64 on the CPU (exact parity), float32 on a GPU (what GPUs are fast at)."""
    torch = _torch()
    return torch.float64 if _device(on_device, torch).type == "cpu" else torch.float32


def tolerance(on_device=None):
    """The largest relative difference (``introdl.gradcheck.relative_error``) a parity check accepts.

    1e-12 on the CPU, where the twin runs in float64: both sides round at ~1e-16, and a few
    thousand operations keep them within 1e-12. 1e-5 on a GPU, where the twin runs in float32,
    which rounds at ~6e-8. on_device: a device or its name (default: ``device()``).
    """
    torch = _torch()
    return 1e-12 if default_dtype(_device(on_device, torch)) == torch.float64 else 1e-5


def tensor(array, *, on_device=None, dtype=None, requires_grad=False):
    """A copy of a NumPy array as a torch tensor on ``on_device`` (default: ``device()``).

    Always a copy, on every device: a tensor that shared memory with ``array`` on the CPU only
    would let an in-place torch update (an optimizer step) change the NumPy array too.
    """
    torch = _torch()
    on_device = _device(on_device, torch)
    if isinstance(array, torch.Tensor):
        raise TypeError("tensor expects a NumPy array, got a torch.Tensor (it is a tensor already)")
    try:
        array = np.asarray(array)
    except ValueError:  # ragged lists
        raise TypeError(f"tensor expects an array of numbers, got a {type(array).__name__} that is not one "
                        "(rows of different lengths?)") from None
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"tensor expects an array of numbers, got dtype {array.dtype}")
    if dtype is None and np.issubdtype(array.dtype, np.floating):
        dtype = default_dtype(on_device)
    result = torch.tensor(array, dtype=dtype, device=on_device)
    return result.requires_grad_(requires_grad) if requires_grad else result


def to_numpy(t):
    """A copy of a torch tensor as a float64 (or integer) NumPy array, wherever the tensor lives.

    Raises:
        TypeError: ``t`` is not a torch tensor.
    """
    torch = _torch()
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"to_numpy expects a torch.Tensor, got {type(t).__name__}")
    array = t.detach().cpu()
    if array.dtype in (torch.bfloat16,):  # NumPy has no bfloat16
        array = array.to(torch.float64)
    array = array.numpy()
    return array.astype(np.float64) if np.issubdtype(array.dtype, np.floating) else array.copy()


def from_torch_state_dict(state_dict):
    """A torch ``state_dict`` (name → tensor) as a dict name → float64 ndarray, for ``load_state_dict``.

    ``model.load_state_dict(from_torch_state_dict(twin.state_dict()))`` gives ``model`` the
    twin's weights: the names are torch's on both sides ("0.weight", "2.bias", ...).

    Raises:
        TypeError: ``state_dict`` is not a mapping of names to tensors.
    """
    if not hasattr(state_dict, "items"):
        raise TypeError(f"from_torch_state_dict expects a dict from names to tensors, got {type(state_dict).__name__}")
    return {name: to_numpy(value) for name, value in state_dict.items()}


def to_torch(model, *, on_device=None, dtype=None):
    """The ``torch.nn`` module equivalent to the introdl ``model``, with the same weights and modes.

    on_device: default ``device()``; dtype: default ``default_dtype(on_device)``.

    Raises:
        TypeError: a module with no torch equivalent.
    """
    torch = _torch()
    on_device = _device(on_device, torch)
    dtype = default_dtype(on_device) if dtype is None else dtype
    return _torch_module(model, torch).to(device=on_device, dtype=dtype)


def from_torch(module, *, rng=None, dtype=np.float64):
    """The introdl model equivalent to the ``torch.nn`` ``module``, with the same weights and modes.

    rng: the Generator for the masks of Dropout layers (default None: unseeded); dtype: of the
    parameters (default float64).

    Raises:
        TypeError: a module with no introdl equivalent.
        ValueError: one torch module object at two places (introdl needs one object per place).
    """
    return _introdl_module(module, _torch(), rng, dtype, set())


def _introdl_module(module, torch, rng, dtype, seen):
    """Convert one torch module (and what it holds) to introdl, with its own train/eval mode."""
    if id(module) in seen:
        raise ValueError(f"the torch model uses one {type(module).__name__} object at two places; an "
                         "introdl model needs a separate object at each place")
    seen.add(id(module))
    if isinstance(module, torch.nn.Sequential):
        converted = nn.Sequential(*(_introdl_module(child, torch, rng, dtype, seen) for child in module))
    elif isinstance(module, torch.nn.Linear):
        converted = nn.Linear(module.in_features, module.out_features, bias=module.bias is not None,
                              rng=np.random.default_rng(0), dtype=dtype)
        converted.weight.data[...] = to_numpy(module.weight)
        if module.bias is not None:
            converted.bias.data[...] = to_numpy(module.bias)
    elif isinstance(module, torch.nn.Dropout):
        converted = nn.Dropout(module.p, rng=rng)
    elif type(module) in (torch.nn.Sigmoid, torch.nn.Tanh, torch.nn.ReLU):
        converted = getattr(nn, type(module).__name__)()
    else:
        raise TypeError(f"no introdl equivalent for {type(module).__name__}; expected Sequential, "
                        "Linear, Sigmoid, Tanh, ReLU or Dropout")
    converted.training = module.training
    return converted


def copy_weights(source, destination):
    """Copy parameters between an introdl model and a torch model (either direction), in order.

    Raises:
        ValueError: the models differ in their number of parameters or in a parameter's shape
        (nothing is copied then).
    """
    torch = _torch()
    for role, model in (("source", source), ("destination", destination)):
        if not isinstance(model, (nn.Module, torch.nn.Module)):
            raise TypeError(f"copy_weights expects introdl.nn or torch.nn modules, got {type(model).__name__} "
                            f"as the {role}")
    src = list(source.parameters())
    dst = list(destination.parameters())
    if len(src) != len(dst):
        raise ValueError(f"models differ: {len(src)} parameters against {len(dst)}")
    for s, d in zip(src, dst):
        if tuple(s.shape) != tuple(d.shape):
            raise ValueError(f"parameter shapes differ: {tuple(s.shape)} against {tuple(d.shape)}")
    for s, d in zip(src, dst):
        values = to_numpy(s) if isinstance(s, torch.Tensor) else s.data
        if isinstance(d, torch.Tensor):
            with torch.no_grad():
                d.copy_(torch.as_tensor(values, dtype=d.dtype, device=d.device))
        else:
            d.data[...] = values


def _torch_module(model, torch):
    """Convert one introdl module (and what it holds) to torch, with its own train/eval mode."""
    if isinstance(model, nn.Sequential):
        converted = torch.nn.Sequential(*(_torch_module(layer, torch) for layer in model))
    elif isinstance(model, nn.Linear):
        converted = torch.nn.Linear(model.in_features, model.out_features, bias=model.bias is not None,
                                    dtype=torch.float64)
        with torch.no_grad():
            converted.weight.copy_(torch.as_tensor(model.weight.data))
            if model.bias is not None:
                converted.bias.copy_(torch.as_tensor(model.bias.data))
    elif isinstance(model, nn.Dropout):
        converted = torch.nn.Dropout(model.p)
    elif type(model) in (nn.Sigmoid, nn.Tanh, nn.ReLU):
        converted = getattr(torch.nn, type(model).__name__)()
    else:
        raise TypeError(f"no torch equivalent for {type(model).__name__}; expected Sequential, "
                        "Linear, Sigmoid, Tanh, ReLU or Dropout")
    converted.training = model.training
    return converted
