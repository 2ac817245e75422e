"""What every optimizer shares: the parameters, what it remembers about each, zero_grad and step.

The layout follows ``torch.optim.Optimizer`` (https://pytorch.org/docs/stable/optim.html):
``param_groups``, ``state``, ``state_dict()``.
"""
import copy
import inspect

import numpy as np

from .._validation import check_number, count_non_finite
from ..errors import NonFiniteError
from ..nn.module import Module
from ..nn.parameter import Parameter

# The state entries that hold running sums or averages of squared gradients (or squared steps).
_SQUARED_STATE = ("exp_avg_sq", "max_exp_avg_sq", "square_avg", "sum", "acc_delta")


class Optimizer:
    """Base class of the optimizers: it updates a fixed list of Parameters from their gradients.

    Args:
        params: an iterable of :class:`introdl.nn.Parameter`, usually ``model.parameters()``.
        defaults (dict): the hyperparameters, name → value, as the subclass checked them.

    Attributes:
        param_groups (list): one dict, as in torch: ``"params"`` (the list of Parameters) and
            one entry per hyperparameter (``"lr"``, ``"momentum"``, ...). ``step()`` reads them
            afresh every time, so a learning-rate schedule changes ``param_groups[0]["lr"]``.
        state (dict): Parameter → what the optimizer remembers about it between steps, as in
            torch: ``optimizer.state[model.weight]["exp_avg"]``, with torch's keys
            (``"momentum_buffer"``, ``"sum"``, ``"square_avg"``, ``"acc_delta"``, ``"exp_avg"``,
            ``"exp_avg_sq"``, ``"step"``, ...); empty until the parameter's first update.
        steps_taken (int): how many times ``step()`` has run (a schedule checks it).
        defaults (dict): the hyperparameters as constructed.

    A subclass writes two methods, on plain ndarrays and the group's hyperparameters:
    ``_initial_state(theta, group)``, the state of a parameter before its first update, and
    ``_update(theta, grad, state, **hyperparameters)``, which changes ``theta`` in place and
    stores new arrays in ``state`` (it never changes a state array in place). Squares are formed
    as torch forms them, ``((1 − β)·g)·g``, so a large gradient is scaled before it is squared.
    """

    def __init__(self, params, defaults):
        params = _parameter_list(params)
        self.defaults = dict(defaults)
        self.param_groups = [{"params": params, **self.defaults}]
        self.state = ParameterState(params)
        self.steps_taken = 0

    def _all_params(self):
        """Every Parameter of every group, in order: position i is parameter i of ``state_dict()``."""
        return [param for group in self.param_groups for param in group["params"]]

    def zero_grad(self):
        """Forget every gradient (``grad = None``, torch's default ``set_to_none=True``)."""
        for param in self._all_params():
            param.grad = None

    def step(self, closure=None):
        """Update every parameter that has a gradient, in place; all of them, or none.

        A parameter whose ``grad`` is None is skipped, and its state stays as it was, as in torch.
        Each update is computed on copies first: only if every parameter and its state stay
        finite does anything change.

        Args:
            closure: optional function that recomputes the loss (and the gradients) and returns
                the loss, as in torch; ``step`` calls it first and returns what it returned.

        Raises:
            ValueError: a gradient of the wrong shape, or a learning rate below 0.
            NonFiniteError: a gradient that holds NaN or infinity, or an update that would make
                a parameter or its state NaN or infinite; the message names the cause.
        """
        loss = closure() if closure is not None else None
        updates = []
        for group in self.param_groups:
            check_number(group["lr"], 'param_groups[0]["lr"]', low=0)
            hyperparameters = {name: group[name] for name in self.defaults}
            for index, param in enumerate(group["params"]):
                if param.grad is not None:
                    _check_gradient(param, index)
                    updates.append((index, param, group, hyperparameters))
        new_values = []
        try:  # an overflow or a 0/0 on the way raises at once; nothing has been changed yet
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                for index, param, group, hyperparameters in updates:
                    new_values.append(self._new_values(param, group, hyperparameters))
        except FloatingPointError:
            raise self._non_finite_error(index, param, group, hyperparameters) from None
        for (_, param, _, _), (theta, state) in zip(updates, new_values):
            param.data[...] = theta
            self.state[param] = state
        self.steps_taken += 1
        return loss

    def _new_values(self, param, group, hyperparameters):
        """The parameter's values and state after this step, computed on copies."""
        theta = param.data.copy()
        state = dict(self.state[param]) or self._initial_state(theta, group)  # _update stores new arrays
        self._update(theta, param.grad, state, **hyperparameters)
        return theta, state

    def _initial_state(self, theta, group):
        raise NotImplementedError(f"{type(self).__name__} must implement _initial_state(theta, group)")

    def _update(self, theta, grad, state, **hyperparameters):
        raise NotImplementedError(f"{type(self).__name__} must implement _update(theta, grad, state, ...)")

    def _non_finite_error(self, index, param, group, hyperparameters):
        """A ``NonFiniteError`` that names what this step would make NaN or infinite, and why."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            theta, state = self._new_values(param, group, hyperparameters)
        arrays = {"the values": theta, **{f'state["{key}"]': value for key, value in state.items()
                                          if isinstance(value, np.ndarray)}}
        bad = [what for what, array in arrays.items() if not np.isfinite(array).all()] or ["an intermediate"]
        largest = float(np.max(np.abs(param.grad)))
        if any(np.isinf(state[key]).any() for key in _SQUARED_STATE if key in state):
            cause = (f"the gradient is too large to square: its largest |g| is {largest:.3g}, and its "
                     f"square overflows {theta.dtype} even after scaling (torch's state becomes infinite "
                     "too); scale the loss down or clip the gradient")
        elif hyperparameters.get("eps") == 0 and any(np.isnan(array).any() for array in arrays.values()):
            cause = ("eps = 0 and a running average of squared gradients that is 0 (a weight whose "
                     "gradient has been 0 so far), so the update divides 0 by 0; use eps > 0, "
                     f"such as the default {inspect.signature(type(self)).parameters['eps'].default:g}")
        else:
            cause = (f"the step overflows (lr = {hyperparameters['lr']:g}, largest |g| = {largest:.3g}); "
                     "try a smaller learning rate")
        return NonFiniteError(f"{type(self).__name__}.step() would make {' and '.join(bad)} of parameter "
                              f"{index} NaN or infinite: {cause}. Nothing was changed.")

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self):
        """The optimizer's state as a dict in torch's layout, with copies of every array.

        ``{"state": {i: {...}}, "param_groups": [{"lr": ..., ..., "params": [0, 1, ...]}]}``:
        parameters are named by their position in ``params``; a parameter never updated has no
        entry in ``"state"``. Save it next to the model's state with ``np.savez`` (which stores
        a dict as a pickled object, so load it with ``allow_pickle=True``, from files you trust)::

            np.savez("checkpoint.npz", model=model.state_dict(), optimizer=optimizer.state_dict())
            checkpoint = np.load("checkpoint.npz", allow_pickle=True)
            model.load_state_dict(checkpoint["model"].item())
            optimizer.load_state_dict(checkpoint["optimizer"].item())
        """
        params = self._all_params()
        index = {id(param): i for i, param in enumerate(params)}
        state = {index[id(param)]: copy.deepcopy(values) for param, values in self.state.items() if values}
        groups = [{**{k: copy.deepcopy(v) for k, v in group.items() if k != "params"},
                   "params": [index[id(param)] for param in group["params"]]}
                  for group in self.param_groups]
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Continue from a ``state_dict()``: the hyperparameters and every parameter's state.

        The arrays are copied and cast to their parameter's dtype; the Parameters stay this
        optimizer's own.

        Raises:
            ValueError: ``state_dict`` is not one of this kind of optimizer for the same number
                and shapes of parameters.
        """
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError('state_dict must be a dict with the keys "state" and "param_groups" '
                             f"(from optimizer.state_dict()), got {_describe(state_dict)}")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"state_dict has {len(groups)} parameter groups, this optimizer has "
                             f"{len(self.param_groups)}")
        for saved, group in zip(groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"state_dict is for {len(saved['params'])} parameters, this optimizer "
                                 f"has {len(group['params'])}")
            missing = [name for name in self.defaults if name not in saved]
            if missing:
                raise ValueError(f"state_dict lacks the hyperparameter(s) {missing} of "
                                 f"{type(self).__name__}; is it from another kind of optimizer?")
        params = self._all_params()
        new_state = {}
        for i, values in state_dict["state"].items():
            if not 0 <= int(i) < len(params):
                raise ValueError(f"state_dict has state for parameter {i}, this optimizer has "
                                 f"{len(params)} parameters")
            param = params[int(i)]
            new_state[param] = {key: _as_state_value(value, param, i, key) for key, value in values.items()}
        for saved, group in zip(groups, self.param_groups):
            params = group["params"]
            group.clear()
            group.update({"params": params, **{k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}})
            group["lr"] = check_number(group["lr"], "lr", low=0)
        self.state.clear()
        self.state.update(new_state)

    def __repr__(self):
        settings = ", ".join(f"{name}={self.param_groups[0][name]!r}" for name in self.defaults)
        n = len(self._all_params())
        count = f"{n} parameter" + ("s" if n != 1 else "")
        return f"{type(self).__name__}({count}, {settings})"


