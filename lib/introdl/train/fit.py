"""The training loop: mini-batches, forward, loss, backward, step — and knowing when to stop."""
import numpy as np

from .._validation import as_float_array, check_positive_int, check_rng
from ..errors import NonFiniteError
from .batches import minibatches
from .early_stopping import EarlyStopping
from .evaluate import evaluate_loss
from .history import History


class DivergedError(RuntimeError):
    """Training cannot go on: an infinite or NaN loss, an overflow in the network, or an optimizer
    step that would make a weight non-finite (the message says which). ``history`` keeps what was
    recorded until then."""

    def __init__(self, message, *, epoch, step, history):
        super().__init__(message)
        self.epoch = epoch
        self.step = step
        self.history = history


def fit(model, loss_fn, optimizer, X, y, *, epochs, batch_size, rng, validation=None,
        early_stopping=None, scheduler=None):
    """Train ``model`` with mini-batch gradient descent and return a ``History``.

    Each epoch shuffles
    the data with ``rng`` and, for every mini-batch of ``batch_size`` rows, computes the loss,
    runs backward and takes one optimizer step. Everything that belongs to one run starts afresh:
    a new ``History``, and ``early_stopping.reset()``. The optimizer's state (momentum, running
    averages) is the optimizer's own and carries on, as in torch: pass a new optimizer for a new run.

    Args:
        model: an ``introdl.nn.Module``; it is trained in place.
        loss_fn: a loss module, ``loss_fn(prediction, target)`` then ``loss_fn.backward()``.
        optimizer: an ``introdl.optim`` optimizer over ``model.parameters()``.
        X: (N, ...) inputs.
        y: (N, ...) targets, as ``loss_fn`` expects them.
        epochs (int): how many passes over the data, ≥ 1.
        batch_size (int): rows per mini-batch, ≥ 1 (the last batch of an epoch may be smaller).
        rng (np.random.Generator): draws each epoch's order.
        validation (tuple): an optional (X_val, y_val) pair, evaluated in eval mode after every
            epoch. Default None.
        early_stopping (EarlyStopping): optional, needs ``validation``. Default None.
        scheduler: an optional learning-rate schedule of ``introdl.optim.lr_scheduler`` over
            ``optimizer``, stepped once at the end of every epoch, after the epoch's
            optimizer steps, as in torch's training loop. Default None.

    Returns:
        History: the losses of every epoch, the best epoch, where it stopped.

    Raises:
        DivergedError: the loss became inf or NaN, the network overflowed, or an optimizer step
            would make a weight non-finite (with the cause, the step and the epoch).
        ValueError, TypeError: inputs of the wrong length or kind.
    """
    X = as_float_array(X, "X")
    y = np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"X and y must have the same number of examples, got {len(X)} and {len(y)}")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    rng = check_rng(rng)
    if early_stopping is not None:
        if not isinstance(early_stopping, EarlyStopping):
            raise TypeError(f"early_stopping must be an EarlyStopping, got {type(early_stopping).__name__}")
        if validation is None:
            raise ValueError("early_stopping needs validation=(X_val, y_val) to watch")
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise TypeError(f"validation must be a pair (X_val, y_val), got {type(validation).__name__}")
        X_val, y_val = validation
        X_val = as_float_array(X_val, "X_val")
        if len(y_val) != len(X_val):
            raise ValueError(f"X_val and y_val must have the same number of examples, got {len(X_val)} "
                             f"and {len(y_val)}")
    if scheduler is not None and getattr(scheduler, "optimizer", None) is not optimizer:
        raise ValueError("scheduler must be a learning-rate schedule of this optimizer "
                         "(for example lr_scheduler.StepLR(optimizer, step_size=10))")
    if early_stopping is not None:
        early_stopping.reset()  # a new run: nothing of an earlier fit carries over

    history = History()
    model.train()
    for epoch in range(1, epochs + 1):
        total, count = 0.0, 0
        for X_batch, y_batch in minibatches(X, y, batch_size, rng=rng):
            history.steps += 1
            loss = _training_step(model, loss_fn, optimizer, X_batch, y_batch, epoch, history)
            total += loss * len(X_batch)
            count += len(X_batch)
        history.train_loss.append(total / count)
        if scheduler is not None:
            scheduler.step()

        if validation is not None:
            history.val_loss.append(evaluate_loss(model, loss_fn, X_val, y_val))
            if history.best_epoch is None or history.val_loss[-1] < history.val_loss[history.best_epoch - 1]:
                history.best_epoch = epoch
            if early_stopping is not None and early_stopping.update(history.val_loss[-1], epoch, model):
                history.stopped_epoch = epoch
                break

    if early_stopping is not None:
        history.best_epoch = early_stopping.best_epoch
        if early_stopping.restore_best:
            early_stopping.restore(model)
    return history


def _training_step(model, loss_fn, optimizer, X_batch, y_batch, epoch, history):
    """One step of gradient descent on one mini-batch; returns the batch's loss."""
    where = f"at step {history.steps} (epoch {epoch})"
    lr = optimizer.param_groups[0]["lr"]
    try:
        # Overflow inside the network is a sign of divergence, not something to plot.
        with np.errstate(over="raise", invalid="raise"):
            optimizer.zero_grad()
            loss = loss_fn(model(X_batch), y_batch)
            if not np.isfinite(loss):
                raise FloatingPointError(f"the loss became {loss}")
            model.backward(loss_fn.backward())
    except (FloatingPointError, NonFiniteError) as err:
        raise DivergedError(f"training diverged {where}: {err} in the forward or backward pass; "
                            f"try a smaller learning rate (lr = {lr:g})",
                            epoch=epoch, step=history.steps, history=history) from err
    try:
        optimizer.step()
    except NonFiniteError as err:  # the optimizer's message names the cause
        raise DivergedError(f"training stopped {where}: {err}", epoch=epoch, step=history.steps, history=history) from err
    return loss
