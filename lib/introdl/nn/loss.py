"""Loss modules: ``loss = loss_fn(prediction, target)`` gives a float, ``loss_fn.backward()`` ∂loss/∂prediction.

All use mean reduction, like torch's defaults. Introduced in chapter 4; ``backward`` in chapter 6.
Each loss is the function of the same name in ``introdl.functional``; the module remembers the
last prediction and target so that ``backward()`` needs no arguments.
"""
import numpy as np

from .. import functional as F
from .._validation import as_logits_and_labels


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
        self._last = (np.asarray(prediction), np.asarray(target))
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

    Introduced in chapter 4. Source: https://pytorch.org/docs/stable/generated/torch.nn.MSELoss.html
    """

    value = staticmethod(F.mse_loss)
    gradient = staticmethod(F.mse_loss_grad)


class BCELoss(_Loss):
    """−(1/n) Σ [y log p + (1 − y) log(1 − p)], each log clamped at −100 as in torch.

    p (probabilities) and y: the same shape, in [0, 1].
    Introduced in chapter 4. Source: https://pytorch.org/docs/stable/generated/torch.nn.BCELoss.html
    """

    value = staticmethod(F.binary_cross_entropy)
    gradient = staticmethod(F.binary_cross_entropy_grad)


class BCEWithLogitsLoss(_Loss):
    """BCE of σ(z), computed stably from logits z. z and y: the same shape, y in [0, 1].

    Introduced in chapter 4. Source: https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html
    """

    value = staticmethod(F.binary_cross_entropy_with_logits)
    gradient = staticmethod(F.binary_cross_entropy_with_logits_grad)


class CrossEntropyLoss(_Loss):
    """Softmax cross entropy, −(1/N) Σₙ log softmax(zₙ)[yₙ].

    logits: (N, C); target: integer class labels (N,) in [0, C).
    backward: ∂loss/∂z = (softmax(z) − onehot(y)) / N, shape (N, C).
    The numbers are those of ``F.cross_entropy`` and ``F.cross_entropy_grad``; the forward pass
    keeps log softmax(z) so that backward need not compute it again (torch keeps it too).
    Introduced in chapter 4. Source: https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html
    """

    def __call__(self, logits, target):
        z, labels = as_logits_and_labels(logits, target)
        log_p = F.log_softmax(z)  # log softmax(z), (N, C)
        rows = np.arange(len(labels))
        self._last = (log_p, labels)
        return float(-np.mean(log_p[rows, labels]))  # −(1/N) Σₙ log pₙ[yₙ]

    forward = __call__

    def backward(self):
        """∂loss/∂logits = (softmax(z) − onehot(y)) / N, shape (N, C)."""
        if self._last is None:
            raise RuntimeError("CrossEntropyLoss.backward called before computing a loss")
        log_p, labels = self._last
        grad = np.exp(log_p)  # softmax(z)
        grad[np.arange(len(labels)), labels] -= 1.0  # − onehot(y)
        return grad / len(labels)
