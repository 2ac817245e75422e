"""Parity: how far every introdl piece is from its PyTorch twin, as the largest relative difference.

For each layer and loss, the same input goes through introdl (NumPy, float64) and torch, and we
compare the forward output, then the backward pass: the gradient with respect to the input and
the gradients of the parameters (torch's through autograd). For each optimizer, a small network
is trained for 1000 steps by both sides from the same weights on the same batch, each side with
its own forward, backward and optimizer, and the weights after the last step are compared.

The difference of two arrays is ``introdl.gradcheck.relative_error``, ``max |a − b| / max(|a|, |b|)``
(the one relative error of the library, its tests and the book): 1e-16 is the last digit of float64, 6e-8 the last digit of float32.

torch runs in float64 on the CPU, always, and in float32 on CUDA when a GPU is present (what
GPUs are fast at); the NumPy reference is float64 in both cases.
"""
from __future__ import annotations

import numpy as np
import torch

from introdl import nn, optim
from introdl.gradcheck import relative_error
from introdl.torch_twin import to_numpy, to_torch, tolerance
from report import Section, Table, sci, torch_threads

# What a parity test accepts (tests/conftest.py and tests/test_optim.py), shown as the bound.
ONE_OPERATION = {"cpu": tolerance("cpu"), "cuda": tolerance("cuda")}  # introdl.torch_twin.tolerance
TRAJECTORY = {"cpu": 1e-9, "cuda": 1e-4}
DTYPE = {"cpu": torch.float64, "cuda": torch.float32}


def relative_difference(ours, theirs):
    """``introdl.gradcheck.relative_error`` of an array and a torch tensor (or two arrays)."""
    b = to_numpy(theirs) if isinstance(theirs, torch.Tensor) else theirs
    return relative_error(np.asarray(ours, dtype=np.float64), np.asarray(b, dtype=np.float64))


def devices():
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _tensor(array, device, requires_grad=False):
    return torch.tensor(np.asarray(array), dtype=DTYPE[device], device=device, requires_grad=requires_grad)


# ---------------------------------------------------------------- layers
def _layers(rng, n_in, n_hidden, n_out):
    """The introdl modules compared, by name, each paired with the shape of its input."""
    dropout = nn.Dropout(0.3, rng=rng)
    dropout.eval()  # in training mode the masks are random: compared in eval mode, the identity
    return {
        "Linear": (nn.Linear(n_in, n_out, rng=rng), (n_in,)),
        "Sigmoid": (nn.Sigmoid(), (n_in,)),
        "Tanh": (nn.Tanh(), (n_in,)),
        "ReLU": (nn.ReLU(), (n_in,)),
        "Dropout (eval)": (dropout, (n_in,)),
        "Sequential (Linear, Tanh, Linear, ReLU, Linear)": (nn.Sequential(
            nn.Linear(n_in, n_hidden, rng=rng), nn.Tanh(), nn.Linear(n_hidden, n_hidden, rng=rng),
            nn.ReLU(), nn.Linear(n_hidden, n_out, rng=rng)), (n_in,)),
    }


def layer_parity(module, x, grad_output, device):
    """(forward, input gradient, parameter gradients) differences; the last is None without parameters."""
    twin = to_torch(module, on_device=device, dtype=DTYPE[device])
    x_t = _tensor(x, device, requires_grad=True)
    y_t = twin(x_t)
    y_t.backward(_tensor(grad_output, device))

    module.zero_grad()
    y = module(x)
    grad_x = module.backward(grad_output)
    forward = relative_difference(y, y_t)
    backward = relative_difference(grad_x, x_t.grad)
    params = [relative_difference(p.grad, q.grad) for p, q in zip(module.parameters(), twin.parameters())]
    return forward, backward, (max(params) if params else None)


