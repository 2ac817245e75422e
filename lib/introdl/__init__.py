"""introdl: NumPy reference implementations for an introduction to deep learning.

The names mirror PyTorch's so that a NumPy model and its torch twin read almost line for line::

    from introdl import nn, optim
    model = nn.Sequential(nn.Linear(2, 8, rng=rng), nn.ReLU(), nn.Linear(8, 1, rng=rng))

Modules: ``errors`` (``NonFiniteError``, also ``introdl.NonFiniteError``), ``functional``
(activations, losses, the dense layer as functions), ``nn`` (layers, networks and losses with
forward and backward), ``optim`` (optimizers and learning-rate schedules), ``train``
(mini-batches and the training loop), ``data`` (datasets that need no network), ``gradcheck``
(finite differences and the library's one ``relative_error``), ``torch_twin`` (the equivalent
torch model, ``tolerance(device)``; torch is imported only when used), ``check`` (the exercises'
self-check), ``distributed`` (data-parallel SGD), ``descent`` (gradient descent on chapter 7's
loss surface), ``widgets`` and ``plots`` (the chapters' explorers and figures).
"""
from .errors import NonFiniteError
from . import functional, gradcheck, data, nn, optim, torch_twin, train, check, descent

__all__ = ["NonFiniteError", "functional", "gradcheck", "data", "nn", "optim", "torch_twin", "train",
           "check", "descent"]
__version__ = "0.1.0"
