"""Early stopping: stop when the validation loss has not improved for ``patience`` epochs."""
import numpy as np

from .._validation import check_number, check_positive_int


class EarlyStopping:
    """Watch the validation loss; remember the best weights; say when to stop.

    An epoch counts as an improvement when
    val_loss < best − min_delta. After ``patience`` epochs in a row without one, ``update``
    returns True. With ``restore_best``, ``fit`` puts the weights of the best epoch back into the
    model at the end.

    The object holds the settings and the state of one run. ``fit`` calls ``reset()`` at the
    start of every run (as Keras callbacks reset in ``on_train_begin``), so one ``EarlyStopping``
    may be passed to several ``fit`` calls: nothing of an earlier run (its best loss, its best
    epoch, its weights) carries over into the next.

    Args:
        patience (int): how many epochs without improvement to wait, ≥ 1. Default 5.
        min_delta (float): how much lower than the best a loss must be to count, ≥ 0. Default 0.0.
        restore_best (bool): put the best epoch's weights back at the end. Default True.

    Attributes:
        best_loss (float): the lowest validation loss of this run (inf before the first epoch).
        best_epoch (int or None): its epoch, counted from 1.
        epochs_without_improvement (int): epochs since the last improvement.

    Raises:
        ValueError: patience below 1 or min_delta below 0.

    Source: the behaviour of ``keras.callbacks.EarlyStopping``
    (https://keras.io/api/callbacks/early_stopping/).
    """

    def __init__(self, patience=5, min_delta=0.0, restore_best=True):
        self.patience = check_positive_int(patience, "patience")
        self.min_delta = check_number(min_delta, "min_delta", low=0.0)
        self.restore_best = bool(restore_best)
        self.reset()

    def reset(self):
        """Forget everything about earlier runs: no best loss, no best epoch, no saved weights."""
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
        parameters = list(model.parameters())
        if len(parameters) != len(self._best_weights) or any(
                p.data.shape != best.shape for p, best in zip(parameters, self._best_weights)):
            raise ValueError("EarlyStopping.restore: the model's parameters are not those whose best "
                             "weights were recorded (another model?)")
        for parameter, best in zip(parameters, self._best_weights):
            parameter.data[...] = best
