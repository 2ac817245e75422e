"""The base class of every layer, activation and network.

``forward(x)`` computes the output and saves what backward needs (the input it saw, the weights
it multiplied by) with ``save_for_backward``. ``backward(grad_output)`` takes copies of them back
with ``saved_tensors()``, which releases them, adds ∂L/∂parameter into each parameter's ``.grad``
and returns ∂L/∂input. One forward, then at most one backward: as in torch, anything else is refused.
"""
import numpy as np

from .._validation import as_float_array
from .parameter import Parameter


class Module:
    """A piece of a network with a forward and a backward pass, like ``torch.nn.Module``.

    ``module(x)`` and ``module.forward(x)`` do the same. ``backward`` raises ``RuntimeError``
    with no forward before it, when called twice for one forward (torch raises "Trying to
    backward through the graph a second time"), when a weight that forward used was changed in
    place since (torch raises "modified by an inplace operation"), and so when one module object
    is used at two places in a network: use a separate object at each place. An input changed in
    place after forward changes nothing: backward uses the copy that forward kept.

    Parameters and sub-modules are found in the attributes, in the order they were assigned,
    which is the order torch registers them in, so ``parameters()`` lines up with the torch twin's.

    Source: https://pytorch.org/docs/stable/generated/torch.nn.Module.html
    """

    training = True

    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, grad_output):
        raise NotImplementedError(f"{type(self).__name__} must implement backward(grad_output)")

    def __call__(self, x):
        return self.forward(x)

    def save_for_backward(self, *values):
        """In forward: keep a copy of each array (an input) or Parameter (a weight) for backward.

        A Parameter is remembered too, so that backward can tell if its values changed since.
        """
        self._cache = [(value, value.data.copy()) if isinstance(value, Parameter) else (None, value.copy())
                       for value in values]

    def saved_tensors(self):
        """In backward: the arrays forward saved, as a tuple; the cache is released.

        Raises:
            RuntimeError: nothing saved (no forward since the last backward), or a saved array
                was changed in place after forward (the gradient would be wrong).
        """
        name = type(self).__name__
        cache = self.__dict__.pop("_cache", None)
        if cache is None:
            raise RuntimeError(
                f"{name}.backward needs a forward call before it, and each forward allows one backward "
                "(backward twice, or a module object used at two places in one network, would give a "
                "wrong gradient). Call the model on the input again before each backward, and use a "
                "separate module object at each place.")
        for parameter, saved in cache:
            if parameter is not None and not np.array_equal(parameter.data, saved):
                raise RuntimeError(
                    f"{name}.backward: a weight that forward multiplied by was changed since (torch raises "
                    "'modified by an inplace operation'), so the gradient would be wrong. Call the model "
                    "again after changing the weights, then backward.")
        return tuple(saved for _, saved in cache)

    def _check_grad_output(self, grad_output, shape):
        """In backward: ``grad_output`` as a float array of the output's ``shape``, or a ValueError."""
        grad_output = as_float_array(grad_output, "grad_output", allow_empty=True)
        if grad_output.shape != shape:
            raise ValueError(f"{type(self).__name__}.backward: grad_output must have the shape of the "
                             f"output {shape}, got {grad_output.shape}")
        return grad_output

    def __getstate__(self):
        """For pickle and ``copy.deepcopy``: the module without a pending forward's cache."""
        return {key: value for key, value in vars(self).items() if key != "_cache"}

    def named_children(self):
        """``(name, sub-module)`` pairs in assignment order: ``"hidden"``, or ``"blocks.0"`` in a list."""
        for attribute, value in vars(self).items():
            if isinstance(value, Module):
                yield attribute, value
            elif isinstance(value, (list, tuple)):
                for index, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{attribute}.{index}", item

    def children(self):
        """The direct sub-modules, in assignment order."""
        return (child for _, child in self.named_children())

    def modules(self):
        """This module and every module inside it, depth first (each object once), as in torch."""
        found = {id(self): self}
        for child in self.children():
            for module in child.modules():
                found.setdefault(id(module), module)
        return list(found.values())

    def _named_parameters_with_repeats(self, prefix=""):
        for attribute, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + attribute, value
        for child_name, child in self.named_children():
            yield from child._named_parameters_with_repeats(f"{prefix}{child_name}.")

    def named_parameters(self):
        """``[(name, Parameter)]`` in torch's order with torch's dotted names (``"0.weight"``,
        ``"hidden.bias"``); a parameter held at two places is listed once, under its first name."""
        found = {}
        for name, parameter in self._named_parameters_with_repeats():
            found.setdefault(id(parameter), (name, parameter))
        return list(found.values())

    def parameters(self):
        """Every Parameter of this module and its sub-modules, as a list in torch's order (each once)."""
        return [parameter for _, parameter in self.named_parameters()]

    def state_dict(self):
        """``{dotted name: copy of the values}``; save it with ``np.savez(path, **model.state_dict())``.

        Source: https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.state_dict
        """
        return {name: parameter.data.copy() for name, parameter in self._named_parameters_with_repeats()}

    def load_state_dict(self, state_dict):
        """Copy ``state_dict`` (from ``state_dict()`` or ``np.load``) into the parameters, as torch's
        ``load_state_dict(strict=True)``. Nothing is copied on an error: ``TypeError`` (not a mapping
        of arrays), ``KeyError`` (missing or unexpected names), ``ValueError`` (a wrong shape, NaN)."""
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"load_state_dict expects a dict from names to arrays, got {type(state_dict).__name__}")
        own = dict(self._named_parameters_with_repeats())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict.keys() if name not in own]
        if missing or unexpected:
            raise KeyError(f"state_dict does not fit {type(self).__name__}: missing {missing}, unexpected "
                           f"{unexpected}; expected the keys {list(own)}")
        values = {name: as_float_array(state_dict[name], f"state_dict[{name!r}]", allow_empty=True)
                  for name in own}
        for name, parameter in own.items():
            if values[name].shape != parameter.shape:
                raise ValueError(f"state_dict[{name!r}] has shape {values[name].shape}, but the parameter "
                                 f"{name} has shape {parameter.shape}")
        for name, parameter in own.items():
            parameter.data[...] = values[name]

    def zero_grad(self):
        """Set every parameter's ``.grad`` to None (torch's default ``set_to_none=True``)."""
        for parameter in self.parameters():
            parameter.zero_grad()

    def train(self, mode=True):
        """Switch this module and every sub-module to training mode (dropout active); returns self."""
        self.training = bool(mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        """Switch to evaluation mode (dropout becomes the identity); returns self."""
        return self.train(False)

    def num_parameters(self):
        """How many numbers the optimizer adjusts (a shared parameter counts once)."""
        return sum(p.data.size for p in self.parameters())

    def __repr__(self):
        return f"{type(self).__name__}()"
