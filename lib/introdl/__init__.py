"""introdl: NumPy reference implementations for an introduction to deep learning.

The names mirror PyTorch's so that a NumPy model and its torch twin read almost line for line::

    from introdl import nn, optim
    model = nn.Sequential(nn.Linear(2, 8, rng=rng), nn.ReLU(), nn.Linear(8, 1, rng=rng))
"""
from . import functional, gradcheck, data, nn, optim, train, check

__all__ = ["functional", "gradcheck", "data", "nn", "optim", "train", "check"]
__version__ = "0.1.0"
