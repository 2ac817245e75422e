"""The base class of every layer, activation and network (introduced in chapter 3).

A module's ``forward`` computes its output and *saves* what its ``backward`` will need (the input
of a Linear layer, the mask of a Dropout layer); ``backward`` receives ∂L/∂output, adds
∂L/∂parameter into each parameter's ``.grad`` and returns ∂L/∂input. This file keeps the
bookkeeping that makes that work, so that each layer's own file is just its equations.
"""
import functools
import itertools

import numpy as np

from .._validation import as_float_array
from .parameter import Parameter


class _Saved:
    """What one forward call saved for its backward call: ``tensors``, ``output_shape``, order."""

    __slots__ = ("tensors", "order", "forward_pass", "output_shape", "used")

    def __init__(self, tensors, order, forward_pass):
        self.tensors = tensors
        self.order = order  # the how-many-th saving forward call this was, counting every module
        self.forward_pass = forward_pass  # which outermost call this was part of
        self.output_shape = None  # filled in by Module.__call__ once forward has returned
        self.used = False  # True once a backward call has used it


class _Autograd:
    """Where the library is in its forward and backward passes (one of each at a time)."""

    counter = itertools.count(1)  # numbers every saved forward call, across all modules
    forward_pass = 0  # number of the current outermost Module call
    forward_depth = 0  # how many Module calls are running inside each other
    backward_pass = 0  # number of the current outermost backward call
    backward_depth = 0
    last_order = None  # order of the context used last in the current backward pass
    previous_start = None  # order of the first context used by the previous backward pass


