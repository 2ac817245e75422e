"""Measuring a model without training it: loss and accuracy in eval mode."""
import numpy as np


def predict(model, X, *, batch_size=1024):
    """The model's outputs for X: (N, ...) in eval mode, computed in chunks; the mode is restored."""
    was_training = model.training
    model.eval()
    try:
        outputs = [model(X[start:start + batch_size]) for start in range(0, len(X), batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(outputs, axis=0)


def evaluate_loss(model, loss_fn, X, y):
    """The loss over the whole of (X, y) in eval mode, as a float."""
    return loss_fn(predict(model, X), y)


def accuracy(model, X, y):
    """The fraction of examples classified correctly. y: (N,) labels (or (N, 1) for one output).

    With C > 1 outputs the predicted class is the argmax of the logits; with one output it is
    1 when the output is above the threshold: 0.5 if the model ends in a Sigmoid, else 0 (a logit).
    """
    outputs = predict(model, X)
    labels = np.asarray(y).reshape(-1)
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        predicted = outputs.argmax(axis=1)
    else:
        threshold = 0.5 if _ends_in_sigmoid(model) else 0.0
        predicted = (outputs.reshape(-1) > threshold).astype(labels.dtype)
    return float(np.mean(predicted == labels))


def _ends_in_sigmoid(model):
    last = model.layers[-1] if hasattr(model, "layers") else model
    return type(last).__name__ == "Sigmoid"
