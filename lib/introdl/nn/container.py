"""Sequential: layers applied one after another, backward in the reverse order (chapters 3 and 6)."""
from .module import Module


class Sequential(Module):
    """y = f_L(… f_2(f_1(x))). backward runs the chain rule from the last layer to the first.

    Args:
        *layers (Module): the layers, applied in the order given. The same module object may
            appear at several places (its parameters are then shared, as in torch).

    Children are named "0", "1", … as in torch: ``named_parameters()`` gives "0.weight", "2.bias".

    Raises:
        TypeError: an argument that is not an ``introdl.nn`` module.

    Introduced in chapter 3. Source: https://pytorch.org/docs/stable/generated/torch.nn.Sequential.html
    """

    def __init__(self, *layers):
        for index, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential expects introdl.nn modules, got {type(layer).__name__} at position {index}")
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, grad_output):
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
        return grad_output

    def named_children(self):
        for index, layer in enumerate(self.layers):
            yield str(index), layer

    def __getitem__(self, index):
        return self.layers[index]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self):
        inner = "\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"