# ---------------------------------------------------------------- losses
def _losses(rng, n, classes):
    """Each loss with a (prediction, target) pair of the kind it expects."""
    logits = rng.normal(0, 2, (n, classes))
    probabilities = 1 / (1 + np.exp(-rng.normal(0, 2, (n, 1))))
    return {
        "MSELoss": (nn.MSELoss(), torch.nn.MSELoss(), rng.normal(size=(n, 3)), rng.normal(size=(n, 3))),
        "BCELoss": (nn.BCELoss(), torch.nn.BCELoss(), probabilities, rng.integers(0, 2, (n, 1)).astype(float)),
        "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss(), rng.normal(0, 3, (n, 1)),
                              rng.integers(0, 2, (n, 1)).astype(float)),
        "CrossEntropyLoss": (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), logits,
                             rng.integers(0, classes, n)),
    }


def loss_parity(ours, theirs, prediction, target, device):
    """(loss value, gradient with respect to the prediction) differences."""
    p_t = _tensor(prediction, device, requires_grad=True)
    t_t = (torch.tensor(target, device=device) if np.issubdtype(np.asarray(target).dtype, np.integer)
           else _tensor(target, device))
    value_t = theirs(p_t, t_t)
    value_t.backward()
    value = ours(prediction, target)
    grad = ours.backward()
    return relative_difference([value], value_t.reshape(1)), relative_difference(grad, p_t.grad)


# ---------------------------------------------------------------- optimizers
OPTIMIZERS = [
    ("SGD", "SGD", dict(lr=0.05)),
    ("SGD, momentum 0.9", "SGD", dict(lr=0.02, momentum=0.9)),
    ("SGD, Nesterov momentum 0.9", "SGD", dict(lr=0.02, momentum=0.9, nesterov=True)),
    ("Adagrad", "Adagrad", dict(lr=0.05)),
    ("Adadelta", "Adadelta", dict()),
    ("RMSprop", "RMSprop", dict(lr=1e-3)),
    ("RMSprop, centered", "RMSprop", dict(lr=1e-3, centered=True)),
    ("Adam", "Adam", dict(lr=1e-3)),
    ("Adam, amsgrad", "Adam", dict(lr=1e-3, amsgrad=True)),
    ("AdamW (weight decay 0.01)", "AdamW", dict(lr=1e-3)),
]


