"""Pure NumPy functions: activations, softmax, losses, and the dense layer, with their derivatives.

Everything here is stateless: an array in, an array (or a float) out. The modules in
``introdl.nn`` wrap these functions and remember what ``backward`` needs.

Numerical stability is part of the lesson. ``exp`` overflows past about 709 in float64, so the
sigmoid, softmax and the cross entropies below are written so that they never call ``exp`` on a
large positive number: a sigmoid of -1000 or a cross entropy of logits of 1e4 is finite and
raises no warning.
"""
import numpy as np

from ._validation import as_float_array, check_same_shape

# torch.nn.BCELoss clamps log(p) at -100 so that a confident wrong answer costs 100, not infinity.
BCE_LOG_CLAMP = -100.0
# torch divides by max(p (1 - p), 1e-12) in the BCE gradient for the same reason.
BCE_GRAD_EPSILON = 1e-12


# ---------------------------------------------------------------- activations
def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z)), elementwise. z: any shape; returns the same shape.

    For z < 0 we use the equal form e^z / (1 + e^z), so ``exp`` only ever sees −|z| ≤ 0.
    """
    z = as_float_array(z, "z", allow_empty=True)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(z):
    """dσ/dz = σ(z) (1 − σ(z)). z: any shape."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z):
    """tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z)), elementwise."""
    z = as_float_array(z, "z", allow_empty=True)
    return np.tanh(z)


def tanh_derivative(z):
    """d tanh/dz = 1 − tanh(z)²."""
    t = tanh(z)
    return 1.0 - t * t


def relu(z):
    """ReLU(z) = max(0, z), elementwise."""
    z = as_float_array(z, "z", allow_empty=True)
    return np.maximum(z, 0.0)


def relu_derivative(z):
    """dReLU/dz = 1 where z > 0, else 0 (at z = 0 we take 0, as PyTorch does)."""
    z = as_float_array(z, "z", allow_empty=True)
    return (z > 0).astype(z.dtype)


# ---------------------------------------------------------------- softmax
def softmax(z, axis=-1):
    """softmax(z)_i = e^(z_i) / Σ_j e^(z_j) along ``axis``. z: (N, C) usually; returns the same shape.

    Subtracting max(z) first changes nothing mathematically (it cancels) but keeps e^z ≤ 1.
    """
    z = as_float_array(z, "z")
    shifted = z - z.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    """log softmax(z)_i = z_i − log Σ_j e^(z_j), computed with the same max shift."""
    z = as_float_array(z, "z")
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# ---------------------------------------------------------------- losses (mean reduction)
def mse_loss(prediction, target):
    """Mean squared error: (1/n) Σ (ŷ − y)², over all n elements. Same shapes required."""
    prediction, target = _pair(prediction, target)
    diff = prediction - target
    return float(np.mean(diff * diff))


def mse_loss_grad(prediction, target):
    """∂MSE/∂ŷ = 2 (ŷ − y) / n, with n the number of elements."""
    prediction, target = _pair(prediction, target)
    return 2.0 * (prediction - target) / prediction.size


def binary_cross_entropy(probability, target):
    """BCE = −(1/n) Σ [y log p + (1 − y) log(1 − p)], for p and y in [0, 1].

    Each log is clamped at −100 (as torch does), so p = 0 with y = 1 costs 100, not ∞.
    """
    p, y = _probability_pair(probability, target)
    # "+ 0.0" turns the -0.0 of a perfect prediction into 0.0.
    return float(-np.mean(y * _clamped_log(p) + (1.0 - y) * _clamped_log1m(p))) + 0.0


def binary_cross_entropy_grad(probability, target):
    """∂BCE/∂p = (p − y) / (p (1 − p)) / n, the denominator floored at 1e-12 (as torch does)."""
    p, y = _probability_pair(probability, target)
    return (p - y) / np.maximum(p * (1.0 - p), BCE_GRAD_EPSILON) / p.size


