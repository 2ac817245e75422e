"""What every optimizer shares: the parameters, what it remembers about each, zero_grad and step."""
import math

import numpy as np

from .._validation import NonFiniteError, check_number
from ..nn.module import Module
from ..nn.parameter import Parameter


class Optimizer:
    """Base class of the optimizers: it updates a fixed list of Parameters from their gradients.

    ``params``: an iterable of ``introdl.nn.Parameter``, usually ``model.parameters()``.
    ``defaults``: the hyperparameters, name → value. Each one also becomes an attribute
    (``optimizer.lr``, ``optimizer.momentum``, ...) that ``step()`` reads afresh every time, so a
    learning-rate schedule simply assigns ``optimizer.lr = ...`` between steps (torch's
    ``optimizer.param_groups[0]["lr"] = ...``). ``defaults`` keeps the values as constructed.

    ``state``: a list with one dict per parameter (in the order of ``params``) holding what the
    optimizer remembers between steps: momentum buffers, running averages, the step count ``t``.
    The arrays in it have the parameter's shape; the names are torch's (``"momentum_buffer"``,
    ``"exp_avg"``, ...). A dict stays empty until its parameter's first update.

    A subclass writes two methods, both on plain ndarrays:
    ``_initial_state(data)`` returns the state of a parameter before its first update, and
    ``_update(data, grad, state)`` changes ``data`` (the parameter's values) in place.
    """

    def __init__(self, params, defaults):
        self.params = _parameter_list(params)
        self.state = [{} for _ in self.params]
        self.defaults = dict(defaults)
        for name, value in self.defaults.items():
            setattr(self, name, value)

    @property
    def lr(self):
        """The learning rate η; may be changed between steps (it must stay ≥ 0)."""
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = check_number(value, "lr", low=0)

    def zero_grad(self):
        """Forget every gradient (``grad = None``, torch's default ``set_to_none=True``)."""
        for param in self.params:
            param.grad = None

    def step(self, closure=None):
        """Update every parameter that has a gradient, in place; one whose ``grad`` is None is
        skipped, and its state (its step count too) stays as it was, as in torch.

        ``closure``: optional function that recomputes the loss (and the gradients) and returns the
        loss, as in torch; ``step`` calls it first and returns what it returned.
        """
        loss = closure() if closure is not None else None
        # Check every gradient before changing anything, so that an error leaves no parameter
        # half-updated.
        for index, param in enumerate(self.params):
            if param.grad is not None:
                _check_gradient(param, index)
        for param, state in zip(self.params, self.state):
            if param.grad is None:
                continue
            if not state:
                state.update(self._initial_state(param.data))
            self._update(param.data, param.grad, state)
        return loss

    def _initial_state(self, data):
        raise NotImplementedError(f"{type(self).__name__} must implement _initial_state(data)")

    def _update(self, data, grad, state):
        raise NotImplementedError(f"{type(self).__name__} must implement _update(data, grad, state)")

    def _gradient(self, data, grad, weight_decay):
        """The gradient the update follows: ``g = ±∇ + λθ``, as a new array or ``grad`` itself.

        ``−∇`` when ``maximize`` (climbing the function is descending its negative); ``+ λθ`` is the
        gradient of the L2 penalty ``½λ‖θ‖²`` (``weight_decay`` λ). The result may *be* the
        parameter's ``grad``, so the caller must never change it in place.
        """
        if weight_decay == 0:
            return np.negative(grad) if self.maximize else grad
        g = data * weight_decay  # λθ, a new array that the gradient is then added into
        if self.maximize:
            g -= grad
        else:
            g += grad
        return g

    def __repr__(self):
        settings = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.defaults)
        count = f"{len(self.params)} parameter" + ("s" if len(self.params) != 1 else "")
        return f"{type(self).__name__}({count}, {settings})"


def _parameter_list(params):
    """``params`` as a list of distinct Parameters, or a clear error."""
    if isinstance(params, Module):
        raise TypeError(
            f"params must be an iterable of Parameters, got the module {type(params).__name__}; "
            "did you mean model.parameters()?"
        )
    if isinstance(params, (Parameter, np.ndarray)) or not hasattr(params, "__iter__"):
        raise TypeError(f"params must be an iterable of Parameters, got {type(params).__name__}")
    params = list(params)
    if not params:
        raise ValueError("params is empty; an optimizer needs at least one Parameter to update")
    for index, param in enumerate(params):
        if not isinstance(param, Parameter):
            raise TypeError(
                f"params[{index}] must be an introdl.nn.Parameter, got {type(param).__name__}"
            )
    if len({id(param) for param in params}) != len(params):
        raise ValueError("params lists the same Parameter more than once; it would be updated twice per step")
    return params


def _check_gradient(param, index):
    """Raise if ``param.grad`` has the wrong shape or holds a NaN or an infinity, naming the parameter.

    ``NonFiniteError`` is a ``ValueError``; ``train.fit`` reports it as divergence.
    ‖g‖² = g·g is finite only if every element of g is, so the common case costs one fast dot
    product and no temporary array; only when ‖g‖² is not finite (which a huge but finite gradient,
    above ~1e154, can also give) are the elements looked at one by one.
    """
    grad = param.grad
    if grad.shape != param.data.shape:
        raise ValueError(
            f"the gradient of parameter {index} must have the parameter's shape {param.data.shape}, "
            f"got {grad.shape}"
        )
    if math.isfinite(np.vdot(grad, grad)):
        return
    bad = grad.size - np.count_nonzero(np.isfinite(grad))
    if bad:
        raise NonFiniteError(
            f"the gradient of parameter {index} ({param!r}) has {bad} NaN or infinite value(s); "
            "a finite gradient was expected (has the loss diverged?)"
        )
