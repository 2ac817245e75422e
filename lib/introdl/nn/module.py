"""The base class of every layer, activation and network."""
from .parameter import Parameter


class Module:
    """A piece of a network with a forward and a backward pass.

    Subclasses implement ``forward(x)`` and ``backward(grad_output)``: backward receives ∂L/∂output,
    adds ∂L/∂parameter into each parameter's ``.grad`` and returns ∂L/∂input.

    Parameters and sub-modules are found by looking at the attributes in the order they were
    assigned, which is also the order torch registers them in, so ``parameters()`` lines up with
    the torch twin's ``parameters()``.
    """

    training = True

    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, grad_output):
        raise NotImplementedError(f"{type(self).__name__} must implement backward(grad_output)")

    def __call__(self, x):
        return self.forward(x)

    def children(self):
        """The direct sub-modules, in assignment order."""
        for value in vars(self).values():
            if isinstance(value, Module):
                yield value
            elif isinstance(value, (list, tuple)):
                yield from (item for item in value if isinstance(item, Module))

    def parameters(self):
        """Every Parameter of this module and its sub-modules, as a list in torch's order."""
        found = []
        for value in vars(self).values():
            if isinstance(value, Parameter):
                found.append(value)
            elif isinstance(value, Module):
                found.extend(value.parameters())
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, Module):
                        found.extend(item.parameters())
        return found

    def zero_grad(self):
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
        """How many numbers the optimizer adjusts."""
        return sum(p.data.size for p in self.parameters())

    def __repr__(self):
        return f"{type(self).__name__}()"
