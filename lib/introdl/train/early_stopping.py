"""Early stopping: stop when the validation loss has not improved for ``patience`` epochs."""
import numpy as np

from .._validation import check_number, check_positive_int


class EarlyStopping:
    """Watch the validation loss; remember the best weights; say when to stop.

    An epoch counts as an improvement when val_loss < best − min_delta. After ``patience``
    epochs in a row without one, ``update`` returns True. With ``restore_best``, ``fit`` puts the
    weights of the best epoch back into the model at the end.
    """

    def __init__(self, patience=5, min_delta=0.0, restore_best=True):
        self.patience = check_positive_int(patience, "patience")
        self.min_delta = check_number(min_delta, "min_delta", low=0.0)
        self.restore_best = bool(restore_best)
        self.best_loss = np.inf
        self.best_epoch = None
        self.epochs_without_improvement = 0
        self._best_weights = None

    def update(self, val_loss, epoch, model):
        """Record this epoch's validation loss; return True when training should stop."""
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss = float(val_loss)
            self.best_epoch = epoch
            self.epochs_without_improvement = 0
            # A copy, because the optimizer changes the arrays in place.
            self._best_weights = [p.data.copy() for p in model.parameters()]
        else:
            self.epochs_without_improvement += 1
        return self.epochs_without_improvement >= self.patience

    def restore(self, model):
        """Copy the best epoch's weights back into ``model`` (in place, same Parameter objects)."""
        if self._best_weights is None:
            raise RuntimeError("EarlyStopping.restore called before any validation loss was recorded")
        for parameter, best in zip(model.parameters(), self._best_weights):
            parameter.data[...] = best
