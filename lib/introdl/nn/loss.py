"""Loss modules: ``loss = loss_fn(prediction, target)`` gives a float, ``loss_fn.backward()`` ∂loss/∂prediction.

All use mean reduction, like torch's defaults.
"""
import numpy as np

from .. import functional as F


class _Loss:
    """Remembers the last (prediction, target) so that ``backward()`` needs no arguments."""

    value = staticmethod(None)
    gradient = staticmethod(None)

    def __init__(self):
        self._last = None

    def __call__(self, prediction, target):
        loss = self.value(prediction, target)  # validates shapes and values
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
    """(1/n) Σ (ŷ − y)². prediction and target: the same shape."""

    value = staticmethod(F.mse_loss)
    gradient = staticmethod(F.mse_loss_grad)


class BCELoss(_Loss):
    """−(1/n) Σ [y log p + (1 − y) log(1 − p)]. p (probabilities) and y: the same shape, in [0, 1]."""

    value = staticmethod(F.binary_cross_entropy)
    gradient = staticmethod(F.binary_cross_entropy_grad)


class BCEWithLogitsLoss(_Loss):
    """BCE of σ(z), computed stably from logits z. z and y: the same shape, y in [0, 1]."""

    value = staticmethod(F.binary_cross_entropy_with_logits)
    gradient = staticmethod(F.binary_cross_entropy_with_logits_grad)


class CrossEntropyLoss(_Loss):
    """Softmax cross entropy. logits: (N, C); target: integer class labels (N,) in [0, C).

    The loss is ``F.cross_entropy`` and its gradient ``F.cross_entropy_grad``, both computed from
    log softmax(z): the forward pass keeps it, so that backward need not check the logits again
    and compute it a second time.
    """

    def __call__(self, logits, target):
        z, labels = F._logits_and_labels(logits, target)  # F.cross_entropy's checks
        log_probabilities = F.log_softmax(z)
        loss = F._cross_entropy_from_log_softmax(log_probabilities, labels)
        self._last = (log_probabilities, labels)
        return loss

    forward = __call__

    def backward(self):
        """∂loss/∂logits = (softmax(z) − onehot(y)) / N, shape (N, C)."""
        if self._last is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before computing a loss")
        return F._cross_entropy_grad_from_log_softmax(*self._last)
