"""Pure NumPy functions: activations, softmax, losses, and the dense layer, with their derivatives.

Everything here is stateless: an array in, an array (or a float) out. The modules in
``introdl.nn`` wrap these functions and remember what ``backward`` needs. The names follow
``torch.nn.functional`` (https://pytorch.org/docs/stable/nn.functional.html).

Each function checks its arguments and raises ``TypeError`` (not numbers) or ``ValueError``
(a wrong shape, a NaN or infinity, a value out of range) with a message that names what was
expected and what came. Every function keeps the floating dtype it is given (float16, float32 or
float64); integers become float64.

Numerical stability is part of the lesson. ``exp`` overflows past about 709 in float64, so the
sigmoid, softmax and the cross entropies below are written so that they never call ``exp`` on a
large positive number: a sigmoid of -1000 or a cross entropy of logits of 1e4 is finite and
raises no warning.
"""
import numpy as np

from ._validation import as_float_array, as_logits_and_labels, as_pair, check_axis, check_unit_interval

# torch.nn.BCELoss clamps log(p) at -100 so that a confident wrong answer costs 100, not infinity,
# in every dtype (log(0) = -inf is clamped, so p = 0 costs exactly 100 in float16, 32 and 64).
BCE_LOG_CLAMP = -100.0
# torch divides by max(p (1 - p), ε) in the BCE gradient for the same reason, with ε = 1e-12 stored
# as a float32 (9.99999996e-13) and then rounded to the dtype: float16 rounds it to 0.
BCE_GRAD_EPSILON = np.float32(1e-12)


# ---------------------------------------------------------------- activations
def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z)), elementwise. z: any shape; returns the same shape.

    For z < 0 we use the equal form e^z / (1 + e^z), so ``exp`` only ever sees −|z| ≤ 0.
    Source: https://pytorch.org/docs/stable/generated/torch.sigmoid.html
    """
    z = as_float_array(z, "z", allow_empty=True)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(z):
    """dσ/dz = σ(z) (1 − σ(z)). z: any shape."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z):
    """tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z)), elementwise. z: any shape."""
    z = as_float_array(z, "z", allow_empty=True)
    return np.tanh(z)


def tanh_derivative(z):
    """d tanh/dz = 1 − tanh(z)². z: any shape."""
    t = tanh(z)
    return 1.0 - t * t


def relu(z):
    """ReLU(z) = max(0, z), elementwise. z: any shape."""
    z = as_float_array(z, "z", allow_empty=True)
    return np.maximum(z, 0.0)


def relu_derivative(z):
    """dReLU/dz = 1 where z > 0, else 0 (at z = 0 we take 0, as PyTorch does)."""
    z = as_float_array(z, "z", allow_empty=True)
    return (z > 0).astype(z.dtype)


# ---------------------------------------------------------------- softmax
def softmax(z, axis=-1):
    """softmax(z)_i = e^(z_i) / Σ_j e^(z_j) along ``axis`` (default -1, the last). z: (N, C) usually;
    returns the same shape.

    Subtracting max(z) first changes nothing mathematically (it cancels) but keeps e^z ≤ 1.
    Source: https://pytorch.org/docs/stable/generated/torch.nn.functional.softmax.html
    """
    z = as_float_array(z, "z")
    axis = check_axis(axis, z.ndim)
    shifted = z - z.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    """log softmax(z)_i = z_i − log Σ_j e^(z_j) along ``axis`` (default -1), with the same max shift.

    Source: https://pytorch.org/docs/stable/generated/torch.nn.functional.log_softmax.html
    """
    z = as_float_array(z, "z")
    return _log_softmax(z, check_axis(axis, z.ndim))


def _log_softmax(z, axis):
    # The formula, on an array already checked (the cross entropies below check theirs).
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# ---------------------------------------------------------------- losses (mean reduction)
def mse_loss(prediction, target):
    """Mean squared error: (1/n) Σ (ŷ − y)², over all n elements. Same shapes required.

    Source: https://pytorch.org/docs/stable/generated/torch.nn.MSELoss.html
    """
    prediction, target = as_pair(prediction, target)
    with np.errstate(over="ignore"):  # beyond the dtype's range the loss is inf, as in torch
        diff = prediction - target
        return float(np.mean(diff * diff))


def mse_loss_grad(prediction, target):
    """∂MSE/∂ŷ = 2 (ŷ − y) / n, with n the number of elements. Returns prediction's shape."""
    prediction, target = as_pair(prediction, target)
    with np.errstate(over="ignore"):
        return 2.0 * (prediction - target) / prediction.size


def binary_cross_entropy(probability, target):
    """BCE = −(1/n) Σ [y log p + (1 − y) log(1 − p)], for p and y in [0, 1] of the same shape.

    Each log is clamped at −100 (as torch does), so p = 0 with y = 1 costs 100, not ∞, in every
    dtype.
    Source: https://pytorch.org/docs/stable/generated/torch.nn.BCELoss.html
    """
    p, y = _probability_pair(probability, target)
    log_p, log_1m_p = _clamped_log(p), _clamped_log1m(p)
    # "+ 0.0" turns the -0.0 of a perfect prediction into 0.0.
    return float(-np.mean(y * log_p + (1.0 - y) * log_1m_p)) + 0.0


