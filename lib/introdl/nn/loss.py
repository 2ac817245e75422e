"""Loss modules: ``loss = loss_fn(prediction, target)`` gives a float, ``loss_fn.backward()`` ∂loss/∂prediction.

All use mean reduction, like torch's defaults.
Each loss is the function of the same name in ``introdl.functional``; the module remembers the
last prediction and target so that ``backward()`` needs no arguments.
"""
import numpy as np

from .. import functional as F


class _Loss:
    """Remembers the last (prediction, target) so that ``backward()`` needs no arguments.

    A refused call (bad shapes, NaN, values out of range) raises and keeps the last good pair.
    """

    value = staticmethod(None)
    gradient = staticmethod(None)

    def __init__(self):
        self._last = None

    def __call__(self, prediction, target):
        loss = self.value(prediction, target)  # checks shapes and values
        self._last = (np.array(prediction), np.array(target))  # copies: later changes cannot reach backward
        return loss

    forward = __call__

    def backward(self):
        """∂loss/∂prediction, the same shape as the prediction."""
        if self._last is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before computing a loss")
        return self.gradient(*self._last)

    def __repr__(self):
        return f"{type(self).__name__}()"


class MSELoss(_Loss):
    """(1/n) Σ (ŷ − y)². prediction and target: the same shape.

    Source: https://pytorch.org/docs/stable/generated/torch.nn.MSELoss.html
    """

    value = staticmethod(F.mse_loss)
    gradient = staticmethod(F.mse_loss_grad)


class BCELoss(_Loss):
    """−(1/n) Σ [y log p + (1 − y) log(1 − p)], each log clamped at −100 as in torch.

    p (probabilities) and y: the same shape, in [0, 1].
    Source: https://pytorch.org/docs/stable/generated/torch.nn.BCELoss.html
    """

    value = staticmethod(F.binary_cross_entropy)
    gradient = staticmethod(F.binary_cross_entropy_grad)


class BCEWithLogitsLoss(_Loss):
    """BCE of σ(z), computed stably from logits z. z and y: the same shape, y in [0, 1].

    Source: https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html
    """

    value = staticmethod(F.binary_cross_entropy_with_logits)
    gradient = staticmethod(F.binary_cross_entropy_with_logits_grad)


class CrossEntropyLoss(_Loss):
    """Softmax cross entropy, −(1/N) Σₙ log softmax(zₙ)[yₙ].

    logits: (N, C); target: integer class labels (N,) in [0, C).
    backward: ∂loss/∂z = (softmax(z) − onehot(y)) / N, shape (N, C).
    Source: https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html
    """

    value = staticmethod(F.cross_entropy)
    gradient = staticmethod(F.cross_entropy_grad)