def binary_cross_entropy_with_logits(logits, target):
    """BCE of σ(z) against y, computed from the logits z without forming σ(z).

    log(1 + e^(−|z|)) never overflows, and
    −[y log σ(z) + (1 − y) log(1 − σ(z))] = max(z, 0) − z·y + log(1 + e^(−|z|)).
    """
    z, y = _pair(logits, target, names=("logits", "target"))
    _check_unit_interval(y, "target")
    return float(np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def binary_cross_entropy_with_logits_grad(logits, target):
    """∂/∂z = (σ(z) − y) / n: the sigmoid and the log cancel into this simple form."""
    z, y = _pair(logits, target, names=("logits", "target"))
    _check_unit_interval(y, "target")
    return (sigmoid(z) - y) / z.size


def cross_entropy(logits, labels):
    """Softmax cross entropy: −(1/N) Σ_n log softmax(z_n)[y_n].

    logits: (N, C) unnormalised scores; labels: (N,) integers in [0, C).
    """
    z, labels = _logits_and_labels(logits, labels)
    return _cross_entropy_from_log_softmax(log_softmax(z), labels)


def cross_entropy_grad(logits, labels):
    """∂CE/∂z = (softmax(z) − onehot(y)) / N. Shape (N, C)."""
    z, labels = _logits_and_labels(logits, labels)
    return _cross_entropy_grad_from_log_softmax(log_softmax(z), labels)


# Both halves of the cross entropy start from log softmax(z), so that nn.CrossEntropyLoss can keep
# it from the forward pass for the backward pass (as torch does) and still give exactly the
# numbers of the two functions above.
def _cross_entropy_from_log_softmax(log_probabilities, labels):
    return float(-np.mean(log_probabilities[np.arange(len(labels)), labels]))


def _cross_entropy_grad_from_log_softmax(log_probabilities, labels):
    grad = np.exp(log_probabilities)  # softmax(z) = e^(log softmax(z))
    grad[np.arange(len(labels)), labels] -= 1.0
    return grad / len(labels)


# ---------------------------------------------------------------- the dense layer
def dense_forward(x, weight, bias):
    """z = x Wᵀ + b. x: (N, in), weight: (out, in), bias: (out,); returns (N, out)."""
    x = as_float_array(x, "x", ndim=2)
    weight = as_float_array(weight, "weight", ndim=2)
    bias = as_float_array(bias, "bias", ndim=1)
    if x.shape[1] != weight.shape[1] or bias.shape[0] != weight.shape[0]:
        raise ValueError(
            f"dense layer shapes do not fit: x {x.shape} needs weight (out, {x.shape[1]}) "
            f"and bias (out,), got weight {weight.shape} and bias {bias.shape}"
        )
    return _dense_forward(x, weight, bias)


def _dense_forward(x, weight, bias):
    """``dense_forward`` for arrays already checked (``nn.Linear`` checks its input its own way).

    Wᵀ goes to the matrix product as a contiguous copy (in × out numbers, a few microseconds):
    given the transposed view, OpenBLAS runs even a 64 × 64 × 128 product on all its threads,
    and on a busy machine waking them costs far more than the product itself.
    """
    return x @ np.ascontiguousarray(weight.T) + bias


def dense_backward(grad_output, x, weight):
    """Backward pass of z = x Wᵀ + b.

    grad_output: (N, out) = ∂L/∂z. Returns (∂L/∂x (N, in), ∂L/∂W (out, in), ∂L/∂b (out,)).
    """
    grad_output = as_float_array(grad_output, "grad_output", ndim=2)
    x = as_float_array(x, "x", ndim=2)
    weight = as_float_array(weight, "weight", ndim=2)
    return _dense_backward(grad_output, x, weight)


def _dense_backward(grad_output, x, weight):
    """``dense_backward`` for arrays already checked (``nn.Linear`` passes its own input and weights,
    checked when they came in, so that its backward pass does not check them again)."""
    if grad_output.shape != (x.shape[0], weight.shape[0]):
        raise ValueError(
            f"grad_output must have shape (N, out) = {(x.shape[0], weight.shape[0])}, "
            f"got {grad_output.shape}"
        )
    return grad_output @ weight, grad_output.T @ x, grad_output.sum(axis=0)


# ---------------------------------------------------------------- helpers
def _pair(prediction, target, names=("prediction", "target")):
    prediction = as_float_array(prediction, names[0])
    target = as_float_array(target, names[1])
    check_same_shape(prediction, target, *names)
    return prediction, target


def _probability_pair(probability, target):
    p, y = _pair(probability, target, names=("probability", "target"))
    _check_unit_interval(p, "probability (BCELoss expects sigmoid outputs; use BCEWithLogitsLoss for raw scores)")
    _check_unit_interval(y, "target")
    return p, y


def _check_unit_interval(values, name):
    if values.min() < 0.0 or values.max() > 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1], got values from {values.min():g} to {values.max():g}"
        )


def _clamped_log(values):
    # log(0) would warn and give -inf; the clamp at -100 makes the tiny floor invisible.
    return np.maximum(np.log(np.maximum(values, np.finfo(values.dtype).tiny)), BCE_LOG_CLAMP)


def _clamped_log1m(p):
    # log(1 - p) as log1p(-p), as torch does: 1 - p rounds away a tiny p (log(1 - 1e-10) is off by
    # ~1e-7 relative). Where p = 1 the log is -inf, so those entries keep the clamp instead.
    below_one = p < 1.0
    log1m = np.log1p(-p, out=np.full_like(p, BCE_LOG_CLAMP), where=below_one)
    return np.maximum(log1m, BCE_LOG_CLAMP)


def _logits_and_labels(logits, labels):
    z = as_float_array(logits, "logits", ndim=2)
    labels_array = np.asarray(labels)
    if labels_array.dtype == bool or not np.issubdtype(labels_array.dtype, np.integer):
        raise TypeError(
            f"labels must be integer class indices of shape (N,), got dtype {labels_array.dtype}; "
            "CrossEntropyLoss takes class numbers such as [2, 0, 1], not one-hot or float targets"
        )
    if labels_array.shape != (z.shape[0],):
        raise ValueError(f"labels must have shape (N,) = ({z.shape[0]},) to match logits {z.shape}, "
                         f"got {labels_array.shape}")
    n_classes = z.shape[1]
    if labels_array.min() < 0 or labels_array.max() >= n_classes:
        raise ValueError(
            f"labels must be in [0, {n_classes - 1}] for logits with C = {n_classes} classes, "
            f"got values from {labels_array.min()} to {labels_array.max()}"
        )
    return z, labels_array
