"""Layers, networks and losses in NumPy, with torch.nn's names and conventions."""
from .parameter import Parameter
from .module import Module
from .linear import Linear
from .activation import Sigmoid, Tanh, ReLU
from .dropout import Dropout
from .container import Sequential
from .loss import MSELoss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss

__all__ = [
    "Parameter", "Module", "Linear", "Sigmoid", "Tanh", "ReLU", "Dropout", "Sequential",
    "MSELoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
]
