"""Optimizers with torch.optim's names, arguments, defaults and update order, and
learning-rate schedules in ``introdl.optim.lr_scheduler``.

Each optimizer updates ``Parameter.data`` in place from ``Parameter.grad``::

    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    model.backward(loss_fn.backward())
    optimizer.step()
"""
from ..errors import NonFiniteError
from .optimizer import Optimizer
from .sgd import SGD
from .adagrad import Adagrad
from .adadelta import Adadelta
from .rmsprop import RMSprop
from .adam import Adam
from .adamw import AdamW
from . import lr_scheduler

__all__ = ["NonFiniteError", "Optimizer", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "lr_scheduler"]