def binary_cross_entropy_grad(probability, target):
    """∂BCE/∂p = (p − y) / (p (1 − p)) / n, the denominator floored at ε = 1e-12 (as torch does)."""
    p, y = _probability_pair(probability, target)
    # In float16 the floor 1e-12 rounds to 0, so p = 0 or 1 gives ±inf (or NaN where y = p) there,
    # as in torch.
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return (p - y) / np.maximum(p * (1.0 - p), BCE_GRAD_EPSILON.astype(p.dtype)) / p.size


def binary_cross_entropy_with_logits(logits, target):
    """BCE of σ(z) against y, computed from the logits z without forming σ(z). Same shapes.

    log(1 + e^(−|z|)) never overflows, and
    −[y log σ(z) + (1 − y) log(1 − σ(z))] = max(z, 0) − z·y + log(1 + e^(−|z|)).
    Source: https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html
    """
    z, y = as_pair(logits, target, names=("logits", "target"))
    check_unit_interval(y, "target")
    return float(np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def binary_cross_entropy_with_logits_grad(logits, target):
    """∂/∂z = (σ(z) − y) / n: the sigmoid and the log cancel into this simple form."""
    z, y = as_pair(logits, target, names=("logits", "target"))
    check_unit_interval(y, "target")
    return (sigmoid(z) - y) / z.size


def cross_entropy(logits, labels):
    """Softmax cross entropy: −(1/N) Σ_n log softmax(z_n)[y_n].

    logits: (N, C) unnormalised scores; labels: (N,) integers in [0, C).
    Source: https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html
    """
    z, labels = as_logits_and_labels(logits, labels)
    log_p = _log_softmax(z, -1)
    return float(-np.mean(log_p[np.arange(len(labels)), labels]))


def cross_entropy_grad(logits, labels):
    """∂CE/∂z = (softmax(z) − onehot(y)) / N. logits: (N, C), labels: (N,); returns (N, C)."""
    z, labels = as_logits_and_labels(logits, labels)
    grad = np.exp(_log_softmax(z, -1))  # softmax(z), computed as torch's cross entropy does
    grad[np.arange(len(labels)), labels] -= 1.0
    return grad / len(labels)


# ---------------------------------------------------------------- the dense layer
def linear(x, weight, bias=None):
    """z = x Wᵀ + b (or x Wᵀ without a bias), torch's ``F.linear``.

    Args:
        x: (N, in) inputs. weight: (out, in). bias: (out,) or None (default).

    Returns:
        (N, out).

    Raises:
        ValueError: arrays that are not 2-D / 1-D, or whose shapes do not fit together.

    Source: https://pytorch.org/docs/stable/generated/torch.nn.functional.linear.html
    """
    x = as_float_array(x, "x", ndim=2, allow_empty=True)
    weight = as_float_array(weight, "weight", ndim=2)
    out = weight.shape[0]
    if bias is not None:
        bias = as_float_array(bias, "bias", ndim=1)
    if x.shape[1] != weight.shape[1] or (bias is not None and bias.shape[0] != out):
        raise ValueError(
            f"dense layer shapes do not fit: x {x.shape} needs weight (out, {x.shape[1]}) "
            f"and bias (out,), got weight {weight.shape} and bias {None if bias is None else bias.shape}"
        )
    # Wᵀ is copied into an array of its own. Given the transposed view, OpenBLAS runs even a
    # 64 × 64 × 128 product on all its threads, and on a busy machine waking them costs far
    # more than the product itself (benchmarks/optimisations.md); the copy costs microseconds.
    z = x @ weight.T.copy()
    return z if bias is None else z + bias


def linear_backward(grad_output, x, weight):
    """Backward pass of z = x Wᵀ + b, the three products of backpropagation.

    Args:
        grad_output: (N, out), δ = ∂L/∂z. x: (N, in), the layer's input. weight: (out, in).
            x and weight are those of the forward pass, which checked that they are finite.

    Returns:
        (∂L/∂x = δ W of shape (N, in), ∂L/∂W = δᵀ x of shape (out, in), ∂L/∂b = Σₙ δₙ of shape (out,)).

    Raises:
        ValueError: arrays that are not 2-D, or whose shapes do not fit together.
    """
    delta = as_float_array(grad_output, "grad_output", ndim=2, allow_empty=True)
    x = as_float_array(x, "x", ndim=2, allow_empty=True, finite=False)  # forward's, checked there
    weight = as_float_array(weight, "weight", ndim=2, finite=False)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"x {x.shape} needs weight (out, {x.shape[1]}), got weight {weight.shape}")
    if delta.shape != (x.shape[0], weight.shape[0]):
        raise ValueError(
            f"grad_output must have shape (N, out) = {(x.shape[0], weight.shape[0])}, got {delta.shape}"
        )
    return delta @ weight, delta.T @ x, delta.sum(axis=0)


# ---------------------------------------------------------------- helpers
def _probability_pair(probability, target):
    p, y = as_pair(probability, target, names=("probability", "target"))
    check_unit_interval(p, "probability (BCELoss expects sigmoid outputs; use BCEWithLogitsLoss for raw scores)")
    check_unit_interval(y, "target")
    return p, y


def _clamped_log(p):
    # max(log p, -100): log(0) = -inf becomes -100, in every dtype.
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(p), BCE_LOG_CLAMP)


def _clamped_log1m(p):
    # max(log(1 - p), -100), with log(1 - p) as log1p(-p), as torch does: 1 - p rounds away a tiny p
    # (log(1 - 1e-10) is off by ~1e-7 relative). log1p(-1) = -inf becomes -100.
    with np.errstate(divide="ignore"):
        return np.maximum(np.log1p(-p), BCE_LOG_CLAMP)