class Module:
    """A piece of a network with a forward and a backward pass, like ``torch.nn.Module``.

    Subclasses implement two methods:

    * ``forward(x)``: compute the output; call ``self.save_for_backward(...)`` with the arrays that
      backward will need.
    * ``backward(grad_output)``: read them back from ``self.saved_tensors``, add ∂L/∂parameter into
      each parameter's ``.grad`` (``Parameter.accumulate_grad``) and return ∂L/∂input.

    Call a module as ``module(x)``, not ``module.forward(x)``: the call checks the input where
    it enters the network (a float array, finite, not empty; integers become float64) and each
    module's own ``check_input`` (Linear checks the number of features) on the way in.

    **Using one module at several places.** The same object may appear twice in a network (the
    same ``nn.Tanh()`` at two places in a ``Sequential``, or a custom Module that calls a
    sub-module twice), as in torch. Each forward call saves its own context on a stack, and each
    backward call takes the latest one not yet used: this is torch's answer whenever backward
    runs in the reverse order of forward, as the chain rule does (``Sequential`` always does).
    A parameter used twice receives the sum of the gradients of both paths.
    What the library can detect it refuses with a ``RuntimeError`` (or ``ValueError`` for a
    shape) instead of returning a wrong gradient:

    * within one outermost ``backward`` call, a module whose forward ran *after* the one
      backpropagated just before it (backward not in the reverse order of forward, or a forward
      that failed half-way through the network);
    * more backward calls of a module than it had forward calls;
    * a ``grad_output`` whose shape is not that of the matching forward call's output;
    * a shared module whose forward calls were made at the outermost level one layer at a time
      (each call then replaces the previous one's context) and then backpropagated layer by layer.

    One case cannot be detected: a custom module that calls one sub-module on two inputs of the
    same shape and then calls that sub-module's backward in the same order as forward instead of
    the reverse. Write backward in the reverse order of forward, as the chain rule does.

    **Memory.** Only the contexts of the latest outermost call are kept: calling the model again
    (for example to evaluate it) replaces them.

    **Backward twice.** Running backward again without a new forward pass reuses the same saved
    contexts and adds the same gradients again, as torch does with ``retain_graph=True``.

    Parameters and sub-modules are found by looking at the attributes in the order they were
    assigned, which is also the order torch registers them in, so ``parameters()`` lines up with
    the torch twin's ``parameters()``.

    Source: https://pytorch.org/docs/stable/generated/torch.nn.Module.html
    """

    training = True
    _saved = ()  # this module's contexts from the latest outermost call (a list once used)
    _saved_pass = None
    _dropped_unused = False  # whether the latest outermost call dropped contexts never backpropagated
    _cursor = 0  # contexts not yet used in the current backward pass
    _cursor_pass = None
    _in_backward = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "backward" in vars(cls):  # every backward goes through Module._run_backward
            user_backward = cls.backward

            @functools.wraps(user_backward)
            def backward(self, grad_output):
                return self._run_backward(user_backward, grad_output)

            cls.backward = backward

    # ------------------------------------------------------------ what subclasses write
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, grad_output):
        raise NotImplementedError(f"{type(self).__name__} must implement backward(grad_output)")

    def check_input(self, x):
        """Raise a clear error if ``x`` does not fit this module (run on every call, so keep it cheap)."""

    def save_for_backward(self, *arrays):
        """Remember ``arrays`` for the backward pass of this forward call (torch's ``ctx.save_for_backward``)."""
        if self._saved_pass != _Autograd.forward_pass:  # a new outermost call: forget the old ones
            self._dropped_unused = any(not context.used for context in self._saved)
            self._saved = []
            self._saved_pass = _Autograd.forward_pass
        self._saved.append(_Saved(arrays, next(_Autograd.counter), _Autograd.forward_pass))

    @property
    def saved_tensors(self):
        """Inside ``backward``: the arrays that the matching forward call saved, as a tuple."""
        context = self.__dict__.get("_context")
        if context is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return context.tensors

    # ------------------------------------------------------------ the bookkeeping
    def __call__(self, x):
        outermost = _Autograd.forward_depth == 0
        if outermost:  # where data enters the network: convert and check it once
            _Autograd.forward_pass += 1
            x = as_float_array(x, f"input to {type(self).__name__}")
        self.check_input(x)
        saved_before = len(self._saved) if self._saved_pass == _Autograd.forward_pass else 0
        _Autograd.forward_depth += 1
        try:
            output = self.forward(x)
        finally:
            _Autograd.forward_depth -= 1
        if self._saved_pass == _Autograd.forward_pass and len(self._saved) > saved_before:
            self._saved[-1].output_shape = np.shape(output)
        return output

    def _run_backward(self, user_backward, grad_output):
        if self._in_backward:  # a subclass's backward calling super().backward(...)
            return user_backward(self, grad_output)
        outermost = _Autograd.backward_depth == 0
        if outermost:
            _Autograd.backward_pass += 1
            _Autograd.last_order = None
            grad_output = as_float_array(grad_output, "grad_output")
        context = self._take_context(grad_output) if self._saved else None
        _Autograd.backward_depth += 1
        self._context, self._in_backward = context, True
        try:
            grad_input = user_backward(self, grad_output)
        finally:
            _Autograd.backward_depth -= 1
            self._context, self._in_backward = None, False
        if context is not None:
            context.used = True
        return grad_input

    def _take_context(self, grad_output):
        """The latest saved context not yet used in this backward pass, after checking the order."""
        name = type(self).__name__
        if self._cursor_pass != _Autograd.backward_pass:
            self._cursor, self._cursor_pass = len(self._saved), _Autograd.backward_pass
        if self._cursor == 0:
            raise RuntimeError(
                f"{name}.backward called {len(self._saved) + 1} times in one backward pass, but its "
                f"forward ran {len(self._saved)} time(s) in the latest call of the network; "
                "each backward call needs a forward call of its own")
        context = self._saved[self._cursor - 1]
        if _Autograd.last_order is None:  # the first context of this backward pass
            if context.used and context.order != _Autograd.previous_start and self._dropped_unused:
                raise RuntimeError(
                    f"{name}.backward: the forward call it would use has already been backpropagated, and "
                    "an earlier forward call of this module was dropped before its backward ran. Is one "
                    "module object used at several places, with forward and backward called layer by "
                    "layer? Then call the whole network (model(x), then model.backward(grad)), or use a "
                    "separate object at each place.")
            _Autograd.previous_start = context.order
        elif context.order > _Autograd.last_order:
            raise RuntimeError(
                f"{name}.backward: backward must run in the reverse order of forward, but this module's "
                "forward ran after the one backpropagated just before it (or a forward call failed "
                "half-way through the network). Call backward on the modules from the last to the first.")
        if np.shape(grad_output) != context.output_shape:
            raise ValueError(f"grad_output must have the shape of {name}'s output {context.output_shape}, "
                             f"got {np.shape(grad_output)}")
        self._cursor -= 1
        _Autograd.last_order = context.order
        return context

    def __getstate__(self):
        """For pickle and ``copy.deepcopy``: the module without its saved forward contexts.

        Like a torch graph, they belong to one process and one forward pass, not to the model.
        """
        bookkeeping = {"_saved", "_saved_pass", "_dropped_unused", "_cursor", "_cursor_pass",
                       "_context", "_in_backward"}
        return {key: value for key, value in vars(self).items() if key not in bookkeeping}

    # ------------------------------------------------------------ parameters and sub-modules
    def named_children(self):
        """The direct sub-modules as ``(name, module)`` pairs, in assignment order, as torch names them.

        A module held in an attribute is named after it (``"hidden"``); one in a list or tuple
        attribute gets its position too (``"blocks.0"``).
        """
        for attribute, value in vars(self).items():
            if isinstance(value, Module):
                yield attribute, value
            elif isinstance(value, (list, tuple)):
                for index, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{attribute}.{index}", item

    def children(self):
        """The direct sub-modules, in assignment order."""
        for _, child in self.named_children():
            yield child

    def _named_parameters_with_repeats(self, prefix=""):
        for attribute, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + attribute, value
        for child_name, child in self.named_children():
            yield from child._named_parameters_with_repeats(f"{prefix}{child_name}.")

    def named_parameters(self):
        """Every Parameter with torch's dotted name, as a list of ``(name, Parameter)`` in torch's order.

        Names: ``"weight"``, ``"bias"`` in a layer; ``"0.weight"``, ``"2.bias"`` in a Sequential;
        ``"hidden.weight"`` for a layer held in the attribute ``hidden`` of a custom Module.
        A parameter shared by two places is listed once, under its first name (as in torch).

        Introduced in chapter 6. Source:
        https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.named_parameters
        """
        seen, found = set(), []
        for name, parameter in self._named_parameters_with_repeats():
            if id(parameter) not in seen:
                seen.add(id(parameter))
                found.append((name, parameter))
        return found

    def parameters(self):
        """Every Parameter of this module and its sub-modules, as a list in torch's order (each once)."""
        return [parameter for _, parameter in self.named_parameters()]

    def state_dict(self):
        """A dict from each parameter's dotted name to a copy of its values (an ndarray).

        As in torch, a parameter shared by two places appears under both names. Save it with
        ``np.savez(path, **model.state_dict())`` and restore it with
        ``model.load_state_dict(np.load(path))``.

        Source: https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.state_dict
        """
        return {name: parameter.data.copy() for name, parameter in self._named_parameters_with_repeats()}

    def load_state_dict(self, state_dict):
        """Copy the values in ``state_dict`` (name → array, e.g. from ``state_dict()`` or ``np.load``) into
        the parameters, as torch's ``load_state_dict(strict=True)``.

        Raises:
            TypeError: ``state_dict`` is not a mapping, or a value is not an array of numbers.
            KeyError: a name is missing or unexpected (every problem is listed, nothing is copied).
            ValueError: a value has the wrong shape or is not finite (nothing is copied).

        The values keep each parameter's dtype. For a torch ``state_dict``, convert it first with
        ``introdl.torch_twin.from_torch_state_dict``.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"load_state_dict expects a dict from names to arrays, got {type(state_dict).__name__}")
        own = dict(self._named_parameters_with_repeats())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict.keys() if name not in own]
        if missing or unexpected:
            problems = []
            if missing:
                problems.append("missing key(s) " + ", ".join(repr(k) for k in missing))
            if unexpected:
                problems.append("unexpected key(s) " + ", ".join(repr(k) for k in unexpected))
            raise KeyError(f"state_dict does not fit {type(self).__name__}: {'; '.join(problems)}; "
                           f"expected the keys {list(own)}")
        values = {}
        for name, parameter in own.items():
            value = as_float_array(state_dict[name], f"state_dict[{name!r}]", allow_empty=True)
            if value.shape != parameter.shape:
                raise ValueError(f"state_dict[{name!r}] has shape {value.shape}, but the parameter {name} "
                                 f"has shape {parameter.shape}")
            values[name] = value
        for name, parameter in own.items():
            parameter.data[...] = values[name]

    def zero_grad(self):
        """Set every parameter's ``.grad`` to None (torch's default ``set_to_none=True``)."""
        for parameter in self.parameters():
            parameter.zero_grad()

    def train(self, mode=True):
        """Switch this module and every sub-module to training mode (dropout active)."""
        self.training = bool(mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        """Switch to evaluation mode (dropout becomes the identity)."""
        return self.train(False)

    def num_parameters(self):
        """How many numbers the optimizer adjusts (a shared parameter counts once)."""
        return sum(p.data.size for p in self.parameters())

    def __repr__(self):
        return f"{type(self).__name__}()"