def gradient(grad, theta, weight_decay, maximize):
    """The gradient an update follows: g = ±∇ + λ·θ, a new array or ``grad`` itself.

    −∇ when ``maximize`` (climbing a function is descending its negative); + λ·θ is the
    gradient of the L2 penalty ½λ‖θ‖² (``weight_decay`` λ). The
    result may *be* the parameter's ``grad``, so callers never change it in place.
    """
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * theta
    return g


class ParameterState(dict):
    """``optimizer.state``: Parameter → that parameter's state dict, as torch's ``optimizer.state``.

    A Parameter of the optimizer that has no state yet gets an empty dict (torch's
    ``defaultdict(dict)``); anything else is a ``KeyError``.
    """

    def __init__(self, params):
        super().__init__()
        self._params = params

    def __missing__(self, key):
        if not any(key is param for param in self._params):
            raise KeyError(f"optimizer.state is keyed by the optimizer's Parameters, got {_describe(key)}")
        self[key] = {}
        return self[key]


def _as_state_value(value, param, i, key):
    """One saved state entry, copied: arrays in the parameter's dtype and shape, numbers as they are."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        if value.shape != param.data.shape:
            raise ValueError(f'state_dict["state"][{i}]["{key}"] has shape {value.shape}, '
                             f"parameter {i} has shape {param.data.shape}")
        return value.astype(param.data.dtype, copy=True)
    return copy.deepcopy(value)


def _describe(value):
    return f"{type(value).__name__} {value!r}" if not isinstance(value, dict) else f"a dict with keys {sorted(map(str, value))}"


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
    """Raise if ``param.grad`` has the wrong shape or holds a NaN or an infinity, naming the parameter."""
    grad = param.grad
    if grad.shape != param.data.shape:
        raise ValueError(f"the gradient of parameter {index} must have the parameter's shape "
                         f"{param.data.shape}, got {grad.shape}")
    bad = count_non_finite(grad)
    if bad:
        raise NonFiniteError(f"the gradient of parameter {index} ({param!r}) has {bad} NaN or infinite "
                             "value(s); a finite gradient was expected (has the loss diverged?)")