def trajectory_parity(name, kwargs, device, *, steps, seed=0):
    """Train the same small classifier with introdl.optim.<name> and torch.optim.<name>.

    A 10 → 16 → Tanh → 3 network, cross-entropy on one fixed batch of 32 examples, ``steps``
    full steps on each side (each side computes its own gradients). Returns the largest relative
    difference between the final weights, and that of the final losses.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(32, 10))
    y = rng.integers(0, 3, 32)
    model = nn.Sequential(nn.Linear(10, 16, rng=rng), nn.Tanh(), nn.Linear(16, 3, rng=rng))
    twin = to_torch(model, on_device=device, dtype=DTYPE[device])
    ours = getattr(optim, name)(model.parameters(), **kwargs)
    theirs = getattr(torch.optim, name)(twin.parameters(), **kwargs)
    loss_fn, torch_loss_fn = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    X_t, y_t = _tensor(X, device), torch.tensor(y, device=device)
    for _ in range(steps):
        ours.zero_grad()
        loss = loss_fn(model(X), y)
        model.backward(loss_fn.backward())
        ours.step()

        theirs.zero_grad()
        torch_loss = torch_loss_fn(twin(X_t), y_t)
        torch_loss.backward()
        theirs.step()
    weights = max(relative_difference(p.data, q) for p, q in zip(model.parameters(), twin.parameters()))
    return weights, relative_difference([loss], torch_loss.reshape(1))


# ---------------------------------------------------------------- the section
def run(quick=False):
    # Speed is not the point here, and on a busy machine torch's thread pool makes tiny
    # operations many times slower: one thread.
    with torch_threads(1):
        return _run(quick)


def _run(quick):
    steps = 100 if quick else 1000
    n = 8 if quick else 64
    section = Section(
        "Parity with PyTorch",
        intro=(
            "The largest relative difference, max |a − b| / max(|a|, |b|) over all elements, "
            "between introdl (NumPy, float64) and PyTorch: float64 on the CPU, float32 on CUDA "
            f"(when a GPU is present). Layers and losses: a batch of {n} random examples; "
            "backward gets a random upstream gradient, and torch's gradients come from autograd. "
            f"Optimizers: a 10 → 16 → Tanh → 3 classifier trained for {steps} steps on one fixed "
            "batch from the same initial weights, each side with its own forward, backward and "
            "update; the weights after the last step are compared. For scale: one unit in the "
            "last place is 1.1e-16 in float64 and 6.0e-8 in float32."
        ),
    )
    has_cuda = torch.cuda.is_available()
    cuda_note = "" if has_cuda else " (no GPU on this machine, so the CUDA columns are not measured)"

    layers = Table(["piece", "forward, CPU", "∂/∂input, CPU", "∂/∂parameters, CPU",
                    "forward, CUDA", "∂/∂input, CUDA", "∂/∂parameters, CUDA"],
                   caption="Layers, float64 on the CPU and float32 on CUDA" + cuda_note)
    rng = np.random.default_rng(0)
    for name, (module, shape) in _layers(rng, 20, 32, 5).items():
        x = rng.normal(0, 2, (n,) + shape)
        out = module.forward(x)
        grad_output = rng.normal(size=out.shape)
        results = {d: layer_parity(module, x, grad_output, d) for d in devices()}
        cells = []
        for device in ("cpu", "cuda"):
            if device in results:
                f, b, p = results[device]
                cells += [sci(f), sci(b), "no parameters" if p is None else sci(p)]
            else:
                cells += ["no GPU"] * 3
        layers.add(name, *cells)
    section.tables.append(layers)

    losses = Table(["loss", "value, CPU", "∂/∂prediction, CPU", "value, CUDA", "∂/∂prediction, CUDA"],
                   caption="Losses (mean reduction)" + cuda_note)
    for name, (ours, theirs, prediction, target) in _losses(rng, n, 7).items():
        results = {d: loss_parity(ours, theirs, prediction, target, d) for d in devices()}
        cells = []
        for device in ("cpu", "cuda"):
            cells += [sci(v) for v in results[device]] if device in results else ["no GPU"] * 2
        losses.add(name, *cells)
    section.tables.append(losses)

    optimizers = Table(["optimizer", "arguments", f"weights after {steps} steps, CPU",
                        f"loss after {steps} steps, CPU", f"weights after {steps} steps, CUDA",
                        f"loss after {steps} steps, CUDA"],
                       caption=f"Optimizer trajectories, {steps} steps" + cuda_note)
    worst = {"cpu": 0.0, "cuda": 0.0}
    for label, name, kwargs in OPTIMIZERS:
        cells = []
        for device in ("cpu", "cuda"):
            if device == "cuda" and not has_cuda:
                cells += ["no GPU"] * 2
                continue
            weights, loss = trajectory_parity(name, kwargs, device, steps=steps)
            worst[device] = max(worst[device], weights, loss)
            cells += [sci(weights), sci(loss)]
        arguments = ", ".join(f"{k}={v}" for k, v in kwargs.items()) or "defaults"
        optimizers.add(label, arguments, *cells)
    section.tables.append(optimizers)

    section.notes.append(
        f"The parity tests (tests/) accept {ONE_OPERATION['cpu']:.0e} for one operation and "
        f"{TRAJECTORY['cpu']:.0e} for a trajectory in float64 on the CPU; the largest trajectory "
        f"difference measured here is {sci(worst['cpu'])}."
        + (f" On CUDA (float32 against float64) it is {sci(worst['cuda'])}." if has_cuda else "")
    )
    section.worst = worst  # for the smoke test
    return section
