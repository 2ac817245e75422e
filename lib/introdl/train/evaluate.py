"""Measuring a model without training it: loss and accuracy in eval mode."""
import numpy as np

from .._validation import as_float_array, check_positive_int

OUTPUTS = ("logits", "probabilities")


def predict(model, X, *, batch_size=1024):
    """The model's outputs for X, in eval mode, computed in chunks.

    Every module's own train/eval mode is restored afterwards (so an MC-dropout setup,
    ``model.eval(); model[1].train()``, survives).

    Args:
        model: an ``introdl.nn.Module``.
        X: (N, ...) inputs; N may be 0 (then the output has 0 rows, as in torch).
        batch_size (int): rows per chunk, ≥ 1. Default 1024.

    Returns:
        ndarray (N, ...): the outputs, stacked.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    X = as_float_array(X, "X", allow_empty=True)
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        starts = range(0, max(len(X), 1), batch_size)  # one empty chunk when N = 0
        outputs = [model(X[start:start + batch_size]) for start in starts]
    finally:
        for module, training in modes:
            module.training = training
    return np.concatenate(outputs, axis=0)


def evaluate_loss(model, loss_fn, X, y):
    """The loss over the whole of (X, y) in eval mode, as a float.

    Raises:
        ValueError: X is empty (a mean over no examples is undefined; torch gives NaN).
    """
    _check_not_empty(X, "evaluate_loss")
    return loss_fn(predict(model, X), y)


def accuracy(model, X, y, *, outputs):
    """The fraction of examples classified correctly, in eval mode.

    The decision rule comes from ``outputs``, what the model's outputs mean; it has no default,
    because a wrong guess is silently wrong (a sigmoid's outputs read as logits are all class 1):

    * C > 1 outputs per example (class scores, logits or probabilities): the predicted class is
      the argmax.
    * one output per example, ``outputs="logits"`` (a model trained with ``BCEWithLogitsLoss``):
      class 1 when the output is > 0.
    * one output per example, ``outputs="probabilities"`` (a model that ends in a sigmoid,
      trained with ``BCELoss``): class 1 when the output is > 0.5; outputs outside [0, 1] raise.

    Args:
        model: an ``introdl.nn.Module``.
        X: (N, ...) inputs.
        y: (N,) integer class labels (or (N, 1) for one output); not one-hot.
        outputs (str): ``"logits"`` or ``"probabilities"``, required.

    Returns:
        float: the accuracy, in [0, 1].

    Raises:
        ValueError: an unknown ``outputs``; labels that are not one per example (one-hot
            targets, a wrong length); probabilities outside [0, 1]; no examples.
    """
    if outputs not in OUTPUTS:
        raise ValueError(f'outputs must be "logits" or "probabilities", got {outputs!r}')
    _check_not_empty(X, "accuracy")
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] > 1:
        raise ValueError(f"y must hold one class label per example, shape (N,), got shape {labels.shape}; "
                         "for one-hot targets pass y.argmax(axis=1)")
    if labels.ndim not in (1, 2):
        raise ValueError(f"y must hold one class label per example, shape (N,) or (N, 1), got shape {labels.shape}")
    labels = labels.reshape(-1)
    if len(labels) != len(X):
        raise ValueError(f"X and y must have the same number of examples, got {len(X)} inputs and "
                         f"{len(labels)} labels")
    scores = predict(model, X)
    if scores.ndim == 2 and scores.shape[1] > 1:
        predicted = scores.argmax(axis=1)
    else:
        scores = scores.reshape(len(labels), -1)
        if scores.shape[1] != 1:
            raise ValueError(f"the model's outputs must be (N,), (N, 1) or (N, C), got shape {scores.shape}")
        scores = scores[:, 0]
        if outputs == "probabilities":
            if np.any((scores < 0) | (scores > 1)):
                raise ValueError(
                    'outputs="probabilities", but the model gave values outside [0, 1] (from '
                    f'{scores.min():.3g} to {scores.max():.3g}); are they logits? Then use outputs="logits"'
                )
            predicted = (scores > 0.5).astype(int)
        else:
            predicted = (scores > 0).astype(int)
    return float(np.mean(predicted == labels))


def _check_not_empty(X, what):
    if len(X) == 0:
        raise ValueError(f"{what} needs at least one example, got X with 0 rows "
                         "(a mean over no examples is undefined; torch gives NaN)")
