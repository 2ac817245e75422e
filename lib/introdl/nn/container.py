"""Sequential: layers applied one after another, backward in the reverse order."""
from .module import Module


class Sequential(Module):
    """y = f_L(… f_2(f_1(x))). backward runs the chain rule from the last layer to the first.

    Args:
        *layers (Module): the layers, applied in the order given; each a module object of its
            own (to share weights, give two layers the same Parameter objects).

    Children are named "0", "1", … as in torch: ``named_parameters()`` gives "0.weight", "2.bias".

    Raises:
        TypeError: an argument that is not an ``introdl.nn`` module.
        ValueError: one module object at two places (its saved forward values would be those of
            its last use only, so one backward would be wrong).
        RuntimeError: in ``backward``, a layer that ran elsewhere since this Sequential's forward
            (a module object shared with another network).

    Source: https://pytorch.org/docs/stable/generated/torch.nn.Sequential.html
    """

    def __init__(self, *layers):
        seen = {}
        for index, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential expects introdl.nn modules, got {type(layer).__name__} at position {index}")
            for module in layer.modules():
                if id(module) in seen:
                    raise ValueError(
                        f"Sequential: the same {type(module).__name__} object is at position {seen[id(module)]} "
                        f"and at position {index}; use a separate object at each place, for example "
                        f"nn.Tanh() twice (torch would share it, but here one object keeps one forward's values)")
                seen[id(module)] = index
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        self._cache = [vars(layer).get("_cache") for layer in self.layers]  # what this pass left in each
        return x

    def backward(self, grad_output):
        caches = vars(self).pop("_cache", None)
        if caches is None:
            raise RuntimeError("Sequential.backward needs a forward call before it, and each forward allows "
                               "one backward. Call the model on the input again before each backward.")
        for index, (layer, cache) in enumerate(zip(self.layers, caches)):
            if vars(layer).get("_cache") is not cache:
                raise RuntimeError(
                    f"Sequential.backward: layer {index} ({type(layer).__name__}) no longer holds the values of "
                    "this Sequential's last forward pass: it ran forward (or backward) elsewhere since, or this "
                    "pass failed half-way. Use a separate module object at each place, and call the model "
                    "again before backward.")
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
